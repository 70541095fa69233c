package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/promoflow/promoflow/control"
)

func init() {
	register(&command{
		name:    "schedule",
		summary: "create|ls|pause|unpause|trigger|backfill the daily Temporal Schedules",
		run:     runSchedule,
	})
}

const scheduleUsage = `usage: promoflow schedule <subcommand> MODEL [flags]

subcommands:
  create    a model's schedule (--kind daily: DailyRetrain, --kind monitor: MonitorDrift),
            cron in a time zone, overlap skip, catch-up window
  ls        every schedule with its state and next run
  pause     stop starting runs (--note why)
  unpause   start runs again
  trigger   start a run now
  backfill  run the days --from..--to in order, one at a time (--wait to follow them)

Run 'promoflow schedule create -h' for the flags.
`

// scheduleFlags are the flags of every schedule subcommand.
type scheduleFlags struct {
	cron, tz, note, from, to, kind string
	catchup, wait                  time.Duration
}

func runSchedule(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(os.Stderr, scheduleUsage)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "create", "ls", "pause", "unpause", "trigger", "backfill":
	default:
		fmt.Fprintf(os.Stderr, "promoflow schedule: unknown subcommand %q\n\n%s", sub, scheduleUsage)
		return errUsage
	}
	cfg, fs := configFlagSet("schedule "+sub, "MODEL [flags]")
	var f scheduleFlags
	fs.StringVar(&f.cron, "cron", "0 6 * * *", "cron spec of the daily run (create)")
	fs.StringVar(&f.tz, "tz", "UTC", "IANA time zone of the cron spec (create)")
	fs.DurationVar(&f.catchup, "catchup", 72*time.Hour, "how far back missed runs are caught up after an outage (create)")
	fs.StringVar(&f.note, "note", "", "why (pause, unpause)")
	fs.StringVar(&f.from, "from", "", "first day of a backfill (yyyy-mm-dd)")
	fs.StringVar(&f.to, "to", "", "last day of a backfill (yyyy-mm-dd)")
	fs.DurationVar(&f.wait, "wait", 0, "backfill: wait up to this long for every day's run to finish, showing progress")
	fs.StringVar(&f.kind, "kind", "daily", "which schedule: daily (DailyRetrain) or monitor (MonitorDrift)")
	model, rest := positional(args)
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	start, done, err := dialStarter(cfg)
	if err != nil {
		return err
	}
	defer done()
	if sub == "ls" {
		return listSchedules(ctx, start, stdout)
	}
	if model == "" {
		fs.Usage()
		return fmt.Errorf("schedule %s needs MODEL: %w", sub, errUsage)
	}
	id := control.ScheduleID(f.kind, model)
	switch sub {
	case "create":
		return createSchedule(ctx, start, model, f, stdout)
	case "pause":
		return start.PauseSchedule(ctx, id, f.note)
	case "unpause":
		return start.UnpauseSchedule(ctx, id, f.note)
	case "trigger":
		return start.TriggerSchedule(ctx, id)
	default:
		return backfill(ctx, start, model, f, stdout)
	}
}

func createSchedule(ctx context.Context, start control.Starter, model string, f scheduleFlags, stdout io.Writer) error {
	if _, err := time.LoadLocation(f.tz); err != nil {
		return fmt.Errorf("--tz %q: %w", f.tz, err)
	}
	err := start.CreateSchedule(ctx, control.ScheduleSpec{Kind: f.kind, Model: model, Cron: f.cron, TZ: f.tz, Catchup: f.catchup})
	if errors.Is(err, control.ErrScheduleKind) {
		return fmt.Errorf("--kind: %w: %w", err, errUsage)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "schedule %s: %q in %s, overlap skip, catch-up %s\n", control.ScheduleID(f.kind, model), f.cron, f.tz, f.catchup)
	return err
}

func backfill(ctx context.Context, start control.Starter, model string, f scheduleFlags, stdout io.Writer) error {
	from, err1 := time.Parse(time.DateOnly, f.from)
	to, err2 := time.Parse(time.DateOnly, f.to)
	if err := errors.Join(err1, err2); err != nil || to.Before(from) {
		return fmt.Errorf("backfill needs --from and --to as yyyy-mm-dd with from <= to")
	}
	id := control.ScheduleID(f.kind, model)
	if err := start.Backfill(ctx, id, from, to); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "backfill of %s from %s to %s queued; runs go one at a time, in order\n", id, f.from, f.to)
	if err != nil || f.wait == 0 || f.kind != control.ScheduleDaily {
		return err
	}
	s, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	err = control.WaitForDays(ctx, s, model, from, to, f.wait, func(finished, want int) {
		fmt.Fprintf(os.Stderr, "\r  … %d of %d days finished", finished, want)
	})
	if !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr)
	}
	return err
}

// listSchedules lists schedules with their state as described by the
// server (the list itself is eventually consistent).
func listSchedules(ctx context.Context, start control.Starter, w io.Writer) error {
	scheds, err := start.Schedules(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULE\tPAUSED\tCRON\tTZ\tNEXT RUN\tNOTE")
	for _, s := range scheds {
		next := ""
		if !s.Next.IsZero() {
			next = s.Next.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\t%s\n", s.ID, s.Paused, s.Cron, s.TZ, next, s.Note)
	}
	return tw.Flush()
}

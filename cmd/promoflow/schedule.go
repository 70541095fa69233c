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

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/workflows"
)

func init() {
	register(&command{
		name:    "schedule",
		summary: "create|ls|pause|unpause|trigger|backfill the daily Temporal Schedules",
		run:     runSchedule,
	})
}

// scheduleID names a model's schedule of a kind: "daily" (DailyRetrain)
// or "monitor" (MonitorDrift).
func scheduleID(kind, model string) string { return kind + "-" + model }

// scheduledAction is what a schedule of a kind starts.
func scheduledAction(kind, model, taskQueue string) (*client.ScheduleWorkflowAction, error) {
	a := &client.ScheduleWorkflowAction{
		ID: scheduleID(kind, model), TaskQueue: taskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(workflows.SAModel).ValueSet(model)),
	}
	switch kind {
	case "daily":
		a.Workflow, a.Args = "DailyRetrain", []any{workflows.DailyInput{Model: model}}
	case "monitor":
		a.Workflow, a.Args = "MonitorDrift", []any{workflows.MonitorInput{Model: model}}
	default:
		return nil, fmt.Errorf("--kind %q: want daily or monitor: %w", kind, errUsage)
	}
	return a, nil
}

func runSchedule(ctx context.Context, args []string, stdout io.Writer) error {
	const usage = `usage: promoflow schedule <subcommand> MODEL [flags]

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
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(os.Stderr, usage)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "create", "ls", "pause", "unpause", "trigger", "backfill":
	default:
		fmt.Fprintf(os.Stderr, "promoflow schedule: unknown subcommand %q\n\n%s", sub, usage)
		return errUsage
	}
	cfg, fs := configFlagSet("schedule "+sub, "MODEL [flags]")
	cron := fs.String("cron", "0 6 * * *", "cron spec of the daily run (create)")
	tz := fs.String("tz", "UTC", "IANA time zone of the cron spec (create)")
	catchup := fs.Duration("catchup", 72*time.Hour, "how far back missed runs are caught up after an outage (create)")
	note := fs.String("note", "", "why (pause, unpause)")
	from := fs.String("from", "", "first day of a backfill (yyyy-mm-dd)")
	to := fs.String("to", "", "last day of a backfill (yyyy-mm-dd)")
	wait := fs.Duration("wait", 0, "backfill: wait up to this long for every day's run to finish, showing progress")
	kind := fs.String("kind", "daily", "which schedule: daily (DailyRetrain) or monitor (MonitorDrift)")
	model, rest := positional(args)
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	tc, err := cfg.Temporal()
	if err != nil {
		return err
	}
	defer tc.Close()
	sc := tc.ScheduleClient()
	if sub == "ls" {
		return listSchedules(ctx, sc, stdout)
	}
	if model == "" {
		fs.Usage()
		return fmt.Errorf("schedule %s needs MODEL: %w", sub, errUsage)
	}
	id := scheduleID(*kind, model)
	h := sc.GetHandle(ctx, id)
	switch sub {
	case "create":
		if _, err := time.LoadLocation(*tz); err != nil {
			return fmt.Errorf("--tz %q: %w", *tz, err)
		}
		action, err := scheduledAction(*kind, model, cfg.TaskQueue)
		if err != nil {
			return err
		}
		_, err = sc.Create(ctx, client.ScheduleOptions{
			ID:            id,
			Spec:          client.ScheduleSpec{CronExpressions: []string{*cron}, TimeZoneName: *tz},
			Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
			CatchupWindow: *catchup,
			Memo:          map[string]any{"cron": *cron, "tz": *tz},
			Action:        action,
		})
		if err != nil {
			if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
				return fmt.Errorf("schedule %s already exists", id)
			}
			return fmt.Errorf("create schedule %s: %w", id, err)
		}
		_, err = fmt.Fprintf(stdout, "schedule %s: %q in %s, overlap skip, catch-up %s\n", id, *cron, *tz, *catchup)
		return err
	case "pause":
		return h.Pause(ctx, client.SchedulePauseOptions{Note: *note})
	case "unpause":
		return h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: *note})
	case "trigger":
		return h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP})
	case "backfill":
		start, err1 := time.Parse(time.DateOnly, *from)
		end, err2 := time.Parse(time.DateOnly, *to)
		if err := errors.Join(err1, err2); err != nil || end.Before(start) {
			return fmt.Errorf("backfill needs --from and --to as yyyy-mm-dd with from <= to")
		}
		// The schedule's own time zone decides when each day's run fires;
		// the window covers every firing on those days. Buffer-all runs
		// them one after another in order.
		err := h.Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{{
			Start: start, End: end.Add(24*time.Hour - time.Second), Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
		}}})
		if err != nil {
			return fmt.Errorf("backfill %s %s..%s: %w", id, *from, *to, err)
		}
		_, err = fmt.Fprintf(stdout, "backfill of %s from %s to %s queued; runs go one at a time, in order\n", id, *from, *to)
		if err != nil || *wait == 0 || *kind != "daily" {
			return err
		}
		return waitForDays(ctx, model, start, end, *wait, stdout)
	}
	return fmt.Errorf("unknown schedule subcommand %q: %w", sub, errUsage)
}

// listSchedules lists schedules with their state as described by the
// server (the list itself is eventually consistent).
func listSchedules(ctx context.Context, sc client.ScheduleClient, w io.Writer) error {
	it, err := sc.List(ctx, client.ScheduleListOptions{})
	if err != nil {
		return fmt.Errorf("list schedules: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULE\tPAUSED\tCRON\tTZ\tNEXT RUN\tNOTE")
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return fmt.Errorf("list schedules: %w", err)
		}
		d, err := sc.GetHandle(ctx, e.ID).Describe(ctx)
		if err != nil {
			return fmt.Errorf("describe schedule %s: %w", e.ID, err)
		}
		var cron, tz string
		if d.Memo != nil {
			if f, ok := d.Memo.Fields["cron"]; ok {
				_ = converter.GetDefaultDataConverter().FromPayload(f, &cron)
			}
			if f, ok := d.Memo.Fields["tz"]; ok {
				_ = converter.GetDefaultDataConverter().FromPayload(f, &tz)
			}
		}
		next := ""
		if len(d.Info.NextActionTimes) > 0 {
			next = d.Info.NextActionTimes[0].UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\t%s\n", e.ID, d.Schedule.State.Paused, cron, tz, next, d.Schedule.State.Note)
	}
	return tw.Flush()
}

// waitForDays polls the run history until every day from start to end has
// a finished run of model, printing a progress line.
func waitForDays(ctx context.Context, model string, start, end time.Time, limit time.Duration, w io.Writer) error {
	s, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	want := int(end.Sub(start).Hours()/24) + 1
	deadline := time.Now().Add(limit)
	for {
		runs, err := s.ListRuns(ctx, model, 0)
		if err != nil {
			return err
		}
		finished := map[string]string{}
		for _, r := range runs {
			if !r.Day.Before(start) && !r.Day.After(end) && r.Status != "running" {
				finished[r.Day.Format(time.DateOnly)] = r.Status
			}
		}
		fmt.Fprintf(os.Stderr, "\r  … %d of %d days finished", len(finished), want)
		if len(finished) >= want {
			fmt.Fprintln(os.Stderr)
			return nil
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr)
			return fmt.Errorf("backfill: %d of %d days finished within %s", len(finished), want, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

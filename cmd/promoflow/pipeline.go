package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/promoflow/promoflow/app"
	"github.com/promoflow/promoflow/manual"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/workflows"
)

func init() {
	register(&command{name: "run", summary: "run DailyRetrain for a model and day and wait for its result", run: runDaily})
	register(&command{name: "promote", summary: "promote a version to production through the gate (or --force with a reason)", run: runPromote})
	register(&command{name: "approve", summary: "approve the challenger a waiting DailyRetrain run holds", run: runApprove})
	register(&command{name: "rollback", summary: "move production back to previous (or --to N), with a reason", run: runRollback})
	register(&command{name: "score", summary: "score a day's customers with production into the scores table, in parallel partitions", run: runScore})
	register(&command{name: "monitor", summary: "run MonitorDrift for a model and day: drift, decay and, past the limits, automatic rollback", run: runMonitor})
}

// actorFlag registers --actor, defaulting to PROMOFLOW_ACTOR or the login name.
func actorFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("PROMOFLOW_ACTOR")
	if def == "" {
		if u, err := user.Current(); err == nil {
			def = u.Username
		}
	}
	return fs.String("actor", def, "who is acting, recorded in the audit log (env PROMOFLOW_ACTOR)")
}

// positional splits "MODEL [flags]" so the model may come before flags.
func positional(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// refArg parses "REF [flags]" where REF names a version (MODEL, MODEL/N or
// MODEL@ALIAS), refusing a missing or malformed one.
func refArg(fs *flag.FlagSet, args []string) (registry.Ref, error) {
	arg, rest := positional(args)
	if err := parseFlags(fs, rest); err != nil {
		return registry.Ref{}, err
	}
	if arg == "" {
		fs.Usage()
		return registry.Ref{}, errUsage
	}
	return registry.ParseRef(arg)
}

func runDaily(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, fs := configFlagSet("run", "MODEL --day YYYY-MM-DD [--no-cache] [--json]")
	day := fs.String("day", "", "day to run (yyyy-mm-dd)")
	noCache := fs.Bool("no-cache", false, "retrain even if identical data and configuration already produced a version")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	model, err := modelDayArgs(fs, args, day)
	if err != nil {
		return err
	}
	tc, err := cfg.Temporal()
	if err != nil {
		return err
	}
	defer tc.Close()
	res, err := app.RunDaily(ctx, tc, cfg.TaskQueue, workflows.DailyInput{Model: model, Day: *day, NoCache: *noCache}, progressLine(os.Stderr))
	if err != nil {
		return err
	}
	return printDaily(stdout, res, *asJSON)
}

// progressLine writes the running step of a workflow on one terminal line;
// it stays silent when w is not a terminal, so logs hold no control codes.
func progressLine(w *os.File) func(step string, elapsed time.Duration) {
	if st, err := w.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return func(step string, elapsed time.Duration) {
		if step == "" {
			fmt.Fprint(w, "\r\033[K")
			return
		}
		fmt.Fprintf(w, "\r  … %-12s %5.0fs", step, elapsed.Seconds())
	}
}

func printDaily(w io.Writer, res workflows.DailyResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(w, "%s %s: version %d, promoted %v\n", res.Model, res.Day, res.Version, res.Promoted)
	for _, s := range res.Steps {
		fmt.Fprintf(w, "  %-9s %-9s %s\n", s.Step, s.Status, s.Detail)
	}
	if res.Verdict != nil {
		return printChecks(w, *res.Verdict)
	}
	return nil
}

func runPromote(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, fs := configFlagSet("promote", "MODEL --version N --reason TEXT [--force]")
	version := fs.Int("version", 0, "version to promote")
	reason := fs.String("reason", "", "why (required; recorded in the audit log)")
	force := fs.Bool("force", false, "skip the gate (still needs a reason)")
	actor := actorFlag(fs)
	model, rest := positional(args)
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if model == "" || *version <= 0 || strings.TrimSpace(*reason) == "" {
		fs.Usage()
		return fmt.Errorf("need MODEL, --version and --reason: %w", errUsage)
	}
	ch, done, err := changer(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	res, err := ch.Promote(ctx, workflows.PromoteInput{Model: model, Version: *version, Actor: *actor, Reason: *reason, Force: *force})
	if err != nil {
		var ge *manual.GateError
		if errors.As(err, &ge) {
			fmt.Fprintf(stdout, "%s v%d NOT promoted: %v\n", model, *version, err)
		}
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s production %d → %d (by %s: %s)\n", model, res.Move.From, res.Move.To, *actor, *reason)
	return err
}

func runApprove(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, fs := configFlagSet("approve", "MODEL --day YYYY-MM-DD --version N --reason TEXT")
	day := fs.String("day", "", "day of the waiting DailyRetrain run")
	runID := fs.String("run", "", "workflow id of the waiting run (default: the model's run for --day)")
	version := fs.Int("version", 0, "version being approved (must match the run's challenger)")
	reason := fs.String("reason", "", "why (required; recorded in the audit log)")
	actor := actorFlag(fs)
	model, rest := positional(args)
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	id := *runID
	if id == "" && model != "" && *day != "" {
		id = workflows.DailyWorkflowID(model, *day)
	}
	if id == "" || *version <= 0 {
		fs.Usage()
		return fmt.Errorf("need --run (or MODEL and --day) and --version: %w", errUsage)
	}
	ch, done, err := changer(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	v, err := ch.Approve(ctx, id, workflows.ApproveRequest{Version: *version, Actor: *actor, Reason: *reason})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "approved version %d of run %s (by %s: %s)\n", v, id, *actor, *reason)
	return err
}

func runRollback(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, fs := configFlagSet("rollback", "MODEL --reason TEXT [--to N]")
	to := fs.Int("to", 0, "version to go back to (default: previous)")
	reason := fs.String("reason", "", "why (required; recorded in the audit log)")
	actor := actorFlag(fs)
	model, rest := positional(args)
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if model == "" || strings.TrimSpace(*reason) == "" {
		fs.Usage()
		return fmt.Errorf("need MODEL and --reason: %w", errUsage)
	}
	ch, done, err := changer(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	mv, err := ch.Rollback(ctx, workflows.RollbackInput{Model: model, To: *to, Actor: *actor, Reason: *reason})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s production %d → %d (by %s: %s)\n", model, mv.From, mv.To, *actor, *reason)
	return err
}

func runMonitor(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, fs := configFlagSet("monitor", "MODEL --day YYYY-MM-DD")
	day := fs.String("day", "", "day whose clean data to check (yyyy-mm-dd)")
	model, err := modelDayArgs(fs, args, day)
	if err != nil {
		return err
	}
	var res workflows.MonitorResult
	if err := executeAndWait(ctx, cfg, workflows.MonitorWorkflowID(model, *day), "MonitorDrift",
		workflows.MonitorInput{Model: model, Day: *day}, &res); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s: production v%d, %d breaches, %d in a row\n", model, *day, res.Version, len(res.Breaches), res.Streak)
	for _, b := range res.Breaches {
		fmt.Fprintf(stdout, "  breach  %s\n", b)
	}
	switch {
	case res.RolledBack:
		fmt.Fprintf(stdout, "  automatic rollback: production %d → %d\n", res.Rollback.From, res.Rollback.To)
	case res.Skipped != "":
		fmt.Fprintf(stdout, "  rollback due but skipped: %s\n", res.Skipped)
	}
	return nil
}

func runScore(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, fs := configFlagSet("score", "MODEL --day YYYY-MM-DD [--partitions N]")
	day := fs.String("day", "", "day whose clean customers to score (yyyy-mm-dd)")
	parts := fs.Int("partitions", 4, "partitions scored side by side (by a hash of the customer id)")
	model, err := modelDayArgs(fs, args, day)
	if err != nil {
		return err
	}
	if *parts < 1 {
		return fmt.Errorf("--partitions %d: want at least 1: %w", *parts, errUsage)
	}
	var res workflows.ScoreDayResult
	if err := executeAndWait(ctx, cfg, workflows.ScoreWorkflowID(model, *day), "ScoreDay",
		workflows.ScoreDayInput{Model: model, Day: *day, Partitions: *parts}, &res); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s %s: %d customers scored with v%d in %d partitions (%d rows written)\n",
		model, *day, res.Rows, res.Version, res.Partitions, res.Written)
	return err
}

// changer connects a manual.Changer: Temporal, and PostgreSQL for the audit
// of refused attempts when PROMOFLOW_PG_URL is set.
func changer(ctx context.Context, cfg *app.Config) (*manual.Changer, func(), error) {
	tc, err := cfg.Temporal()
	if err != nil {
		return nil, nil, err
	}
	ch := &manual.Changer{Temporal: tc, TaskQueue: cfg.TaskQueue}
	if s, err := openStore(ctx); err == nil {
		ch.Audit = s
	} else {
		fmt.Fprintf(os.Stderr, "promoflow: refused attempts will not be audited: %v\n", err)
	}
	return ch, func() {
		tc.Close()
		if ch.Audit != nil {
			ch.Audit.Close()
		}
	}, nil
}

// modelDayArgs parses "MODEL --day YYYY-MM-DD [flags]" into the model and
// *day, refusing a missing model or a malformed day.
func modelDayArgs(fs *flag.FlagSet, args []string, day *string) (string, error) {
	model, rest := positional(args)
	if err := parseFlags(fs, rest); err != nil {
		return "", err
	}
	if model == "" || *day == "" {
		fs.Usage()
		return "", fmt.Errorf("need MODEL and --day: %w", errUsage)
	}
	if _, err := time.Parse(time.DateOnly, *day); err != nil {
		return "", fmt.Errorf("--day %q: want yyyy-mm-dd", *day)
	}
	return model, nil
}

// executeAndWait starts the workflow with id — or joins the run already
// going under it — and waits for its result in out.
func executeAndWait(ctx context.Context, cfg *app.Config, id, workflow string, in, out any) error {
	tc, err := cfg.Temporal()
	if err != nil {
		return err
	}
	defer tc.Close()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: cfg.TaskQueue, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflow, in)
	if err != nil {
		return fmt.Errorf("start %s %s: %w", workflow, id, err)
	}
	if err := run.Get(ctx, out); err != nil {
		return fmt.Errorf("%s %s: %w", workflow, id, err)
	}
	return nil
}

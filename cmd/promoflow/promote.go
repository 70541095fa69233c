package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/workflows"
)

func init() {
	register(&command{name: "promote", summary: "promote a version to production through the gate (or --force with a reason)", run: runPromote})
	register(&command{name: "approve", summary: "approve the challenger a waiting DailyRetrain run holds", run: runApprove})
	register(&command{name: "rollback", summary: "move production back to previous (or --to N), with a reason", run: runRollback})
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
		var ge *control.GateError
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

// changer connects a control.Changer: Temporal, and PostgreSQL for the
// audit of refused attempts when PROMOFLOW_PG_URL is set.
func changer(ctx context.Context, cfg *control.Config) (*control.Changer, func(), error) {
	tc, err := cfg.Temporal()
	if err != nil {
		return nil, nil, err
	}
	ch := &control.Changer{Temporal: tc, TaskQueue: cfg.TaskQueue}
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

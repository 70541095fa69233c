package main

import (
	"context"
	"fmt"
	"io"

	"github.com/promoflow/promoflow/workflows"
)

func init() {
	register(&command{name: "monitor", summary: "run MonitorDrift for a model and day: drift, decay and, past the limits, automatic rollback", run: runMonitor})
}

func runMonitor(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, fs := configFlagSet("monitor", "MODEL --day YYYY-MM-DD")
	day := fs.String("day", "", "day whose clean data to check (yyyy-mm-dd)")
	model, err := modelDayArgs(fs, args, day)
	if err != nil {
		return err
	}
	start, done, err := dialStarter(cfg)
	if err != nil {
		return err
	}
	defer done()
	res, err := start.MonitorDrift(ctx, workflows.MonitorInput{Model: model, Day: *day})
	if err != nil {
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

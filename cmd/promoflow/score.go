package main

import (
	"context"
	"fmt"
	"io"

	"github.com/promoflow/promoflow/workflows"
)

func init() {
	register(&command{name: "score", summary: "score a day's customers with production into the scores table, in parallel partitions", run: runScore})
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
	start, done, err := dialStarter(cfg)
	if err != nil {
		return err
	}
	defer done()
	res, err := start.ScoreDay(ctx, workflows.ScoreDayInput{Model: model, Day: *day, Partitions: *parts})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s %s: %d customers scored with v%d in %d partitions (%d rows written)\n",
		model, *day, res.Rows, res.Version, res.Partitions, res.Written)
	return err
}

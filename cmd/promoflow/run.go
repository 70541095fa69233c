package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/workflows"
)

func init() {
	register(&command{name: "run", summary: "run DailyRetrain for a model and day and wait for its result", run: runDaily})
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
	start, done, err := dialStarter(cfg)
	if err != nil {
		return err
	}
	defer done()
	res, err := start.RunDaily(ctx, workflows.DailyInput{Model: model, Day: *day, NoCache: *noCache}, progressLine(os.Stderr))
	if err != nil {
		return err
	}
	return printDaily(stdout, res, *asJSON)
}

// progressLine writes the running step of a workflow on one terminal line;
// it stays silent when w is not a terminal, so logs hold no control codes.
func progressLine(w *os.File) control.Progress {
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

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/promoflow/promoflow/clean"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/workflows"
)

func init() {
	register(&command{name: "runs", summary: "ls: the run history of a model (PostgreSQL)", run: runRuns})
	register(&command{name: "audit", summary: "the audit log of a model: who moved which alias, when and why", run: runAudit})
	register(&command{name: "ingest", summary: "ingest and clean one day of a source through Temporal (--file lands a local file first)", run: runIngest})
}

func runRuns(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "ls" {
		args = args[1:]
	}
	fs := newFlagSet("runs ls", "[MODEL] [--limit N] [--json]")
	limit := fs.Int("limit", 20, "newest runs to show")
	asJSON := fs.Bool("json", false, "print JSON")
	model, rest := positional(args)
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	s, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	runs, err := s.ListRuns(ctx, model, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(runs)
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tDAY\tSTATUS\tSTARTED\tTOOK\tWORKFLOW\tLAST STEP")
	for _, r := range runs {
		var steps []workflows.StepOutcome
		_ = json.Unmarshal(r.Steps, &steps)
		last := ""
		if len(steps) > 0 {
			s := steps[len(steps)-1]
			last = s.Step + " " + s.Status + ": " + s.Detail
		}
		took := "-"
		if !r.FinishedAt.IsZero() {
			took = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Model, r.Day.Format(time.DateOnly), r.Status,
			r.StartedAt.UTC().Format(time.RFC3339), took, r.WorkflowID, last)
	}
	return tw.Flush()
}

func runAudit(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("audit", "MODEL [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	model, rest := positional(args)
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	s, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	entries, err := s.ListAudit(ctx, model)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(entries)
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tMODEL\tACTION\tALIAS\tFROM\tTO\tBY\tREASON")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Model, e.Action, e.Alias,
			e.FromVersion, e.ToVersion, e.Actor, e.Reason)
	}
	return tw.Flush()
}

func runIngest(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, fs := configFlagSet("ingest", "--source S --day YYYY-MM-DD [--file F]")
	source := fs.String("source", "", "data source (a model's configured source)")
	day := fs.String("day", "", "day of the data (yyyy-mm-dd)")
	file := fs.String("file", "", "a local CSV to land in MinIO first (default: the files already landed)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *source == "" || *day == "" {
		fs.Usage()
		return fmt.Errorf("need --source and --day: %w", errUsage)
	}
	if _, err := time.Parse(time.DateOnly, *day); err != nil {
		return fmt.Errorf("--day %q: want yyyy-mm-dd", *day)
	}
	mc, err := config.ForSource(cfg.ConfigDir, *source)
	if err != nil {
		return err
	}
	var keys []string
	if *file != "" {
		m, err := cfg.MinIO()
		if err != nil {
			return err
		}
		key := "landing/" + *source + "/" + *day + "/" + filepath.Base(*file)
		if _, err := m.FPutObject(ctx, cfg.Bucket, key, *file, minio.PutObjectOptions{ContentType: "text/csv"}); err != nil {
			return fmt.Errorf("land %s as %s: %w", *file, key, err)
		}
		keys = []string{key}
	}
	start, done, err := dialStarter(cfg)
	if err != nil {
		return err
	}
	defer done()
	res, err := start.IngestDay(ctx, workflows.IngestDayInput{Model: mc.Name, Day: *day, Keys: keys})
	if err != nil {
		return err
	}
	by := ""
	if res.Clean.Quarantined > 0 {
		rules := map[clean.Rule]int64{}
		for r, n := range res.Clean.ByRule {
			rules[clean.Rule(r)] = n
		}
		by = " (" + formatRules(rules) + ")"
	}
	_, err = fmt.Fprintf(stdout, "%s %s: %s; clean: %d in = %d clean + %d quarantined%s\n", *source, *day, res.Ingest,
		res.Clean.RowsIn, res.Clean.Clean, res.Clean.Quarantined, by)
	return err
}

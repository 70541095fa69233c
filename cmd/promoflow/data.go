package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/store"
)

func init() {
	register(&command{
		name:    "data",
		summary: "the data plane: status of ingested days; migrate; ingest and clean local files",
		run:     runData,
	})
}

const dataUsage = `usage: promoflow data <subcommand> [flags]

subcommands:
  status    days ingested per source: files, rows, clean and quarantined counts
  migrate   apply the database migrations
  ingest    ingest local CSV files of one source and day and clean the day,
            without Temporal (a quick start)

environment:
  PROMOFLOW_PG_URL  PostgreSQL URL, with its password (secret)
`

func runData(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(os.Stderr, dataUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	sub := map[string]func(context.Context, []string, io.Writer) error{
		"status":  runDataStatus,
		"migrate": runDataMigrate,
		"ingest":  runDataIngest,
	}[args[0]]
	if sub == nil {
		fmt.Fprintf(os.Stderr, "promoflow data: unknown subcommand %q\n\n%s", args[0], dataUsage)
		return errUsage
	}
	return sub(ctx, args[1:], stdout)
}

func runDataStatus(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("data status", "[-source name] [-days n]")
	source := fs.String("source", "", "only this source (default all)")
	days := fs.Int("days", 30, "newest days to show (0 for all)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	st, err := s.Status(ctx, *source, *days)
	if err != nil {
		return err
	}
	if len(st) == 0 {
		_, err := fmt.Fprintln(stdout, "no day ingested yet")
		return err
	}
	return writeStatus(stdout, st)
}

// writeStatus prints one line per source and day.
func writeStatus(w io.Writer, st []store.DayStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DAY\tSOURCE\tFILES\tROWS\tMB\tCLEAN\tQUARANTINED\tBY RULE")
	for _, d := range st {
		clean, quar, rules := "-", "-", "not cleaned"
		if d.Cleaned {
			clean, quar, rules = fmt.Sprint(d.Clean), fmt.Sprint(d.Quarantined), formatRules(d.ByRule)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%s\t%s\t%s\n",
			d.Day.Format(time.DateOnly), d.Source, d.Files, d.Rows, float64(d.Bytes)/1e6, clean, quar, rules)
	}
	return tw.Flush()
}

// formatRules renders quarantine counts in the rules' order, "-" for none.
func formatRules(by map[clean.Rule]int64) string {
	var parts []string
	for _, r := range clean.Rules {
		if n := by[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", r, n))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func runDataMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("data migrate", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	applied, err := s.Migrate(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "applied %d migration(s) %v\n", len(applied), applied)
	return err
}

func runDataIngest(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("data ingest", "-source name -day yyyy-mm-dd -config clean.yaml file.csv|dir ...")
	source := fs.String("source", "", "source the files come from (required)")
	day := fs.String("day", "", "day of the files, yyyy-mm-dd (required)")
	config := fs.String("config", "", "YAML (or JSON) cleaning rules: schema, customer_column, max_rows_per_customer_day, limits (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *source == "" || *day == "" || *config == "" || fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	cfg, err := readCleanConfig(*config)
	if err != nil {
		return err
	}
	files, err := csvFiles(fs.Args())
	if err != nil {
		return err
	}
	s, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return err
	}
	in := control.LocalIngest{Source: *source, Day: *day, Files: files, Clean: cfg}
	cr, err := control.IngestLocal(ctx, s, in, func(f string, r store.IngestStats) {
		what := "ingested"
		if r.AlreadyIngested {
			what = "already ingested"
		}
		fmt.Fprintf(stdout, "%s: %s, %d rows, %d bytes, sha256 %s\n", f, what, r.Rows, r.Bytes, r.SHA256)
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "cleaned %s %s: %d in = %d clean + %d quarantined\n", *source, *day, cr.RowsIn, cr.Clean, cr.Quarantined)
	return err
}

// readCleanConfig reads cleaning rules from a YAML or JSON file.
func readCleanConfig(path string) (clean.Config, error) {
	var cfg clean.Config
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read clean config: %w", err)
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("parse clean config %s: %w", path, err)
	}
	if err := cfg.Schema.Validate(); err != nil {
		return cfg, fmt.Errorf("clean config %s: %w", path, err)
	}
	return cfg, nil
}

// csvFiles expands directories to the .csv files in them and makes every
// path absolute.
func csvFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		abs, err := filepath.Abs(a)
		if err != nil {
			return nil, fmt.Errorf("path %s: %w", a, err)
		}
		info, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		if !info.IsDir() {
			out = append(out, abs)
			continue
		}
		matches, err := filepath.Glob(filepath.Join(abs, "*.csv"))
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", abs, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("no .csv file in %s", abs)
		}
		sort.Strings(matches)
		out = append(out, matches...)
	}
	return out, nil
}

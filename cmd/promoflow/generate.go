package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/promoflow/promoflow/synth"
)

func init() {
	register(&command{
		name:    "generate",
		summary: "write seeded synthetic customer data with known propensity and uplift",
		run:     runGenerate,
	})
}

func runGenerate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("generate", "--rows N --seed S (--out F.csv | --out-dir DIR) [flags]")
	rows := fs.Int("rows", 10000, "rows to generate")
	seed := fs.Int64("seed", 1, "seed; the same flags give the same rows")
	days := fs.Int("days", 1, "spread the rows evenly over this many days")
	start := fs.String("start", synth.DefaultStart.Format(time.DateOnly), "first day, yyyy-mm-dd")
	driftFrom := fs.Int("drift-from", 0, "0-based index of the first day whose feature distributions shift (0 = no drift)")
	driftShift := fs.Float64("drift-shift", 1, "size of the drift")
	bad := fs.Float64("bad-rows", 0, "fraction of rows replaced by faulty ones (wrong types, out of range, NaN, missing, duplicates, a scalper)")
	out := fs.String("out", "", "write one CSV `FILE` (- for standard output)")
	outDir := fs.String("out-dir", "", "write DIR/<yyyy-mm-dd>/part-0.csv per day")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*out == "") == (*outDir == "") {
		fs.Usage()
		return fmt.Errorf("give exactly one of --out and --out-dir: %w", errUsage)
	}
	day0, err := time.Parse(time.DateOnly, *start)
	if err != nil {
		return fmt.Errorf("--start %q: want yyyy-mm-dd: %w", *start, errUsage)
	}
	if *rows <= 0 || *days <= 0 || *bad < 0 || *bad >= 1 {
		return fmt.Errorf("--rows and --days must be positive and --bad-rows in [0, 1): %w", errUsage)
	}
	cfg := synth.Config{Rows: *rows, Seed: *seed, Days: *days, Start: day0, DriftFrom: *driftFrom, DriftShift: *driftShift, BadRowFraction: *bad}
	if *outDir != "" {
		files, err := synth.WriteDays(*outDir, cfg)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "wrote %d rows in %d files under %s\n", *rows, len(files), *outDir)
		return err
	}
	if *out == "-" {
		return synth.Write(stdout, cfg)
	}
	f, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if err := synth.Write(f, cfg); err != nil {
		f.Close()
		return fmt.Errorf("generate %s: %w", *out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("generate %s: %w", *out, err)
	}
	return nil
}

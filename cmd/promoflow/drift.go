package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/promoflow/promoflow/store"
)

func init() {
	register(&command{
		name:    "drift",
		summary: "per-feature drift, realised metrics and breaches of a model's monitored day",
		run:     runDrift,
	})
}

func runDrift(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("drift", "MODEL [--day yyyy-mm-dd] [--json]")
	day := fs.String("day", "", "the monitored day (default the latest checked)")
	asJSON := fs.Bool("json", false, "print JSON")
	var model string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		model, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if model == "" && fs.NArg() == 1 {
		model = fs.Arg(0)
	} else if fs.NArg() > 0 || model == "" {
		fs.Usage()
		return errUsage
	}
	s, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	checks, err := s.DriftChecks(ctx, model, 0)
	if err != nil {
		return err
	}
	var check *store.DriftCheck
	for i := range checks {
		if *day == "" || checks[i].Day.Format(time.DateOnly) == *day {
			check = &checks[i]
			break
		}
	}
	if check == nil {
		if *day == "" {
			return fmt.Errorf("model %s has no drift check yet (MonitorDrift stores them)", model)
		}
		return fmt.Errorf("model %s has no drift check on %s", model, *day)
	}
	features, err := s.DriftFeatures(ctx, model, check.Day)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Check    store.DriftCheck
			Features []store.DriftFeature
		}{*check, features})
	}
	return printDrift(stdout, *check, features)
}

// printDrift writes a check's header and its per-feature table.
func printDrift(w io.Writer, c store.DriftCheck, features []store.DriftFeature) error {
	fmt.Fprintf(w, "model %s  day %s  production v%d  rows %d  checked %s\n",
		c.Model, c.Day.Format(time.DateOnly), c.Version, c.Rows, c.CheckedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "drifted features %.0f%%  data set drift %v\n", 100*c.DriftedShare, c.DatasetDrift)
	if len(c.Realised) > 0 {
		var r struct {
			Rows                                     int
			AUC, LogLoss, ECE, ReferenceAUC, AUCDrop float64
		}
		if err := json.Unmarshal(c.Realised, &r); err != nil {
			return fmt.Errorf("decode realised metrics: %w", err)
		}
		fmt.Fprintf(w, "realised on %d labelled rows: AUC %.4f (validation %.4f, drop %.4f)  log loss %.4f  ECE %.4f\n",
			r.Rows, r.AUC, r.ReferenceAUC, r.AUCDrop, r.LogLoss, r.ECE)
	} else {
		fmt.Fprintln(w, "realised: no labels yet")
	}
	var breaches []struct {
		Check        string
		Value, Limit float64
	}
	if len(c.Breaches) > 0 {
		if err := json.Unmarshal(c.Breaches, &breaches); err != nil {
			return fmt.Errorf("decode breaches: %w", err)
		}
	}
	for _, b := range breaches {
		fmt.Fprintf(w, "BREACH %s %.4g over %.4g\n", b.Check, b.Value, b.Limit)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FEATURE\tKIND\tPSI\tKS\tKS P\tJS\tSEVERITY\tDRIFTED")
	for _, f := range features {
		ks, ksp := "-", "-"
		if f.KSStat != nil {
			ks = fmt.Sprintf("%.4f", *f.KSStat)
		}
		if f.KSP != nil {
			ksp = fmt.Sprintf("%.3g", *f.KSP)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4f\t%s\t%s\t%.4f\t%s\t%v\n", f.Feature, f.Kind, f.PSI, ks, ksp, f.JS, f.Severity, f.Drifted)
	}
	return tw.Flush()
}

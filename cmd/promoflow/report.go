package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/drift"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/report"
	"github.com/promoflow/promoflow/store"
)

func init() {
	register(&command{name: "report", summary: "save a version's training report (report.html) or render a drift report to a file", run: runReport})
}

func runReport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("report", "MODEL[@ALIAS|/VERSION] [-o FILE]  |  --drift MODEL [--day yyyy-mm-dd] [-o FILE]")
	out := fs.String("o", "", "file to write (default <model>-v<n>-report.html or <model>-drift-<day>.html; - for standard output)")
	driftModel := fs.String("drift", "", "render the drift report of this model instead (needs PostgreSQL)")
	day := fs.String("day", "", "with --drift: the monitored day (default the latest checked)")
	arg, rest := positional(args)
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if fs.NArg() > 0 || (arg == "") == (*driftModel == "") || (*day != "" && *driftModel == "") {
		fs.Usage()
		return errUsage
	}
	var (
		page []byte
		name string
		err  error
	)
	if *driftModel != "" {
		page, name, err = driftReport(ctx, *driftModel, *day)
	} else {
		page, name, err = trainingReport(ctx, arg)
	}
	if err != nil {
		return err
	}
	target := cmp.Or(*out, name)
	if target == "-" {
		_, err = stdout.Write(page)
		return err
	}
	if err := os.WriteFile(target, page, 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintln(stdout, target)
	return nil
}

// trainingReport fetches the report.html stored with the version ref names.
func trainingReport(ctx context.Context, arg string) ([]byte, string, error) {
	ref, err := registry.ParseRef(arg)
	if err != nil {
		return nil, "", err
	}
	reg, err := control.FromEnv().Registry()
	if err != nil {
		return nil, "", err
	}
	v, err := reg.ResolveRef(ctx, ref)
	if err != nil {
		return nil, "", err
	}
	page, err := reg.Artifact(ctx, ref.Model, v, registry.ReportArtifact)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, "", fmt.Errorf("%s v%d has no training report yet (the daily run's WriteReport step adds it): %w", ref.Model, v, err)
	}
	if err != nil {
		return nil, "", err
	}
	return page, fmt.Sprintf("%s-v%d-report.html", ref.Model, v), nil
}

// driftReport renders a model's drift check of day (the latest when
// empty) from the drift history, judged by the model's configured limits
// when its configuration is found.
func driftReport(ctx context.Context, model, day string) ([]byte, string, error) {
	st, err := openStore(ctx)
	if err != nil {
		return nil, "", err
	}
	defer st.Close()
	checks, err := st.DriftChecks(ctx, model, 0)
	if err != nil {
		return nil, "", err
	}
	var check *store.DriftCheck
	for i := range checks {
		if day == "" || checks[i].Day.Format(time.DateOnly) == day {
			check = &checks[i]
			break
		}
	}
	if check == nil {
		if day == "" {
			return nil, "", fmt.Errorf("model %s has no drift check yet (MonitorDrift stores them)", model)
		}
		return nil, "", fmt.Errorf("model %s has no drift check on %s", model, day)
	}
	features, err := st.DriftFeatures(ctx, model, check.Day)
	if err != nil {
		return nil, "", err
	}
	lim, err := driftLimits(model)
	if err != nil {
		return nil, "", err
	}
	d := report.Drift{Check: *check, Features: features, Limits: lim}
	var b bytes.Buffer
	if err := report.WriteDrift(&b, d); err != nil {
		return nil, "", err
	}
	return b.Bytes(), fmt.Sprintf("%s-drift-%s.html", model, check.Day.Format(time.DateOnly)), nil
}

// driftLimits are the model's configured drift limits; the zero value
// (the defaults) when it has no configuration here.
func driftLimits(model string) (drift.Config, error) {
	mc, err := config.Load(control.FromEnv().ConfigDir, model)
	if errors.Is(err, config.ErrNotFound) {
		return drift.Config{}, nil
	}
	if err != nil {
		return drift.Config{}, err
	}
	return mc.Monitor.Drift, nil
}

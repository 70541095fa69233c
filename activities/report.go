package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/report"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/workflows"
)

// Reports holds the activity that renders a version's training report.
type Reports struct {
	Store    *store.Store
	Registry *registry.Registry
	// Config returns a model's configuration.
	Config func(model string) (config.Model, error)
}

// WriteReport renders the training report of a registered version and
// adds it to the version as report.html: metrics on the holdout, ROC and
// calibration curves, the Qini curve and uplift by decile, the largest
// coefficients, the data quality of the training days and the gate's
// verdict when it has judged the version. The holdout is the one
// ValidateModel judges (loadWindow and learn.SplitHoldout), scored again
// here for the curves. A version keeps its first report.
func (rp *Reports) WriteReport(ctx context.Context, in workflows.ReportInput) (workflows.ReportResult, error) {
	res := workflows.ReportResult{Artifact: registry.ReportArtifact}
	cfg, err := modelConfig(rp.Config, in.Model)
	if err != nil {
		return res, err
	}
	info, err := rp.Registry.Describe(ctx, in.Model, in.Version)
	if err != nil {
		return res, nonRetryableIf(err)
	}
	if _, ok := info.Added[registry.ReportArtifact]; ok {
		res.Existing = true
		return res, nil
	}
	t, err := rp.training(ctx, in, info)
	if err != nil {
		return res, err
	}
	if err := rp.holdout(ctx, in, cfg, &t); err != nil {
		return res, err
	}
	if t.Days, err = rp.trainingDays(ctx, cfg.Source, t.Manifest.DataWindow.Days); err != nil {
		return res, fmt.Errorf("report %s v%d: %w", in.Model, in.Version, err)
	}
	var b bytes.Buffer
	if err := report.WriteTraining(&b, t); err != nil {
		return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("report %s v%d: %v", in.Model, in.Version, err), "InvalidInput", err)
	}
	res.Bytes = b.Len()
	err = rp.Registry.AddArtifact(ctx, in.Model, in.Version, registry.ReportArtifact, b.Bytes())
	switch {
	case errors.Is(err, registry.ErrImmutable):
		// An earlier attempt stored a report rendered from data that has
		// changed since (a day cleaned again): the first one stays.
		res.Existing = true
	case err != nil:
		return res, nonRetryableIf(fmt.Errorf("report %s v%d: %w", in.Model, in.Version, err))
	}
	return res, nil
}

// training starts a version's report from its manifest, model and
// verdict.
func (rp *Reports) training(ctx context.Context, in workflows.ReportInput, info *registry.VersionInfo) (report.Training, error) {
	data, err := rp.Registry.Artifact(ctx, in.Model, in.Version, registry.ModelArtifact)
	if err != nil {
		return report.Training{}, nonRetryableIf(err)
	}
	model, err := learn.Load(data)
	if err != nil {
		return report.Training{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("load %s v%d: %v", in.Model, in.Version, err), "InvalidInput", err)
	}
	t := report.Training{Manifest: info.Manifest, Model: model}
	if len(info.Verdict) > 0 {
		var v gate.Verdict
		if err := json.Unmarshal(info.Verdict, &v); err != nil {
			return report.Training{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("verdict of %s v%d: %v", in.Model, in.Version, err), "Integrity", err)
		}
		t.Verdict = &v
	}
	return t, nil
}

// holdout measures the version on its holdout for the report's metrics
// and curves.
func (rp *Reports) holdout(ctx context.Context, in workflows.ReportInput, cfg config.Model, t *report.Training) error {
	stop := heartbeatWhile(ctx, "report")
	defer stop()
	_, holdout, _, err := loadWindow(ctx, rp.Store, cfg, t.Manifest.DataWindow.To)
	if err != nil {
		return err
	}
	if mt, err := learn.Evaluate(t.Model, holdout); err != nil {
		t.HoldoutNote = fmt.Sprintf("holdout metrics of %d rows not measured: %v", len(holdout.Rows), err)
	} else {
		t.Holdout = &mt
	}
	if t.Rows, err = gateRows(t.Model, nil, holdout); err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("report %s v%d: %v", in.Model, in.Version, err), "InvalidInput", err)
	}
	return nil
}

// trainingDays returns the data status of the days a version trained on.
func (rp *Reports) trainingDays(ctx context.Context, source string, days []string) ([]store.DayStatus, error) {
	all, err := rp.Store.Status(ctx, source, 0)
	if err != nil {
		return nil, fmt.Errorf("data status of %s: %w", source, err)
	}
	var out []store.DayStatus
	for _, d := range all {
		if slices.Contains(days, d.Day.Format(time.DateOnly)) {
			out = append(out, d)
		}
	}
	return out, nil
}

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

	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/report"
	"github.com/promoflow/promoflow/workflows"
)

// WriteReport renders the training report of a registered version and
// adds it to the version as report.html: metrics on the holdout, ROC and
// calibration curves, the Qini curve and uplift by decile, the largest
// coefficients, the data quality of the training days and the gate's
// verdict when it has judged the version. The holdout is the one
// ValidateModel judges (window and splitHoldout), scored again here for
// the curves. A version keeps its first report.
func (m *Models) WriteReport(ctx context.Context, in workflows.ReportInput) (workflows.ReportResult, error) {
	res := workflows.ReportResult{Artifact: registry.ReportArtifact}
	cfg, err := m.config(in.Model)
	if err != nil {
		return res, err
	}
	info, err := m.Registry.Describe(ctx, in.Model, in.Version)
	if err != nil {
		return res, nonRetryableIf(err)
	}
	if _, ok := info.Added[registry.ReportArtifact]; ok {
		res.Existing = true
		return res, nil
	}
	data, err := m.Registry.Artifact(ctx, in.Model, in.Version, registry.ModelArtifact)
	if err != nil {
		return res, nonRetryableIf(err)
	}
	model, err := learn.Load(data)
	if err != nil {
		return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("load %s v%d: %v", in.Model, in.Version, err), "InvalidInput", err)
	}
	man := info.Manifest
	t := report.Training{Manifest: man, Model: model}
	if len(info.Verdict) > 0 {
		var v gate.Verdict
		if err := json.Unmarshal(info.Verdict, &v); err != nil {
			return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("verdict of %s v%d: %v", in.Model, in.Version, err), "Integrity", err)
		}
		t.Verdict = &v
	}

	stop := heartbeatWhile(ctx, "report")
	_, holdout, _, err := m.window(ctx, cfg, man.DataWindow.To)
	if err != nil {
		stop()
		return res, err
	}
	if mt, err := learn.Evaluate(model, holdout); err != nil {
		t.HoldoutNote = fmt.Sprintf("holdout metrics of %d rows not measured: %v", len(holdout.Rows), err)
	} else {
		t.Holdout = &mt
	}
	t.Rows, err = gateRows(model, nil, holdout)
	stop()
	if err != nil {
		return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("report %s v%d: %v", in.Model, in.Version, err), "InvalidInput", err)
	}

	days, err := m.Store.Status(ctx, cfg.Source, 0)
	if err != nil {
		return res, fmt.Errorf("report %s v%d: data status of %s: %w", in.Model, in.Version, cfg.Source, err)
	}
	for _, d := range days {
		if slices.Contains(man.DataWindow.Days, d.Day.Format(time.DateOnly)) {
			t.Days = append(t.Days, d)
		}
	}

	var b bytes.Buffer
	if err := report.WriteTraining(&b, t); err != nil {
		return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("report %s v%d: %v", in.Model, in.Version, err), "InvalidInput", err)
	}
	res.Bytes = b.Len()
	err = m.Registry.AddArtifact(ctx, in.Model, in.Version, registry.ReportArtifact, b.Bytes())
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

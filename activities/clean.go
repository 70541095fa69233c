package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/metrics"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/workflows"
)

// Clean holds the cleaning activity: checking a day's ingested rows
// against a model's cleaning rules (package clean).
type Clean struct {
	Store *store.Store
	// Config returns the cleaning rules of a model.
	Config func(model string) (clean.Config, error)
	// Metrics counts rows quarantined; nil counts nothing.
	Metrics *metrics.Metrics
}

// CleanDay checks every ingested row of a source and day against the
// model's cleaning rules, writing clean rows, the quarantine and the day's
// data-quality summary in one transaction. Rows in always equal clean plus
// quarantined. Re-running over the same files is a no-op.
func (c *Clean) CleanDay(ctx context.Context, in workflows.CleanInput) (workflows.CleanResult, error) {
	day, err := store.ParseDay(in.Day)
	if err != nil {
		return workflows.CleanResult{}, invalidInput(err)
	}
	if c.Config == nil {
		return workflows.CleanResult{}, temporal.NewNonRetryableApplicationError("clean: no cleaning configuration on this worker", "InvalidInput", nil)
	}
	cfg, err := c.Config(in.Model)
	if err != nil {
		return workflows.CleanResult{}, fmt.Errorf("cleaning rules of model %s: %w", in.Model, err)
	}
	var progress func(int64)
	if activity.IsActivity(ctx) {
		progress = func(rows int64) { activity.RecordHeartbeat(ctx, rows) }
	}
	res, err := c.Store.Clean(ctx, in.Source, day, cfg, progress)
	if err != nil {
		if errors.Is(err, store.ErrNoFiles) {
			return workflows.CleanResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "NoData", err)
		}
		return workflows.CleanResult{}, classify(err)
	}
	out := workflows.CleanResult{RowsIn: res.RowsIn, Clean: res.Clean, Quarantined: res.Quarantined, ByRule: map[string]int64{}}
	for r, n := range res.ByRule {
		out.ByRule[string(r)] = n
		if c.Metrics != nil && !res.Skipped {
			c.Metrics.AddQuarantined(in.Source, string(r), n)
		}
	}
	return out, nil
}

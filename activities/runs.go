package activities

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/promoflow/promoflow/metrics"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/workflows"
)

// Runs holds the activities over PostgreSQL's run history: recording a
// run's state and finding the run that already decided a day.
type Runs struct {
	Store *store.Store
	// Metrics records successful retrains; nil records nothing.
	Metrics *metrics.Metrics
}

// RecordRun stores a run's state in PostgreSQL's run history.
func (r *Runs) RecordRun(ctx context.Context, rec workflows.RunRecord) error {
	day, err := store.ParseDay(rec.Day)
	if err != nil {
		return invalidInput(err)
	}
	steps, err := json.Marshal(rec.Steps)
	if err != nil {
		return fmt.Errorf("encode steps: %w", err)
	}
	if err := r.Store.UpsertRun(ctx, store.Run{
		WorkflowID: rec.WorkflowID, RunID: rec.RunID, Model: rec.Model, Day: day, Status: rec.Status,
		Version: rec.Version, Steps: steps, StartedAt: rec.StartedAt, FinishedAt: rec.FinishedAt,
	}); err != nil {
		return err
	}
	// A run that reached a decision retrained successfully, whatever the
	// gate said; the stale-model alert watches this.
	switch rec.Status {
	case "promoted", "rejected", "completed", "unapproved":
		if r.Metrics != nil {
			r.Metrics.RetrainSucceeded(rec.Model, rec.FinishedAt)
		}
	}
	return nil
}

// FindFinishedRun returns the run that already decided a model's day, if any.
func (r *Runs) FindFinishedRun(ctx context.Context, model, day string) (workflows.PriorRun, error) {
	d, err := store.ParseDay(day)
	if err != nil {
		return workflows.PriorRun{}, invalidInput(err)
	}
	run, ok, err := r.Store.FinishedRun(ctx, model, d)
	if err != nil || !ok {
		return workflows.PriorRun{}, err
	}
	return workflows.PriorRun{Found: true, WorkflowID: run.WorkflowID, RunID: run.RunID, Status: run.Status, Version: run.Version}, nil
}

package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"
)

// ScoreDayInput asks for a day's customers to be scored in partitions.
type ScoreDayInput struct {
	Model string
	Day   string
	// Partitions is how many activities score the day side by side, each
	// a hash range of customers, on whichever workers poll the queue.
	Partitions int
}

// ScorePartitionInput names one partition of a day's batch scoring.
type ScorePartitionInput struct {
	Model string
	// Version to score with; 0 resolves production. ScoreDay resolves once
	// and passes the same version to every partition.
	Version    int
	Source     string
	Day        string // yyyy-mm-dd
	Partition  int
	Partitions int
}

// PartitionResult counts what one partition scored.
type PartitionResult struct {
	Version int   `json:"version"`
	Rows    int   `json:"rows"`    // customers read
	Written int64 `json:"written"` // rows upserted into scores
}

// ScoreDayResult adds up the partitions.
type ScoreDayResult struct {
	Model      string
	Day        string
	Version    int
	Partitions int
	Rows       int
	Written    int64
}

// ScoreWorkflowID is the workflow id of a model's batch scoring of a day.
func ScoreWorkflowID(model, day string) string { return "score-" + model + "-" + day }

// ScoreDay scores a day's clean customers with the production version,
// fanned out over partitions that run in parallel; a retried partition
// upserts the same rows, so the day is scored exactly once.
func ScoreDay(ctx workflow.Context, in ScoreDayInput) (ScoreDayResult, error) {
	res := ScoreDayResult{Model: in.Model, Day: in.Day, Partitions: max(in.Partitions, 1)}
	short := workflow.WithActivityOptions(ctx, shortOpts())
	data := workflow.WithActivityOptions(ctx, dataOpts())
	var plan Plan
	if err := workflow.ExecuteActivity(short, ActLoadPlan, in.Model).Get(ctx, &plan); err != nil {
		return res, fmt.Errorf("plan: %w", err)
	}
	if err := workflow.ExecuteActivity(short, ActResolveAlias, in.Model, ProductionAlias).Get(ctx, &res.Version); err != nil {
		return res, fmt.Errorf("resolve production of %s: %w", in.Model, err)
	}
	futures := make([]workflow.Future, res.Partitions)
	for i := range futures {
		futures[i] = workflow.ExecuteActivity(data, ActScorePartition, ScorePartitionInput{
			Model: in.Model, Version: res.Version, Source: plan.Source, Day: in.Day, Partition: i, Partitions: res.Partitions,
		})
	}
	for i, f := range futures {
		var p PartitionResult
		if err := f.Get(ctx, &p); err != nil {
			return res, fmt.Errorf("partition %d of %d: %w", i, res.Partitions, err)
		}
		res.Rows += p.Rows
		res.Written += p.Written
	}
	return res, nil
}

package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// shortOpts are the activity options of quick bookkeeping: plans, run
// records, alias moves.
func shortOpts() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         retryPolicy(),
	}
}

// dataOpts are the activity options of the steps that read or write a
// day's data: ingest, clean, train, validate, score, drift.
func dataOpts() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    20 * time.Second, // activities heartbeat every few seconds; a dead worker is noticed fast
		RetryPolicy:         retryPolicy(),
	}
}

// retryPolicy retries transient failures for a while and bad input never.
func retryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		MaximumAttempts:        20,
		NonRetryableErrorTypes: []string{"InvalidInput"},
	}
}

// scheduledDay is the UTC day a Temporal Schedule (or its backfill) meant
// this run for, or the workflow's own start day when it was not scheduled.
func scheduledDay(ctx workflow.Context) string {
	t := workflow.Now(ctx)
	key := temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")
	if st, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(key); ok {
		t = st
	}
	return t.UTC().Format(time.DateOnly)
}

package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// StackReport is what StackCheck learned about the servers it reached.
type StackReport struct {
	PostgresVersion string
	Bucket          string
	BucketExists    bool
	CheckedAt       time.Time
}

// StackCheck proves the pipeline's plumbing: a workflow on the real Temporal
// server runs an activity on a real worker that reaches PostgreSQL and MinIO.
func StackCheck(ctx workflow.Context) (StackReport, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
			MaximumAttempts:    5,
		},
	})
	var report StackReport
	if err := workflow.ExecuteActivity(ctx, ActCheckStack).Get(ctx, &report); err != nil {
		return StackReport{}, err
	}
	report.CheckedAt = workflow.Now(ctx)
	return report, nil
}

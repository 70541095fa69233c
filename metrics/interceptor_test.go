package metrics

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestInterceptorRecordsActivities runs a workflow whose activity fails
// once and then succeeds, with the interceptor on the test worker.
func TestInterceptorRecordsActivities(t *testing.T) {
	m := New(prometheus.NewRegistry())
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{m.Interceptor()}})
	calls := 0
	env.RegisterActivityWithOptions(func(ctx context.Context) error {
		calls++
		if calls == 1 {
			return errors.New("transient")
		}
		return nil
	}, activity.RegisterOptions{Name: "Flaky"})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Millisecond, MaximumAttempts: 3},
		})
		return workflow.ExecuteActivity(ctx, "Flaky").Get(ctx, nil)
	}, workflow.RegisterOptions{Name: "W"})
	env.ExecuteWorkflow("W")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	if got := value(t, m.ActivityFailures.WithLabelValues("Flaky")); got != 1 {
		t.Errorf("failures: got %g, want 1", got)
	}
	if got := value(t, m.ActivityDuration.WithLabelValues("Flaky").(prometheus.Histogram)); got != 2 {
		t.Errorf("duration observations: got %g, want 2", got)
	}
}

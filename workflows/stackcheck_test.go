package workflows

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
)

func TestStackCheck(t *testing.T) {
	tests := []struct {
		name    string
		act     func(context.Context) (StackReport, error)
		wantErr bool
	}{
		{
			name: "activity answers",
			act: func(context.Context) (StackReport, error) {
				return StackReport{PostgresVersion: "15.18", Bucket: "b", BucketExists: true}, nil
			},
		},
		{
			name:    "activity keeps failing",
			act:     func(context.Context) (StackReport, error) { return StackReport{}, errors.New("postgres unreachable") },
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.RegisterActivityWithOptions(tt.act, activity.RegisterOptions{Name: ActCheckStack})
			env.ExecuteWorkflow(StackCheck)
			if !env.IsWorkflowCompleted() {
				t.Fatal("workflow did not complete")
			}
			err := env.GetWorkflowError()
			if (err != nil) != tt.wantErr {
				t.Fatalf("workflow error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			var got StackReport
			if err := env.GetWorkflowResult(&got); err != nil {
				t.Fatal(err)
			}
			if got.PostgresVersion != "15.18" || !got.BucketExists || got.CheckedAt.IsZero() {
				t.Errorf("report = %+v; want the activity's answer stamped with workflow time", got)
			}
		})
	}
}

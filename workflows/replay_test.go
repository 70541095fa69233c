package workflows

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplay replays histories recorded from real runs on the dev server
// (app's end-to-end tests) against today's workflow code: a change that
// would break running workflows fails here.
func TestReplay(t *testing.T) {
	tests := []struct {
		file string
		name string
		fn   any
	}{
		{"testdata/daily_retrain.json", "DailyRetrain", DailyRetrain},
		{"testdata/daily_retrain_approval.json", "DailyRetrain", DailyRetrain},
		{"testdata/promote.json", "Promote", Promote},
		{"testdata/rollback.json", "Rollback", Rollback},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(tt.fn, workflow.RegisterOptions{Name: tt.name})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, tt.file); err != nil {
				t.Fatalf("replay %s: %v", tt.file, err)
			}
		})
	}
}

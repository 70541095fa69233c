package control

import (
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/promoflow/promoflow/workflows"
)

// TestStartPolicies checks the start options each workflow's policy gives:
// a day joins its running or completed run and runs again only after a
// failure; manual changes are refused while one runs and run once; the
// rest join a running run.
func TestStartPolicies(t *testing.T) {
	s := Starter{TaskQueue: "q"}
	tests := []struct {
		workflow     string
		in           any
		wantConflict enumspb.WorkflowIdConflictPolicy
		wantReuse    enumspb.WorkflowIdReusePolicy
		wantError    bool // an id in use is an error, not a run to join
		wantOnce     bool
		wantAttrs    int
	}{
		{workflows.DailyRetrainWorkflow, workflows.DailyInput{Model: "m", Day: "2026-11-01"}, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY, false, false, 2},
		{workflows.PromoteWorkflow, workflows.PromoteInput{Model: "m"}, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
			enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, true, true, 0},
		{workflows.RollbackWorkflow, workflows.RollbackInput{Model: "m"}, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
			enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, true, true, 0},
		{workflows.IngestDayWorkflow, workflows.IngestDayInput{Model: "m"}, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, false, false, 0},
		{workflows.MonitorDriftWorkflow, workflows.MonitorInput{Model: "m"}, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, false, false, 0},
		{workflows.ScoreDayWorkflow, workflows.ScoreDayInput{Model: "m"}, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, false, false, 0},
		{workflows.StackCheckWorkflow, nil, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.workflow, func(t *testing.T) {
			got, err := s.options(tt.workflow, "id-1", tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != "id-1" || got.TaskQueue != "q" {
				t.Errorf("id %q on queue %q, want id-1 on q", got.ID, got.TaskQueue)
			}
			if got.WorkflowIDConflictPolicy != tt.wantConflict || got.WorkflowIDReusePolicy != tt.wantReuse {
				t.Errorf("conflict %v, reuse %v; want %v, %v", got.WorkflowIDConflictPolicy, got.WorkflowIDReusePolicy, tt.wantConflict, tt.wantReuse)
			}
			if got.WorkflowExecutionErrorWhenAlreadyStarted != tt.wantError {
				t.Errorf("error when already started = %v, want %v", got.WorkflowExecutionErrorWhenAlreadyStarted, tt.wantError)
			}
			if once := got.RetryPolicy != nil && got.RetryPolicy.MaximumAttempts == 1; once != tt.wantOnce {
				t.Errorf("runs once = %v, want %v", once, tt.wantOnce)
			}
			if n := got.TypedSearchAttributes.Size(); n != tt.wantAttrs {
				t.Errorf("%d search attributes, want %d", n, tt.wantAttrs)
			}
		})
	}
}

func TestDailySearchAttributesNameModelAndDay(t *testing.T) {
	got, err := Starter{}.options(workflows.DailyRetrainWorkflow, "daily-m-2026-11-01", workflows.DailyInput{Model: "churn", Day: "2026-11-01"})
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	for k, v := range got.TypedSearchAttributes.GetUntypedValues() {
		vals = append(vals, k.GetName()+"="+v.(string))
	}
	joined := strings.Join(vals, " ")
	for _, want := range []string{workflows.SAModel + "=churn", workflows.SADay + "=2026-11-01"} {
		if !strings.Contains(joined, want) {
			t.Errorf("search attributes %q lack %q", joined, want)
		}
	}
}

func TestStartRefusesAWorkflowWithoutPolicy(t *testing.T) {
	if _, err := (Starter{}).options("Frobnicate", "x", nil); err == nil || !strings.Contains(err.Error(), "no start policy") {
		t.Errorf("options of an unknown workflow = %v, want an error naming the missing policy", err)
	}
}

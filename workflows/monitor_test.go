package workflows

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/promoflow/promoflow/drift"
	"github.com/promoflow/promoflow/internal/stacktest"
)

// TestMonitorDrift runs MonitorDrift against scripted activities and a real
// Rollback child (its activity scripted), from a healthy day to a rollback.
func TestMonitorDrift(t *testing.T) {
	now := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	breach := []drift.Breach{{Check: drift.CheckScorePSI, Value: 0.31, Limit: 0.25}}
	for _, tc := range []struct {
		name     string
		breaches []drift.Breach
		streak   int
		movedAt  time.Time
		// want
		rolledBack   bool
		skipped      bool
		askedMovedAt bool
		wantReason   string
	}{
		{name: "no breach", streak: 0},
		{name: "breach below K", breaches: breach, streak: 2},
		{name: "K breaches rolls back", breaches: breach, streak: 3, movedAt: now.Add(-30 * 24 * time.Hour),
			rolledBack: true, askedMovedAt: true, wantReason: "automatic: score_psi 0.31 over 0.25"},
		{name: "never moved rolls back", breaches: breach, streak: 4,
			rolledBack: true, askedMovedAt: true, wantReason: "automatic: score_psi 0.31 over 0.25"},
		{name: "cool-down", breaches: breach, streak: 5, movedAt: now.Add(-time.Hour), skipped: true, askedMovedAt: true},
		{name: "two checks in reason", streak: 3, movedAt: now.Add(-100 * time.Hour), rolledBack: true, askedMovedAt: true,
			breaches:   []drift.Breach{{Check: drift.CheckAUCDrop, Value: 0.08, Limit: 0.05}, {Check: drift.CheckDriftedShare, Value: 0.6, Limit: 0.5}},
			wantReason: "automatic: auc_drop 0.08 over 0.05; drifted_share 0.6 over 0.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.SetStartTime(now)
			env.RegisterWorkflowWithOptions(Rollback, workflow.RegisterOptions{Name: RollbackWorkflow})
			f := &monitorFakes{breaches: tc.breaches, streak: tc.streak, movedAt: tc.movedAt}
			f.register(env)
			env.ExecuteWorkflow(MonitorDrift, MonitorInput{Model: "m", Day: "2026-11-19"})
			if err := env.GetWorkflowError(); err != nil {
				t.Fatalf("workflow failed: %v", err)
			}
			var got MonitorResult
			if err := env.GetWorkflowResult(&got); err != nil {
				t.Fatal(err)
			}
			if f.recorded == nil || f.recorded.Report.Version != 7 || f.recorded.WorkflowID == "" {
				t.Errorf("recorded: got %+v, want the day's report with the workflow id", f.recorded)
			}
			if got.Streak != tc.streak || got.RolledBack != tc.rolledBack || (got.Skipped != "") != tc.skipped || f.askedMovedAt != tc.askedMovedAt {
				t.Errorf("got streak %d rolled back %v skipped %q asked moved-at %v, want %d %v skipped=%v %v",
					got.Streak, got.RolledBack, got.Skipped, f.askedMovedAt, tc.streak, tc.rolledBack, tc.skipped, tc.askedMovedAt)
			}
			if !tc.rolledBack {
				if len(f.rollbacks) != 0 {
					t.Errorf("rollbacks: got %+v, want none", f.rollbacks)
				}
				return
			}
			if len(f.rollbacks) != 1 {
				t.Fatalf("rollbacks: got %d, want 1", len(f.rollbacks))
			}
			rb := f.rollbacks[0]
			if rb.Actor != "monitor" || rb.Reason != tc.wantReason || rb.Model != "m" || rb.To != 0 {
				t.Errorf("rollback: got %+v, want actor monitor, reason %q, to previous", rb, tc.wantReason)
			}
			if got.Rollback == nil || got.Rollback.To != 6 {
				t.Errorf("result rollback: got %+v, want to v6", got.Rollback)
			}
		})
	}
}

// monitorFakes scripts MonitorDrift's activities for model m on 2026-11-19
// and the Rollback child's, and keeps what they were asked.
type monitorFakes struct {
	breaches []drift.Breach
	streak   int
	movedAt  time.Time

	recorded     *RecordDriftInput
	askedMovedAt bool
	rollbacks    []RollbackInput
}

func (f *monitorFakes) register(env *testsuite.TestWorkflowEnvironment) {
	reg := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(ActComputeDrift, func(ctx context.Context, in DriftInput) (DriftReport, error) {
		if in.Model != "m" || in.Day != "2026-11-19" {
			return DriftReport{}, errors.New("unexpected input")
		}
		return DriftReport{Model: "m", Day: in.Day, Version: 7, Breaches: f.breaches, Limits: drift.DefaultMonitorLimits()}, nil
	})
	reg(ActRecordDrift, func(ctx context.Context, in RecordDriftInput) (int, error) {
		f.recorded = &in
		return f.streak, nil
	})
	reg(ActProductionMovedAt, func(ctx context.Context, model string) (time.Time, error) {
		f.askedMovedAt = true
		return f.movedAt, nil
	})
	reg(ActRollback, func(ctx context.Context, in RollbackInput) (MoveResult, error) {
		f.rollbacks = append(f.rollbacks, in)
		return MoveResult{Alias: ProductionAlias, From: 7, To: 6}, nil
	})
}

// TestMonitorDriftComputeFails reports the failing step.
func TestMonitorDriftComputeFails(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivityWithOptions(func(ctx context.Context, in DriftInput) (DriftReport, error) {
		return DriftReport{}, temporal.NewNonRetryableApplicationError("no production version", "NoProduction", nil)
	}, activity.RegisterOptions{Name: ActComputeDrift})
	env.ExecuteWorkflow(MonitorDrift, MonitorInput{Model: "m", Day: "2026-11-19"})
	if err := env.GetWorkflowError(); err == nil {
		t.Fatal("workflow succeeded, want compute drift error")
	}
}

// TestMonitorDriftOnServer runs MonitorDrift with scripted activities on
// the real Temporal dev server through an automatic rollback, then replays
// the recorded history against the workflow code: a non-deterministic
// change fails here.
func TestMonitorDriftOnServer(t *testing.T) {
	addr := stacktest.TemporalAddress(t)
	tc, err := client.Dial(client.Options{HostPort: addr, Namespace: os.Getenv("PROMOFLOW_TEMPORAL_NAMESPACE"),
		Logger: log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatalf("dial temporal %s: %v", addr, err)
	}
	defer tc.Close()
	queue := stacktest.Unique("monitor-")
	w := worker.New(tc, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(MonitorDrift, workflow.RegisterOptions{Name: MonitorDriftWorkflow})
	w.RegisterWorkflowWithOptions(Rollback, workflow.RegisterOptions{Name: RollbackWorkflow})
	reg := func(name string, fn any) { w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(ActComputeDrift, func(ctx context.Context, in DriftInput) (DriftReport, error) {
		return DriftReport{Model: in.Model, Day: in.Day, Version: 7, Limits: drift.DefaultMonitorLimits(),
			Breaches: []drift.Breach{{Check: drift.CheckScorePSI, Value: 0.4, Limit: 0.25}}}, nil
	})
	reg(ActRecordDrift, func(ctx context.Context, in RecordDriftInput) (int, error) { return 3, nil })
	reg(ActProductionMovedAt, func(ctx context.Context, model string) (time.Time, error) {
		return time.Now().Add(-30 * 24 * time.Hour), nil
	})
	reg(ActRollback, func(ctx context.Context, in RollbackInput) (MoveResult, error) {
		return MoveResult{Alias: ProductionAlias, From: 7, To: 6}, nil
	})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := stacktest.Unique("monitor-test-")
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, MonitorDriftWorkflow, MonitorInput{Model: "m", Day: "2026-11-19"})
	if err != nil {
		t.Fatal(err)
	}
	var got MonitorResult
	if err := run.Get(ctx, &got); err != nil {
		t.Fatalf("MonitorDrift: %v", err)
	}
	if !got.RolledBack || got.Rollback == nil || got.Rollback.To != 6 {
		t.Fatalf("result: got %+v, want rolled back to v6", got)
	}

	var hist historypb.History
	it := tc.GetWorkflowHistory(ctx, id, run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(MonitorDrift, workflow.RegisterOptions{Name: MonitorDriftWorkflow})
	if err := r.ReplayWorkflowHistory(nil, &hist); err != nil {
		t.Fatalf("replay MonitorDrift: %v", err)
	}
}

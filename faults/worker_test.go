package faults

import (
	"context"
	"testing"
	"time"

	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/synth"
	"github.com/promoflow/promoflow/workflows"
)

// bigDays is enough data that training takes a few seconds on two cores,
// so a fault can land while TrainModel runs.
var bigDays = synth.Config{Rows: 300_000, Seed: 21, Days: 3}

// prepareDays lands bigDays and ingests and cleans the first two days
// (IngestDay workflows), so the DailyRetrain run of the last day spends
// its time in ingesting one day and training on three.
func prepareDays(t *testing.T, ctx context.Context, e *testEnv) (last string, rows map[string]int64) {
	t.Helper()
	start := time.Now()
	days, rows := e.land(t, bigDays)
	for _, d := range days[:len(days)-1] {
		run, err := e.tc.ExecuteWorkflow(ctx, startOpts(e, workflows.IngestWorkflowID(e.model, d)), workflows.IngestDayWorkflow,
			workflows.IngestDayInput{Model: e.model, Day: d})
		if err != nil {
			t.Fatalf("start IngestDay %s: %v", d, err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatalf("IngestDay %s: %v", d, err)
		}
	}
	t.Logf("landed %d days (%d rows) and ingested all but the last in %s", len(days), bigDays.Rows, time.Since(start).Round(time.Second))
	return days[len(days)-1], rows
}

// TestWorkerKilledMidTraining SIGKILLs the worker process while TrainModel
// runs and starts a new one: Temporal retries the activity once the
// heartbeat timeout (20 s, workflows.dataOpts) notices the dead worker,
// the run completes, and exactly one model version is registered.
func TestWorkerKilledMidTraining(t *testing.T) {
	requireFaultStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	e := newTestEnv(t, false)
	// A wide grid (12 C × 3 selection thresholds, then the refit) keeps
	// TrainModel busy for seconds, so the kill lands in it. Unweighted
	// classes keep the model calibrated enough for the gate.
	cfg := stacktest.ModelConfig(e.model, false)
	cfg["train"] = map[string]any{"seed": 7, "c": []float64{0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300},
		"balanced": []bool{false}, "select_thresholds": []float64{0, 0.005, 0.01}}
	stacktest.WriteConfig(t, e.env["PROMOFLOW_CONFIG_DIR"], e.model, cfg)
	w := e.startWorker(t)
	day, rows := prepareDays(t, ctx, e)

	t.Log("phase 1: run the last day and wait for the train step")
	run := e.startDaily(t, ctx, day)
	e.waitStep(t, ctx, run.GetID(), "train")
	// The step flips when the workflow schedules TrainModel; give the
	// worker a moment to load the window and start fitting.
	time.Sleep(700 * time.Millisecond)

	t.Log("phase 2: SIGKILL the worker mid-training")
	killedAt := time.Now()
	w.kill(t)

	t.Log("phase 3: start a new worker process; wait for the run")
	e.startWorker(t)
	var res workflows.DailyResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("run after the kill: %v", err)
	}
	t.Logf("run completed %s after the kill: version %d, promoted %v", time.Since(killedAt).Round(time.Second), res.Version, res.Promoted)

	t.Log("phase 4: check nothing was lost or duplicated")
	attempts := e.activityAttempts(t, ctx, run.GetID())
	t.Logf("activity attempts: %v", attempts)
	if attempts[workflows.ActTrainModel] < 2 {
		t.Errorf("TrainModel ran %d time(s), want a retry after the kill (did the kill miss training?)", attempts[workflows.ActTrainModel])
	}
	if got := e.versions(t); len(got) != 1 || got[0] != res.Version {
		t.Errorf("registered versions %v, want exactly [%d]", got, res.Version)
	}
	if !res.Promoted || res.Version != 1 {
		t.Errorf("result version %d promoted %v, want version 1 promoted", res.Version, res.Promoted)
	}
	if n, files := e.rawRows(t, day); n != rows[day] || files != 1 {
		t.Errorf("day %s: %d raw rows in %d files, want %d in 1", day, n, files, rows[day])
	}
	runs, err := e.store.ListRuns(ctx, e.model, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != "promoted" || runs[0].Version != 1 {
		t.Errorf("run history %+v, want one promoted run of version 1", runs)
	}
	audit, err := e.store.ListAudit(ctx, e.model)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].ToVersion != 1 {
		t.Errorf("audit log has %d entries %+v, want one move of production to 1", len(audit), audit)
	}
}

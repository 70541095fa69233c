package faults

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/synth"
	"github.com/promoflow/promoflow/workflows"
)

// outage is how long a server stays away in the MinIO test.
const outage = 30 * time.Second

// TestMinIOOutageDuringRegistrationAndAliasMove takes MinIO away for 30 s
// twice in one run: while TrainModel trains and registers, and while the
// approved version's alias move runs. Each time the activity fails, is
// retried, and finishes after MinIO returns; no partial version is ever
// visible and production moves exactly once.
func TestMinIOOutageDuringRegistrationAndAliasMove(t *testing.T) {
	fs := requireFaultStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e := newTestEnv(t, true)
	e.startWorker(t)
	day, _ := prepareDays(t, ctx, e)

	t.Log("phase 1: run the last day; stop MinIO for 30 s as training starts")
	run := e.startDaily(t, ctx, day)
	e.waitStep(t, ctx, run.GetID(), "train")
	fs.stop(t, "minio")
	time.Sleep(outage)
	fs.start(t, "minio")
	t.Log("  MinIO is back; waiting for the run to reach the approval step")
	e.waitStep(t, ctx, run.GetID(), "approval")
	if got := e.versions(t); len(got) != 1 || got[0] != 1 {
		t.Fatalf("versions after the first outage %v, want exactly [1]", got)
	}
	e.logPartialVersions(t, ctx)

	t.Log("phase 2: stop MinIO, approve, keep MinIO away for 30 s while the alias move retries")
	fs.stop(t, "minio")
	h, err := e.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), UpdateName: workflows.UpdateApprove, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{workflows.ApproveRequest{Version: 1, Actor: "ana", Reason: "approved during a MinIO outage"}},
	})
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	if err := h.Get(ctx, nil); err != nil {
		t.Fatalf("approve: %v", err)
	}
	time.Sleep(outage)
	fs.start(t, "minio")
	backAt := time.Now()

	var res workflows.DailyResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("run completed %s after MinIO returned: version %d promoted %v", time.Since(backAt).Round(time.Second), res.Version, res.Promoted)

	t.Log("phase 3: check the registry, the alias history and the audit log")
	attempts := e.activityAttempts(t, ctx, run.GetID())
	t.Logf("activity attempts: %v", attempts)
	if attempts[workflows.ActTrainModel] < 2 || attempts[workflows.ActMoveAlias] < 2 {
		t.Errorf("TrainModel ran %d and MoveAlias %d time(s); want both retried across an outage",
			attempts[workflows.ActTrainModel], attempts[workflows.ActMoveAlias])
	}
	if got := e.versions(t); len(got) != 1 || got[0] != 1 {
		t.Errorf("versions %v, want exactly [1]", got)
	}
	hist, err := e.reg.History(ctx, e.model, registry.Production)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Version != 1 || hist[0].MovedBy != "ana" {
		t.Errorf("production history %+v, want one move to 1 by ana", hist)
	}
	audit, err := e.store.ListAudit(ctx, e.model)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].Actor != "ana" || audit[0].ToVersion != 1 {
		t.Errorf("audit log %+v, want one move to 1 by ana", audit)
	}
}

// logPartialVersions lists version folders without a manifest: claims
// that never completed. They hold a number but are never listed as
// versions, so they are not visible to readers.
func (e *testEnv) logPartialVersions(t *testing.T, ctx context.Context) {
	t.Helper()
	prefix := "models/" + e.model + "/versions/"
	folders := map[string]bool{}
	for obj := range e.mc.ListObjects(ctx, e.env["PROMOFLOW_MINIO_BUCKET"], minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatalf("list %s: %v", prefix, obj.Err)
		}
		folder, name, _ := strings.Cut(strings.TrimPrefix(obj.Key, prefix), "/")
		folders[folder] = folders[folder] || name == "manifest.json"
	}
	for f, committed := range folders {
		if !committed {
			t.Logf("  version folder %s has no manifest (an unfinished claim; not listed)", f)
		}
	}
}

// TestPostgresRestartMidCopy restarts PostgreSQL while an ingest COPY of a
// 300,000-row file runs: the COPY's transaction is lost, IngestFile is
// retried from the top, and the day holds exactly the file's rows, once.
func TestPostgresRestartMidCopy(t *testing.T) {
	fs := requireFaultStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	e := newTestEnv(t, false)
	e.startWorker(t)
	days, rows := e.land(t, synth.Config{Rows: 300_000, Seed: 33, Days: 1})
	day := days[0]

	t.Log("phase 1: ingest the day; wait until the COPY has written rows")
	run, err := e.tc.ExecuteWorkflow(ctx, startOpts(e, workflows.IngestWorkflowID(e.model, day)), workflows.IngestDayWorkflow,
		workflows.IngestDayInput{Model: e.model, Day: day})
	if err != nil {
		t.Fatal(err)
	}
	copied := e.waitCopy(t, ctx, 20_000)
	t.Logf("  COPY in progress: %d rows sent", copied)

	t.Log("phase 2: restart PostgreSQL")
	fs.stop(t, "pg")
	fs.start(t, "pg")

	t.Log("phase 3: wait for the ingest and count")
	var res workflows.IngestDayResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("IngestDay after the restart: %v", err)
	}
	attempts := e.activityAttempts(t, ctx, run.GetID())
	t.Logf("ingest: %s; clean: %d in; activity attempts %v", res.Ingest, res.Clean.RowsIn, attempts)
	if attempts[workflows.ActIngestFile] < 2 {
		t.Errorf("IngestFile ran %d time(s), want a retry after the restart", attempts[workflows.ActIngestFile])
	}
	n, files := e.rawRows(t, day)
	if n != rows[day] || files != 1 || res.Ingest.Rows != rows[day] || res.Clean.RowsIn != rows[day] {
		t.Errorf("raw rows %d in %d files, ingest reported %d, clean saw %d; want exactly %d rows in 1 file",
			n, files, res.Ingest.Rows, res.Clean.RowsIn, rows[day])
	}
	var dup int64
	if err := e.pool.QueryRow(ctx, `SELECT count(*) - count(DISTINCT line) FROM raw_rows WHERE source = $1`, e.model).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Errorf("%d duplicated lines in raw_rows", dup)
	}
}

// waitCopy polls pg_stat_progress_copy until a COPY into raw_rows has sent
// at least min rows, and returns how many it had.
func (e *testEnv) waitCopy(t *testing.T, ctx context.Context, min int64) int64 {
	t.Helper()
	for {
		var n int64
		err := e.pool.QueryRow(ctx, `SELECT COALESCE(max(p.tuples_processed), 0) FROM pg_stat_progress_copy p
			WHERE p.relid = 'raw_rows'::regclass`).Scan(&n)
		if err != nil {
			t.Fatalf("poll COPY progress: %v", err)
		}
		if n >= min {
			return n
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no COPY of %d rows seen: %v", min, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestTemporalRestartMidRun restarts the Temporal dev server while
// DailyRetrain trains: the run's state is in the server's sqlite file, the
// worker and the client reconnect, and the run completes with one version.
func TestTemporalRestartMidRun(t *testing.T) {
	fs := requireFaultStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	e := newTestEnv(t, false)
	e.startWorker(t)
	day, rows := prepareDays(t, ctx, e)

	t.Log("phase 1: run the last day and wait for the train step")
	run := e.startDaily(t, ctx, day)
	e.waitStep(t, ctx, run.GetID(), "train")

	t.Log("phase 2: restart the Temporal dev server")
	fs.stop(t, "temporal")
	fs.start(t, "temporal")
	backAt := time.Now()

	t.Log("phase 3: wait for the run through the reconnected client")
	var res workflows.DailyResult
	for {
		err := e.tc.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &res)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("run after the restart: %v", err)
		}
		var failed *temporal.WorkflowExecutionError
		if errors.As(err, &failed) {
			t.Fatalf("run failed after the restart: %v", err)
		}
		t.Logf("  waiting for the result: %v", err)
		time.Sleep(time.Second)
	}
	t.Logf("run completed %s after the restart: version %d promoted %v", time.Since(backAt).Round(time.Second), res.Version, res.Promoted)
	t.Logf("activity attempts: %v", e.activityAttempts(t, ctx, run.GetID()))
	if !res.Promoted || res.Version != 1 {
		t.Errorf("result version %d promoted %v, want version 1 promoted", res.Version, res.Promoted)
	}
	if got := e.versions(t); len(got) != 1 || got[0] != 1 {
		t.Errorf("versions %v, want exactly [1]", got)
	}
	if n, files := e.rawRows(t, day); n != rows[day] || files != 1 {
		t.Errorf("day %s: %d raw rows in %d files, want %d in 1", day, n, files, rows[day])
	}
	runs, err := e.store.ListRuns(ctx, e.model, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != "promoted" {
		t.Errorf("run history %+v, want one promoted run", runs)
	}
}

package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/promoflow/promoflow/store"
)

func TestRecordAuditIsIdempotent(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	e := store.AuditEntry{Actor: "ana", Action: "promote", Model: "uplift", Alias: "production",
		FromVersion: 3, ToVersion: 4, Reason: "better AUC", WorkflowID: "wf-1", MoveID: "wf-1/act-7",
		Detail: json.RawMessage(`{"auc": 0.71}`)}
	for i, want := range []bool{true, false} {
		got, err := s.RecordAudit(ctx, e)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if got != want {
			t.Errorf("record %d inserted = %v, want %v", i, got, want)
		}
	}
	if _, err := s.RecordAudit(ctx, store.AuditEntry{Actor: "bo", Action: "rollback", Model: "other", MoveID: "m2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordAudit(ctx, store.AuditEntry{Action: "promote", Model: "uplift"}); err == nil {
		t.Error("an entry without a move id was recorded")
	}
	got, err := s.ListAudit(ctx, "uplift")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("audit of uplift has %d entries, want 1", len(got))
	}
	g := got[0]
	if g.Actor != "ana" || g.FromVersion != 3 || g.ToVersion != 4 || g.MoveID != "wf-1/act-7" || g.At.IsZero() || g.ID == 0 {
		t.Errorf("entry = %+v, want the recorded one", g)
	}
	var detail map[string]float64
	if err := json.Unmarshal(g.Detail, &detail); err != nil || detail["auc"] != 0.71 {
		t.Errorf("detail = %s (%v), want auc 0.71", g.Detail, err)
	}
	all, err := s.ListAudit(ctx, "")
	if err != nil || len(all) != 2 || all[1].FromVersion != 0 {
		t.Errorf("whole audit log = %+v, %v; want 2 entries, the second without versions", all, err)
	}
}

func TestUpsertAndListRuns(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	r := store.Run{WorkflowID: "daily-uplift-2026-03-02", RunID: "r1", Model: "uplift", Day: day1, Status: "running", StartedAt: t0}
	if err := s.UpsertRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Status, r.Steps, r.FinishedAt = "succeeded", json.RawMessage(`[{"name":"ingest","status":"done"}]`), t0.Add(time.Hour)
	if err := s.UpsertRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertRun(ctx, store.Run{WorkflowID: "daily-uplift-2026-03-03", RunID: "r1", Model: "uplift", Day: day1.AddDate(0, 0, 1), Status: "running", StartedAt: t0.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	runs, err := s.ListRuns(ctx, "uplift", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	if runs[0].WorkflowID != "daily-uplift-2026-03-03" || !runs[0].FinishedAt.IsZero() {
		t.Errorf("newest run = %+v, want the unfinished 03-03 run", runs[0])
	}
	old := runs[1]
	if old.Status != "succeeded" || !old.FinishedAt.Equal(t0.Add(time.Hour)) || !old.Day.Equal(day1) || string(old.Steps) != `[{"name": "ingest", "status": "done"}]` {
		t.Errorf("updated run = %+v steps %s, want succeeded, finished an hour after start, with its steps", old, old.Steps)
	}
	if one, err := s.ListRuns(ctx, "", 1); err != nil || len(one) != 1 {
		t.Errorf("runs limited to 1: %v, %v", one, err)
	}
}

package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/promoflow/promoflow/store"
)

// TestDriftStreak records a run of checks and counts the consecutive
// breached ones ending at each day.
func TestDriftStreak(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	day := func(d int) time.Time { return time.Date(2026, 6, d, 0, 0, 0, 0, time.UTC) }
	// days 1..6: ok, breach, breach, (no check on 4), breach, ok — and day 7 breach
	for d, breached := range map[int]bool{1: false, 2: true, 3: true, 5: true, 6: false, 7: true} {
		c := store.DriftCheck{Model: "m", Day: day(d), Version: 1, Rows: 10, Breached: breached,
			Breaches: json.RawMessage(`[]`), Realised: json.RawMessage(`{"AUC":0.7}`)}
		ks := 0.2
		if err := s.RecordDrift(ctx, c, []store.DriftFeature{
			{Feature: "x", Kind: "numeric", PSI: 0.3, KSStat: &ks, KSP: &ks, JS: 0.1, Severity: "act", Drifted: true},
			{Feature: "score", Kind: "score", PSI: 0.01, Severity: "ok"},
		}); err != nil {
			t.Fatal(err)
		}
	}
	other := store.DriftCheck{Model: "other", Day: day(6), Version: 1, Breached: true}
	if err := s.RecordDrift(ctx, other, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ day, want int }{
		{1, 0}, {2, 1}, {3, 2}, {4, 2}, {5, 3}, {6, 0}, {7, 1}, {30, 1},
	} {
		got, err := s.DriftStreak(ctx, "m", day(tc.day))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("streak up to day %d: got %d, want %d", tc.day, got, tc.want)
		}
	}
	// Re-recording a day replaces it: day 6 now breached joins the run.
	if err := s.RecordDrift(ctx, store.DriftCheck{Model: "m", Day: day(6), Version: 1, Breached: true}, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.DriftStreak(ctx, "m", day(7)); got != 5 {
		t.Errorf("streak after re-record: got %d, want 5", got)
	}
	checks, err := s.DriftChecks(ctx, "m", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 2 || !checks[0].Day.Equal(day(7)) || string(checks[0].Realised) != `{"AUC": 0.7}` {
		t.Errorf("latest checks: got %+v, want days 7 and 6 with realised metrics", checks)
	}
	fs, err := s.DriftFeatures(ctx, "m", day(7))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].Feature != "x" || fs[1].Feature != "score" || fs[0].KSStat == nil || fs[1].KSStat != nil {
		t.Errorf("features: got %+v, want x with KS then score without", fs)
	}
	if fs6, _ := s.DriftFeatures(ctx, "m", day(6)); len(fs6) != 0 {
		t.Errorf("re-recorded day kept %d old features, want 0", len(fs6))
	}
}

package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/synth"
)

// TestScheduleBackfill creates a model's daily schedule, pauses it so only
// the backfill runs, backfills three landed days and checks that they ran
// in order, each its own version, with the day taken from the schedule.
func TestScheduleBackfill(t *testing.T) {
	model := startStack(t, false)
	cfg := control.FromEnv()
	mc, err := cfg.MinIO()
	if err != nil {
		t.Fatal(err)
	}
	files, err := synth.WriteDays(t.TempDir(), synth.Config{Rows: 4500, Seed: 9, Days: 3})
	if err != nil {
		t.Fatal(err)
	}
	var days []string
	for _, f := range files {
		day := filepath.Base(filepath.Dir(f))
		days = append(days, day)
		if _, err := mc.FPutObject(context.Background(), cfg.Bucket, "landing/"+model+"/"+day+"/part-0.csv", f, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		start, done, err := dialStarter(&cfg)
		if err != nil {
			return
		}
		defer done()
		for _, kind := range []string{control.ScheduleDaily, control.ScheduleMonitor} {
			_ = start.DeleteSchedule(context.Background(), control.ScheduleID(kind, model))
		}
	})
	runCases(t, []cmdCase{
		{[]string{"schedule", "create", model, "--cron", "0 6 * * *", "--tz", "Europe/Berlin"}, 0, []string{"overlap skip"}},
		{[]string{"schedule", "create", model}, 1, []string{"already exists"}},
		{[]string{"schedule", "pause", model, "--note", "backfill only"}, 0, nil},
		{[]string{"schedule", "ls"}, 0, []string{control.ScheduleID("daily", model), "true", "backfill only"}},
		{[]string{"schedule", "backfill", model, "--from", days[0], "--to", days[2]}, 0, []string{"in order"}},
		{[]string{"schedule", "backfill", model, "--from", days[2], "--to", days[0]}, 1, []string{"from <= to"}},
		{[]string{"schedule", "create", model + "x", "--tz", "Mars/Olympus"}, 1, []string{"--tz"}},
		{[]string{"schedule", "create", model, "--kind", "monitor", "--cron", "0 9 * * *"}, 0, []string{control.ScheduleID("monitor", model), "overlap skip"}},
		{[]string{"schedule", "create", model, "--kind", "nightly"}, 2, nil},
		{[]string{"schedule", "frobnicate", model}, 2, nil},
		{[]string{"schedule", "-h"}, 0, nil},
	})

	// The three runs land as three versions, in day order.
	reg, err := cfg.Registry()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ms, err := reg.Versions(context.Background(), model)
		if err == nil && len(ms) == 3 {
			for i, m := range ms {
				if m.DataWindow.To != days[i] {
					t.Errorf("version %d trained up to %s, want %s (backfill out of order or wrong day)", m.Version, m.DataWindow.To, days[i])
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backfill produced %d versions in 3 minutes, want 3 (err %v)", len(ms), err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

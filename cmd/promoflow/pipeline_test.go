package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/synth"
	"github.com/promoflow/promoflow/worker"
)

// startStack points the environment at a fresh schema, bucket, task queue
// and config folder on the real stack, runs a worker there, and returns
// the name of a configured model on synth's data.
func startStack(t *testing.T, approval bool) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	model := stacktest.Unique("cli-")
	mc := stacktest.MinIO(t)
	t.Setenv("PROMOFLOW_TEMPORAL_ADDRESS", stacktest.TemporalAddress(t))
	t.Setenv("PROMOFLOW_PG_URL", stacktest.PGURL(t))
	t.Setenv("PROMOFLOW_MINIO_BUCKET", stacktest.Bucket(t, mc))
	t.Setenv("PROMOFLOW_TASK_QUEUE", stacktest.Unique("cli-queue-"))
	t.Setenv("PROMOFLOW_CONFIG_DIR", t.TempDir())
	t.Setenv("PROMOFLOW_METRICS_ADDR", "")
	t.Setenv("PROMOFLOW_ACTOR", "")
	stacktest.WriteModelConfig(t, control.FromEnv().ConfigDir, model, approval)

	ctx, cancel := context.WithCancel(context.Background())
	cfg := control.FromEnv()
	clients, closeClients, err := worker.Dial(ctx, cfg, nil)
	if err != nil {
		cancel()
		t.Fatalf("dial the worker's clients: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- worker.RunWorker(ctx, cfg, clients) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
		closeClients()
	})
	return model
}

// TestPipelineCommands drives the people-facing commands against a real
// worker on the real stack: ingest a local file, run two days, promote by
// hand through the gate, refuse a promotion without a reason, roll back,
// and read the run history and the audit log.
func TestPipelineCommands(t *testing.T) {
	model := startStack(t, false)
	files, err := synth.WriteDays(t.TempDir(), synth.Config{Rows: 4000, Seed: 3, Days: 2})
	if err != nil {
		t.Fatal(err)
	}
	day := func(i int) string { return filepath.Base(filepath.Dir(files[i])) }

	phase1 := []cmdCase{
		{[]string{"ingest", "--source", model, "--day", day(0), "--file", files[0]}, 0, []string{"1 files, 2000 rows", "= 2000 clean + 0 quarantined"}},
		{[]string{"ingest", "--source", model, "--day", day(0), "--file", files[0]}, 0, []string{"(1 files already ingested)"}},
		{[]string{"ingest", "--source", model, "--day", day(1), "--file", files[1]}, 0, []string{"2000 rows"}},
		{[]string{"run", model, "--day", day(0)}, 0, []string{"version 1, promoted true", "promote   ok"}},
		{[]string{"run", model, "--day", day(1), "--json"}, 0, []string{`"Version": 2`, `"production": 1`, `"auc_vs_production"`}},
		{[]string{"promote", model, "--version", "2"}, 2, nil},
		{[]string{"run", model, "--day", "2026-13-01"}, 1, []string{"want yyyy-mm-dd"}},
		{[]string{"ingest", "--source", "nosuchsource", "--day", day(0)}, 1, []string{"no configuration"}},
	}
	runCases(t, phase1)

	// Day 2 may or may not have passed the gate; a person now forces the
	// other version in and rolls it back.
	reg, err := control.FromEnv().Registry()
	if err != nil {
		t.Fatal(err)
	}
	prod, err := reg.Resolve(context.Background(), model, registry.Production)
	if err != nil {
		t.Fatal(err)
	}
	other := fmt.Sprint(3 - prod)
	runCases(t, []cmdCase{
		{[]string{"promote", model, "--version", other, "--reason", "weekend campaign", "--force", "--actor", "ana"}, 0, []string{fmt.Sprintf("production %d → %s (by ana: weekend campaign)", prod, other)}},
		{[]string{"rollback", model, "--reason", "conversions fell", "--actor", "ben"}, 0, []string{fmt.Sprintf("production %s → %d (by ben: conversions fell)", other, prod)}},
		{[]string{"runs", "ls", model}, 0, []string{day(0), day(1), "promoted"}},
		{[]string{"score", model, "--day", day(1), "--partitions", "2"}, 0, []string{"2000 customers scored with v" + fmt.Sprint(prod), "in 2 partitions (2000 rows written)"}},
		{[]string{"audit", model}, 0, []string{"forced: weekend campaign", "ana", "rollback", "ben", "conversions fell", "schedule"}},
	})
}

// cmdCase is one command line with the exit code and output it must give.
type cmdCase struct {
	args     []string
	wantCode int
	want     []string
}

// runCases runs command lines in order, each its own subtest.
func runCases(t *testing.T, tests []cmdCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer rcancel()
			var stdout, stderr bytes.Buffer
			code := run(rctx, tt.args, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; output:\n%s", code, tt.wantCode, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

package worker

import (
	"context"
	"testing"
	"time"

	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/internal/stacktest"
)

// TestWorkerRunsStackCheck starts the real worker against the real dev
// server, PostgreSQL and MinIO, and runs a workflow through it.
func TestWorkerRunsStackCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cfg := control.FromEnv()
	cfg.TemporalAddress = stacktest.TemporalAddress(t)
	cfg.PGURL = stacktest.PGURL(t)
	mc := stacktest.MinIO(t)
	cfg.Bucket = stacktest.Bucket(t, mc)
	cfg.TaskQueue = stacktest.Unique("test-queue-")
	cfg.MetricsAddr = "127.0.0.1:0"

	startWorker(t, cfg)

	tc, err := cfg.Temporal()
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	runCtx, runCancel := context.WithTimeout(context.Background(), time.Minute)
	defer runCancel()
	rep, err := control.Starter{Temporal: tc, TaskQueue: cfg.TaskQueue}.StackCheck(runCtx, stacktest.Unique("stack-check-"))
	if err != nil {
		t.Fatalf("StackCheck: %v", err)
	}
	if rep.PostgresVersion == "" {
		t.Errorf("PostgresVersion is empty; want the server's version")
	}
	if !rep.BucketExists || rep.Bucket != cfg.Bucket {
		t.Errorf("bucket report = %q exists=%v; want %q exists=true", rep.Bucket, rep.BucketExists, cfg.Bucket)
	}
	if rep.CheckedAt.IsZero() {
		t.Errorf("CheckedAt is zero; want workflow time")
	}
}

// startWorker dials the clients cfg names and runs a worker on them until
// the test ends, failing the test when it could not run.
func startWorker(t *testing.T, cfg control.Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	clients, closeClients, err := Dial(ctx, cfg, nil)
	if err != nil {
		cancel()
		t.Fatalf("dial the worker's clients: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- RunWorker(ctx, cfg, clients) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
		closeClients()
	})
}

package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/promoflow/promoflow/activities"
	"github.com/promoflow/promoflow/workflows"
)

// RunWorker connects to the servers, registers every workflow and activity
// on the task queue, serves /metrics, and runs until ctx is done.
func RunWorker(ctx context.Context, cfg Config, log *slog.Logger) error {
	pool, err := cfg.Postgres(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	mc, err := cfg.MinIO()
	if err != nil {
		return err
	}
	if err := ensureBucket(ctx, mc, cfg.Bucket); err != nil {
		return err
	}
	tc, err := cfg.Temporal()
	if err != nil {
		return err
	}
	defer tc.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	stopMetrics, err := serveMetrics(cfg.MetricsAddr, reg, log)
	if err != nil {
		return err
	}
	defer stopMetrics()

	w := sdkworker.New(tc, cfg.TaskQueue, sdkworker.Options{})
	register(w, &activities.Health{DB: pool, MinIO: mc, Bucket: cfg.Bucket})
	log.Info("worker started", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress, "metrics", cfg.MetricsAddr)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on %s: %w", cfg.TaskQueue, err)
	}
	<-ctx.Done()
	w.Stop()
	log.Info("worker stopped")
	return nil
}

// register puts every workflow and activity on the worker, by name, so a
// workflow and the activities it calls always agree on names.
func register(w sdkworker.Registry, health *activities.Health) {
	w.RegisterWorkflowWithOptions(workflows.StackCheck, workflow.RegisterOptions{Name: "StackCheck"})
	w.RegisterActivityWithOptions(health.CheckStack, activity.RegisterOptions{Name: "CheckStack"})
}

func ensureBucket(ctx context.Context, mc *minio.Client, bucket string) error {
	ok, err := mc.BucketExists(ctx, bucket)
	if err != nil {
		return fmt.Errorf("check bucket %s: %w", bucket, err)
	}
	if ok {
		return nil
	}
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == "BucketAlreadyOwnedByYou" {
			return nil
		}
		return fmt.Errorf("make bucket %s: %w", bucket, err)
	}
	return nil
}

// serveMetrics serves reg on addr in the background; an empty addr disables it.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// StartStackCheck runs the StackCheck workflow and waits for its report.
func StartStackCheck(ctx context.Context, tc client.Client, taskQueue, id string) (workflows.StackReport, error) {
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue}, "StackCheck")
	if err != nil {
		return workflows.StackReport{}, fmt.Errorf("start StackCheck %s: %w", id, err)
	}
	var rep workflows.StackReport
	if err := run.Get(ctx, &rep); err != nil {
		return rep, fmt.Errorf("StackCheck %s: %w", id, err)
	}
	return rep, nil
}

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
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/promoflow/promoflow/activities"
	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/drift"
	"github.com/promoflow/promoflow/metrics"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
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
	promReg := prometheus.NewRegistry()
	promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	met := metrics.New(promReg)
	tc, err := cfg.temporal(log, metrics.NewTemporalHandler(promReg))
	if err != nil {
		return err
	}
	defer tc.Close()
	stopMetrics, err := serveMetrics(cfg.MetricsAddr, promReg, log)
	if err != nil {
		return err
	}
	defer stopMetrics()

	st := store.New(pool)
	if _, err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	reg := registry.New(mc, cfg.Bucket, registry.WithAuditor(auditLog{st, met}))
	models := func(name string) (config.Model, error) { return config.Load(cfg.ConfigDir, name) }
	// An empty identity (the code cannot be named) bypasses the training cache.
	codeID, _ := CodeIdentity()
	w := sdkworker.New(tc, cfg.TaskQueue, sdkworker.Options{Interceptors: []interceptor.WorkerInterceptor{met.Interceptor()}})
	register(w, activitySet{
		health: &activities.Health{DB: pool, MinIO: mc, Bucket: cfg.Bucket},
		ingest: &activities.Ingest{
			Store: st, MinIO: mc, Bucket: cfg.Bucket, LocalDir: cfg.LandingDir, Metrics: met,
			Columns: func(source string) ([]string, error) {
				m, err := config.ForSource(cfg.ConfigDir, source)
				return m.Schema().Names(), err
			},
		},
		clean: &activities.Clean{
			Store: st, Metrics: met,
			Config: func(model string) (clean.Config, error) {
				m, err := models(model)
				return m.Clean, err
			},
		},
		plan: &activities.Plan{Config: models},
		train: &activities.Train{
			Store: st, Registry: reg, Config: models, CodeVersion: cfg.CodeVersion, CodeIdentity: codeID,
		},
		validate: &activities.Validate{Store: st, Registry: reg, Config: models},
		aliases:  &activities.Aliases{Registry: reg},
		runs:     &activities.Runs{Store: st, Metrics: met},
		reports:  &activities.Reports{Store: st, Registry: reg, Config: models},
		scoring:  &activities.Scoring{Store: st, Registry: reg},
		drift: &activities.Drift{
			Store: st, Registry: reg, Config: models, Metrics: met,
			Limits: func(model string) (drift.MonitorLimits, error) {
				m, err := models(model)
				return m.Monitor, err
			},
		},
	})
	log.Info("worker started", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress, "metrics", cfg.MetricsAddr)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on %s: %w", cfg.TaskQueue, err)
	}
	<-ctx.Done()
	w.Stop()
	log.Info("worker stopped")
	return nil
}

// activitySet is every activity group a worker runs.
type activitySet struct {
	health   *activities.Health
	ingest   *activities.Ingest
	clean    *activities.Clean
	plan     *activities.Plan
	train    *activities.Train
	validate *activities.Validate
	aliases  *activities.Aliases
	runs     *activities.Runs
	reports  *activities.Reports
	scoring  *activities.Scoring
	drift    *activities.Drift
}

// register puts every workflow and activity on the worker, by name, so a
// workflow and the activities it calls always agree on names.
func register(w sdkworker.Registry, a activitySet) {
	for name, wf := range map[string]any{
		"StackCheck":   workflows.StackCheck,
		"DailyRetrain": workflows.DailyRetrain,
		"IngestDay":    workflows.IngestDay,
		"MonitorDrift": workflows.MonitorDrift,
		"ScoreDay":     workflows.ScoreDay,
		"Promote":      workflows.Promote,
		"Rollback":     workflows.Rollback,
	} {
		w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: name})
	}
	for name, act := range map[string]any{
		"CheckStack":                   a.health.CheckStack,
		workflows.ActListLanding:       a.ingest.ListLanding,
		workflows.ActIngestFile:        a.ingest.IngestFile,
		workflows.ActCleanDay:          a.clean.CleanDay,
		workflows.ActLoadPlan:          a.plan.LoadPlan,
		workflows.ActTrainModel:        a.train.TrainModel,
		workflows.ActValidate:          a.validate.ValidateModel,
		workflows.ActMoveAlias:         a.aliases.MoveAlias,
		workflows.ActRollback:          a.aliases.RollbackAlias,
		workflows.ActRecordRun:         a.runs.RecordRun,
		workflows.ActFindRun:           a.runs.FindFinishedRun,
		workflows.ActScorePartition:    a.scoring.ScorePartition,
		workflows.ActResolveAlias:      a.aliases.ResolveAlias,
		workflows.ActWriteReport:       a.reports.WriteReport,
		workflows.ActComputeDrift:      a.drift.ComputeDrift,
		workflows.ActRecordDrift:       a.drift.RecordDrift,
		workflows.ActProductionMovedAt: a.drift.ProductionMovedAt,
	} {
		w.RegisterActivityWithOptions(act, activity.RegisterOptions{Name: name})
	}
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

// Package worker is the promoflow worker's one home: the registration of
// every workflow and activity on one task queue, the adapter that audits
// the registry's alias moves, and RunWorker, which runs them on the
// clients it is given. `promoflow worker` dials those clients with Dial.
// The Temporal SDK's worker package is imported here as sdkworker.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/promoflow/promoflow/activities"
	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/drift"
	"github.com/promoflow/promoflow/metrics"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
)

// Clients are the connections a worker runs on. Whoever dialled them
// closes them.
type Clients struct {
	Temporal client.Client
	// DB is the PostgreSQL pool Store runs on (the stack check asks it
	// for the server's version).
	DB    *pgxpool.Pool
	Store *store.Store
	// MinIO holds the landing files and Registry's bucket.
	MinIO    *minio.Client
	Registry *registry.Registry
	// Metrics are the worker's own series; Prometheus gathers them with
	// the Temporal SDK's and the process's for /metrics.
	Metrics    *metrics.Metrics
	Prometheus *prometheus.Registry
	// Log receives the worker's own messages; nil discards them.
	Log *slog.Logger
}

// Dial connects everything a worker needs as cfg says: PostgreSQL, MinIO,
// the registry (auditing its moves in PostgreSQL) and Temporal (reporting
// the SDK's metrics), with log for the SDK's and the worker's messages.
// The returned func closes them.
func Dial(ctx context.Context, cfg control.Config, log *slog.Logger) (Clients, func(), error) {
	log = orDiscard(log)
	c := Clients{Log: log, Prometheus: prometheus.NewRegistry()}
	c.Prometheus.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c.Metrics = metrics.New(c.Prometheus)
	var err error
	if c.DB, err = cfg.Postgres(ctx); err != nil {
		return Clients{}, nil, err
	}
	if c.MinIO, err = cfg.MinIO(); err != nil {
		c.DB.Close()
		return Clients{}, nil, err
	}
	c.Store = store.New(c.DB)
	c.Registry = registry.New(c.MinIO, cfg.Bucket, registry.WithAuditor(auditLog{c.Store, c.Metrics}))
	if c.Temporal, err = cfg.DialTemporal(log, metrics.NewTemporalHandler(c.Prometheus)); err != nil {
		c.DB.Close()
		return Clients{}, nil, err
	}
	return c, func() {
		c.Temporal.Close()
		c.DB.Close()
	}, nil
}

// RunWorker migrates the database, makes sure the bucket exists, registers
// every workflow and activity on cfg.TaskQueue, serves /metrics on
// cfg.MetricsAddr, and runs until ctx is done.
func RunWorker(ctx context.Context, cfg control.Config, c Clients) error {
	log := orDiscard(c.Log)
	if err := c.Registry.EnsureBucket(ctx); err != nil {
		return err
	}
	if _, err := c.Store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	stopMetrics, err := serveMetrics(cfg.MetricsAddr, c.Prometheus, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	w := sdkworker.New(c.Temporal, cfg.TaskQueue, sdkworker.Options{Interceptors: []interceptor.WorkerInterceptor{c.Metrics.Interceptor()}})
	register(w, newActivitySet(cfg, c))
	log.Info("worker started", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress, "metrics", cfg.MetricsAddr)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on %s: %w", cfg.TaskQueue, err)
	}
	<-ctx.Done()
	w.Stop()
	log.Info("worker stopped")
	return nil
}

// newActivitySet builds every activity group on the clients, reading each
// model's configuration from cfg.ConfigDir when it is needed.
func newActivitySet(cfg control.Config, c Clients) activitySet {
	models := func(name string) (config.Model, error) { return config.Load(cfg.ConfigDir, name) }
	// An empty identity (the code cannot be named) bypasses the training cache.
	codeID, _ := control.CodeIdentity()
	return activitySet{
		health: &activities.Health{DB: c.DB, MinIO: c.MinIO, Bucket: cfg.Bucket},
		ingest: &activities.Ingest{
			Store: c.Store, MinIO: c.MinIO, Bucket: cfg.Bucket, LocalDir: cfg.LandingDir, Metrics: c.Metrics,
			Columns: func(source string) ([]string, error) {
				m, err := config.ForSource(cfg.ConfigDir, source)
				return m.Schema().Names(), err
			},
		},
		clean: &activities.Clean{
			Store: c.Store, Metrics: c.Metrics,
			Config: func(model string) (clean.Config, error) {
				m, err := models(model)
				return m.Clean, err
			},
		},
		plan: &activities.Plan{Config: models},
		train: &activities.Train{
			Store: c.Store, Registry: c.Registry, Config: models, CodeVersion: cfg.CodeVersion, CodeIdentity: codeID,
		},
		validate: &activities.Validate{Store: c.Store, Registry: c.Registry, Config: models},
		aliases:  &activities.Aliases{Registry: c.Registry},
		runs:     &activities.Runs{Store: c.Store, Metrics: c.Metrics},
		reports:  &activities.Reports{Store: c.Store, Registry: c.Registry, Config: models},
		scoring:  &activities.Scoring{Store: c.Store, Registry: c.Registry},
		drift: &activities.Drift{
			Store: c.Store, Registry: c.Registry, Config: models, Metrics: c.Metrics,
			Limits: func(model string) (drift.MonitorLimits, error) {
				m, err := models(model)
				return m.Monitor, err
			},
		},
	}
}

// orDiscard is log, or a logger that discards everything when log is nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
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

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/serve"
	"github.com/promoflow/promoflow/store"
)

func init() {
	register(&command{name: "serve", summary: "HTTP scoring service following each model's production alias", run: runServe})
}

func runServe(ctx context.Context, args []string, stdout io.Writer) error {
	cfg := control.FromEnv()
	fs := newFlagSet("serve", "--models m1,m2 [--addr host:port] [flags]")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	models := fs.String("models", "", "comma-separated models to serve (required)")
	poll := fs.Duration("poll", 10*time.Second, "how often to read the production alias")
	maxBody := fs.Int64("max-body", 1<<20, "largest request body in bytes")
	sample := fs.Float64("log-sample", 1, "fraction of scored requests logged to PostgreSQL")
	noLog := fs.Bool("no-log", false, "do not log scored requests (no PostgreSQL needed)")
	people := fs.Bool("people", true, "let admin tokens promote, approve and roll back through the API (needs Temporal)")
	fs.StringVar(&cfg.TemporalAddress, "temporal", cfg.TemporalAddress, "Temporal frontend host:port (for --people)")
	fs.StringVar(&cfg.MinIOEndpoint, "minio", cfg.MinIOEndpoint, "MinIO host:port")
	fs.StringVar(&cfg.Bucket, "bucket", cfg.Bucket, "MinIO bucket of the registry")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: promoflow serve --models m1,m2 [--addr host:port] [flags]\n\nflags:\n")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\n"+control.EnvHelp+"  PROMOFLOW_API_TOKENS          name:token:role,... with role read, score or admin (secret; required)\n")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	names := splitList(*models)
	if len(names) == 0 {
		fs.Usage()
		return fmt.Errorf("--models is required: %w", errUsage)
	}
	tokens, err := serve.ParseTokens(os.Getenv("PROMOFLOW_API_TOKENS"))
	if err != nil {
		return err
	}
	if len(tokens) == 0 {
		return errors.New("PROMOFLOW_API_TOKENS is empty: set name:token:role,... so clients can authenticate")
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	scfg := serve.Config{Models: names, Poll: *poll, Tokens: tokens, MaxBodyBytes: *maxBody, LogSample: *sample, Logger: logger}
	closeAll, err := connectService(ctx, cfg, &scfg, !*noLog, *people)
	defer closeAll()
	if err != nil {
		return err
	}
	preg := prometheus.NewRegistry()
	preg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := serve.New(scfg, preg)
	if err != nil {
		return err
	}
	if err := serveUntilDone(ctx, srv, *addr, logger, "models", names, "poll", *poll, "scoring_log", scfg.Store != nil); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "promoflow serve: stopped")
	return nil
}

// connectService connects the scoring service's registry and, as asked,
// its scoring log in PostgreSQL (migrated) and the Changer people change
// production through; closeAll closes what was opened, also on an error.
func connectService(ctx context.Context, cfg control.Config, scfg *serve.Config, scoringLog, people bool) (closeAll func(), err error) {
	var closers []func()
	closeAll = func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}
	if scfg.Registry, err = cfg.Registry(); err != nil {
		return closeAll, err
	}
	if scoringLog {
		pool, err := cfg.Postgres(ctx)
		if err != nil {
			return closeAll, err
		}
		closers = append(closers, pool.Close)
		st := store.New(pool)
		if _, err := st.Migrate(ctx); err != nil {
			return closeAll, err
		}
		scfg.Store = st
	}
	if people {
		tc, err := cfg.Temporal()
		if err != nil {
			return closeAll, err
		}
		closers = append(closers, tc.Close)
		scfg.Changer = &control.Changer{Temporal: tc, TaskQueue: cfg.TaskQueue, Audit: scfg.Store}
	}
	return closeAll, nil
}

// serveUntilDone serves srv on addr until ctx is done, then shuts down
// gracefully: it stops accepting, finishes the requests in flight, then
// stops polling and flushes the scoring log. logArgs go with the
// "serving" log line.
func serveUntilDone(ctx context.Context, srv *serve.Server, addr string, logger *slog.Logger, logArgs ...any) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(runCtx) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	logger.Info("serving", append([]any{"addr", ln.Addr().String()}, logArgs...)...)

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		logger.Info("shutting down")
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		err = hs.Shutdown(shutCtx)
		cancel()
	}
	stopRun()
	if rerr := <-runDone; err == nil {
		err = rerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("serve %s: %w", addr, err)
	}
	return nil
}

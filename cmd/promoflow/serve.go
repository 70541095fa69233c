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
	reg, err := newRegistry(cfg)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	scfg := serve.Config{Registry: reg, Models: names, Poll: *poll, Tokens: tokens, MaxBodyBytes: *maxBody, LogSample: *sample, Logger: logger}
	if !*noLog {
		pool, err := cfg.Postgres(ctx)
		if err != nil {
			return err
		}
		defer pool.Close()
		st := store.New(pool)
		if _, err := st.Migrate(ctx); err != nil {
			return err
		}
		scfg.Store = st
	}
	if *people {
		tc, err := cfg.Temporal()
		if err != nil {
			return err
		}
		defer tc.Close()
		scfg.Changer = &control.Changer{Temporal: tc, TaskQueue: cfg.TaskQueue, Audit: scfg.Store}
	}
	preg := prometheus.NewRegistry()
	preg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := serve.New(scfg, preg)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(runCtx) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	logger.Info("serving", "addr", ln.Addr().String(), "models", names, "poll", *poll, "scoring_log", scfg.Store != nil)

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		// Graceful: stop accepting, finish requests in flight, then stop
		// polling and flush the scoring log.
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
		return fmt.Errorf("serve %s: %w", *addr, err)
	}
	fmt.Fprintln(stdout, "promoflow serve: stopped")
	return nil
}

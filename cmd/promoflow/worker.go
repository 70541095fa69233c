package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/promoflow/promoflow/worker"
)

func init() {
	register(&command{
		name:    "worker",
		summary: "run a Temporal worker for every promoflow workflow and activity",
		run:     runWorker,
	})
	register(&command{
		name:    "check",
		summary: "run the StackCheck workflow: Temporal → worker → PostgreSQL and MinIO",
		run:     runCheck,
	})
}

func runWorker(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, fs := configFlagSet("worker", "[flags]")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg.CodeVersion = codeVersion()
	clients, closeClients, err := worker.Dial(ctx, *cfg, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		return err
	}
	defer closeClients()
	return worker.RunWorker(ctx, *cfg, clients)
}

func runCheck(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, fs := configFlagSet("check", "[flags]")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	start, done, err := dialStarter(cfg)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	id := fmt.Sprintf("stack-check-%d", time.Now().UnixNano())
	rep, err := start.StackCheck(ctx, id)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "stack ok: workflow %s ran on a worker; PostgreSQL %s; bucket %s exists=%v\n",
		id, rep.PostgresVersion, rep.Bucket, rep.BucketExists)
	return err
}

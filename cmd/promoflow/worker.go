package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/promoflow/promoflow/app"
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

// configFlagSet builds a flag set bound to the connection settings whose
// help ends with the environment variables.
func configFlagSet(name, synopsis string) (*app.Config, *flag.FlagSet) {
	cfg := app.FromEnv()
	fs := newFlagSet(name, synopsis)
	cfg.BindFlags(fs)
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprint(fs.Output(), "\n"+app.EnvHelp)
	}
	return &cfg, fs
}

func runWorker(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, fs := configFlagSet("worker", "[flags]")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg.CodeVersion = codeVersion()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	return app.RunWorker(ctx, *cfg, log)
}

func runCheck(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, fs := configFlagSet("check", "[flags]")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	tc, err := cfg.Temporal()
	if err != nil {
		return err
	}
	defer tc.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	id := fmt.Sprintf("stack-check-%d", time.Now().UnixNano())
	rep, err := app.StartStackCheck(ctx, tc, cfg.TaskQueue, id)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "stack ok: workflow %s ran on a worker; PostgreSQL %s; bucket %s exists=%v\n",
		id, rep.PostgresVersion, rep.Bucket, rep.BucketExists)
	return err
}

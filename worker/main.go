// Command worker is the promoflow Temporal worker on its own, for
// deployments that run workers from a separate binary; `promoflow worker`
// is the same process. The wiring — task queue, every workflow and
// activity, /metrics — lives in package app (a package named worker would
// clash with go.temporal.io/sdk/worker).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/promoflow/promoflow/app"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	cfg := app.FromEnv()
	cfg.CodeVersion = app.CodeVersion(version)
	cfg.BindFlags(flag.CommandLine)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: worker [flags]\n\nflags:\n")
		flag.PrintDefaults()
		fmt.Fprint(flag.CommandLine.Output(), "\n"+app.EnvHelp)
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := app.RunWorker(ctx, cfg, log); err != nil {
		log.Error("worker", "err", err)
		os.Exit(1)
	}
}

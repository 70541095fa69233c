package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
)

// configFlagSet builds a flag set bound to the connection settings whose
// help ends with the environment variables.
func configFlagSet(name, synopsis string) (*control.Config, *flag.FlagSet) {
	cfg := control.FromEnv()
	fs := newFlagSet(name, synopsis)
	cfg.BindFlags(fs)
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprint(fs.Output(), "\n"+control.EnvHelp)
	}
	return &cfg, fs
}

// actorFlag registers --actor, defaulting to PROMOFLOW_ACTOR or the login name.
func actorFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("PROMOFLOW_ACTOR")
	if def == "" {
		if u, err := user.Current(); err == nil {
			def = u.Username
		}
	}
	return fs.String("actor", def, "who is acting, recorded in the audit log (env PROMOFLOW_ACTOR)")
}

// positional splits "MODEL [flags]" so the model may come before flags.
func positional(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// refArg parses "REF [flags]" where REF names a version (MODEL, MODEL/N or
// MODEL@ALIAS), refusing a missing or malformed one.
func refArg(fs *flag.FlagSet, args []string) (registry.Ref, error) {
	arg, rest := positional(args)
	if err := parseFlags(fs, rest); err != nil {
		return registry.Ref{}, err
	}
	if arg == "" {
		fs.Usage()
		return registry.Ref{}, errUsage
	}
	return registry.ParseRef(arg)
}

// modelDayArgs parses "MODEL --day YYYY-MM-DD [flags]" into the model and
// *day, refusing a missing model or a malformed day.
func modelDayArgs(fs *flag.FlagSet, args []string, day *string) (string, error) {
	model, rest := positional(args)
	if err := parseFlags(fs, rest); err != nil {
		return "", err
	}
	if model == "" || *day == "" {
		fs.Usage()
		return "", fmt.Errorf("need MODEL and --day: %w", errUsage)
	}
	if _, err := time.Parse(time.DateOnly, *day); err != nil {
		return "", fmt.Errorf("--day %q: want yyyy-mm-dd", *day)
	}
	return model, nil
}

// openStore connects to PROMOFLOW_PG_URL.
func openStore(ctx context.Context) (*store.Store, error) {
	return control.FromEnv().Store(ctx)
}

// dialStarter connects a workflow starter on cfg's Temporal and task
// queue; done closes it.
func dialStarter(cfg *control.Config) (st control.Starter, done func(), err error) {
	tc, err := cfg.Temporal()
	if err != nil {
		return control.Starter{}, nil, err
	}
	return control.Starter{Temporal: tc, TaskQueue: cfg.TaskQueue}, tc.Close, nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/control"
)

func init() {
	register(&command{name: "reproduce", summary: "retrain a version from its manifest and check coefficients and metrics match", run: runReproduce})
}

// errNotReproduced is returned when a retrained version differs.
var errNotReproduced = errors.New("does not reproduce")

func runReproduce(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("reproduce", "MODEL/VERSION|MODEL@ALIAS [--source NAME] [--json]")
	source := fs.String("source", "", "source of the model's data (default: from the model's configuration)")
	asJSON := fs.Bool("json", false, "print JSON")
	ref, err := refArg(fs, args)
	if err != nil {
		return err
	}
	cfg := control.FromEnv()
	if *source == "" {
		mc, err := config.Load(cfg.ConfigDir, ref.Model)
		if err != nil {
			return fmt.Errorf("source of %s (or pass --source): %w", ref.Model, err)
		}
		*source = mc.Source
	}
	reg, err := cfg.Registry()
	if err != nil {
		return err
	}
	v, err := reg.ResolveRef(ctx, ref)
	if err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := control.Reproduce(ctx, st, reg, *source, ref.Model, v, codeVersion())
	if err != nil {
		return err
	}
	if *asJSON {
		if err := printJSON(stdout, r); err != nil {
			return err
		}
	} else {
		printReproduction(stdout, r)
	}
	if !r.Match {
		return fmt.Errorf("%s v%d %w (%d differences)", r.Model, r.Version, errNotReproduced, len(r.Differences))
	}
	return nil
}

// printReproduction says whether the version reproduced and, if not, why
// it may not have: data or code that changed, then each difference.
func printReproduction(w io.Writer, r *control.Reproduction) {
	if r.Match {
		fmt.Fprintf(w, "%s v%d reproduces: %d coefficients and %d metrics match to 1e-9\n", r.Model, r.Version, r.Coefficients, r.Metrics)
	} else {
		fmt.Fprintf(w, "%s v%d does NOT reproduce: %d of %d coefficients and metrics differ\n", r.Model, r.Version, len(r.Differences), r.Coefficients+r.Metrics)
	}
	if r.DataChanged {
		fmt.Fprintf(w, "  data changed since training: recorded %s, now %s\n", r.RecordedData, r.ReloadedData)
	} else {
		fmt.Fprintf(w, "  data unchanged: %s\n", r.ReloadedData)
	}
	if r.CodeChanged {
		fmt.Fprintf(w, "  code version differs: trained by %s, running %s\n", r.RecordedCode, r.RunningCode)
	} else {
		fmt.Fprintf(w, "  same code: %s\n", r.RunningCode)
	}
	for _, d := range r.Differences {
		fmt.Fprintf(w, "  %s\n", d)
	}
}

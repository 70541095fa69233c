package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
)

func init() {
	register(&command{name: "explain", summary: "why is this version where it is: alias moves, gate verdict, data and run", run: runExplain})
}

// explanation is everything `explain` shows about one version.
type explanation struct {
	Model   string `json:"model"`
	Alias   string `json:"alias,omitempty"`
	Version int    `json:"version"`
	// Move is the alias move that put the version there; Moves every
	// earlier move of the alias, oldest first.
	Move     *registry.AliasMove  `json:"move,omitempty"`
	Moves    []registry.AliasMove `json:"moves,omitempty"`
	Audit    []store.AuditEntry   `json:"audit,omitempty"`
	Manifest *registry.Manifest   `json:"manifest"`
	Verdict  *gate.Verdict        `json:"verdict,omitempty"`
	// LaterVerdicts names verdicts of later re-validations.
	LaterVerdicts []string          `json:"later_verdicts,omitempty"`
	Days          []store.DayStatus `json:"days,omitempty"`
}

func runExplain(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("explain", "MODEL[@ALIAS|/VERSION] [--json]  (default alias: production)")
	asJSON := fs.Bool("json", false, "print JSON")
	ref, err := refArg(fs, args)
	if err != nil {
		return err
	}
	if ref.Alias == "" && ref.Version == 0 {
		ref.Alias = registry.Production
	}
	cfg := control.FromEnv()
	reg, err := cfg.Registry()
	if err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	e, err := explain(ctx, reg, st, cfg.ConfigDir, ref)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, e)
	}
	return printExplanation(stdout, e)
}

// explain gathers the alias history, audit log, manifest, verdict and the
// data days of the version ref names.
func explain(ctx context.Context, reg *registry.Registry, st *store.Store, configDir string, ref registry.Ref) (*explanation, error) {
	v, err := reg.ResolveRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	info, err := reg.Describe(ctx, ref.Model, v)
	if err != nil {
		return nil, err
	}
	e := &explanation{Model: ref.Model, Alias: ref.Alias, Version: v, Manifest: info.Manifest}
	if ref.Alias != "" {
		hist, err := reg.History(ctx, ref.Model, ref.Alias)
		if err != nil {
			return nil, err
		}
		for i := len(hist) - 1; i >= 0; i-- {
			if hist[i].Version == v && (i == 0 || hist[i-1].Version != v) {
				e.Move = &hist[i]
				e.Moves = hist[:i]
				break
			}
		}
	}
	audit, err := st.ListAudit(ctx, ref.Model)
	if err != nil {
		return nil, err
	}
	for _, a := range audit {
		if a.ToVersion == v || a.FromVersion == v {
			e.Audit = append(e.Audit, a)
		}
	}
	if len(info.Verdict) > 0 {
		var vd gate.Verdict
		if err := json.Unmarshal(info.Verdict, &vd); err != nil {
			return nil, fmt.Errorf("verdict of %s v%d: %w", ref.Model, v, err)
		}
		e.Verdict = &vd
	}
	for name := range info.Added {
		if strings.HasPrefix(name, "verdict-") {
			e.LaterVerdicts = append(e.LaterVerdicts, name)
		}
	}
	slices.Sort(e.LaterVerdicts)
	// The data days' quality comes from the model's source; without a
	// configuration the days are listed without it.
	if mc, err := config.Load(configDir, ref.Model); err == nil {
		days, err := st.Status(ctx, mc.Source, 0)
		if err != nil {
			return nil, err
		}
		for _, d := range days {
			if slices.Contains(info.Manifest.DataWindow.Days, d.Day.Format(time.DateOnly)) {
				e.Days = append(e.Days, d)
			}
		}
		slices.Reverse(e.Days)
	} else if !errors.Is(err, config.ErrNotFound) {
		return nil, err
	}
	return e, nil
}

// printExplanation answers on one screen: where the version is and who
// put it there, what the gate said, what it learned from, which run.
func printExplanation(w io.Writer, e *explanation) error {
	m := e.Manifest
	if e.Alias != "" {
		fmt.Fprintf(w, "%s@%s is version %d\n", e.Model, e.Alias, e.Version)
	} else {
		fmt.Fprintf(w, "%s version %d\n", e.Model, e.Version)
	}
	if mv := e.Move; mv != nil {
		fmt.Fprintf(w, "\nmoved there %s by %s (%s from v%s): %s\n", mv.MovedAt.UTC().Format(time.RFC3339), mv.MovedBy, mv.Kind, orDash(mv.Previous), mv.Reason)
		if mv.WorkflowID != "" {
			fmt.Fprintf(w, "  workflow %s\n", mv.WorkflowID)
		}
		if n := len(e.Moves); n > 0 {
			prev := e.Moves[n-1]
			fmt.Fprintf(w, "  before: v%d since %s (by %s: %s)\n", prev.Version, prev.MovedAt.UTC().Format(time.RFC3339), prev.MovedBy, prev.Reason)
		}
	} else if e.Alias != "" {
		fmt.Fprintf(w, "\nno recorded move of %s put version %d there\n", e.Alias, e.Version)
	}
	if len(e.Audit) > 0 {
		fmt.Fprintln(w, "\naudit log:")
		tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
		for _, a := range e.Audit {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s v%s → v%s\t%s\n", a.At.UTC().Format(time.RFC3339), a.Actor, a.Action, a.Alias, orDash(a.FromVersion), orDash(a.ToVersion), a.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	if vd := e.Verdict; vd != nil {
		result := "PASSED"
		if !vd.Pass {
			result = "FAILED (" + strings.Join(vd.Failed(), ", ") + ")"
		}
		against := "no production model (absolute checks only)"
		if vd.Production > 0 {
			against = fmt.Sprintf("production v%d", vd.Production)
		}
		fmt.Fprintf(w, "gate %s against %s on %d holdout rows:\n", result, against, vd.HoldoutRows)
		if err := printChecks(w, *vd); err != nil {
			return err
		}
		if len(e.LaterVerdicts) > 0 {
			fmt.Fprintf(w, "  judged again later: %s\n", strings.Join(e.LaterVerdicts, ", "))
		}
	} else {
		fmt.Fprintln(w, "gate: no verdict stored with this version (promoted by force, or judged before verdicts were kept)")
	}
	dw := m.DataWindow
	fmt.Fprintf(w, "\nlearned from %s..%s: %d clean rows (train %d, holdout %d), data %s\n",
		dw.From, dw.To, dw.Rows, dw.Counts["train"], dw.Counts["holdout"], short(dw.Fingerprint))
	if len(e.Days) > 0 {
		if err := writeStatus(w, e.Days); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\ntrained %s by workflow %s (run %s), code %s, seed %d, parent v%s\n",
		m.CreatedAt.UTC().Format(time.RFC3339), m.WorkflowID, m.RunID, m.CodeVersion, m.Seed, orDash(m.Parent))
	return nil
}

// printChecks lists a verdict's checks with their intervals, the checks
// of disabled arms marked OFF, and the disabled arms.
func printChecks(w io.Writer, v gate.Verdict) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	for _, c := range v.Checks {
		mark := "pass"
		if !c.Pass {
			mark = "FAIL"
		}
		if v.ArmDisabled(c.Arm) {
			mark += " OFF"
		}
		iv := ""
		if c.Lower != nil && c.Upper != nil {
			iv = fmt.Sprintf("[%.4f, %.4f]", *c.Lower, *c.Upper)
		}
		basis := ""
		if c.Basis != "" && c.Basis != "point" {
			basis = "by " + c.Basis
		}
		fmt.Fprintf(tw, "  %s\t%s\t%.4f\t%s\t%s %.4f\t%s\t%s\n", mark, c.Name, c.Value, iv, c.Op, c.Limit, basis, c.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(v.DisabledArms) > 0 {
		_, err := fmt.Fprintf(w, "  disabled arms, never offered: %s\n", strings.Join(v.DisabledArms, ", "))
		return err
	}
	return nil
}

// short abbreviates a fingerprint for reading.
func short(fp string) string {
	if len(fp) > 19 {
		return fp[:19] + "…"
	}
	return fp
}

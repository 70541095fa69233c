package control

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
)

// reproduceTolerance is how far a recomputed coefficient or metric may be
// from the recorded one and still count as the same.
const reproduceTolerance = 1e-9

// Reproduction says whether retraining a version from what its manifest
// recorded gives the same model, and if not, what differs.
type Reproduction struct {
	Model   string `json:"model"`
	Version int    `json:"version"`
	// Match is true when coefficients and metrics agree to 1e-9.
	Match bool `json:"match"`
	// DataChanged is true when the window's clean rows no longer have the
	// recorded fingerprint; CodeChanged when the running code is not the
	// code that trained the version.
	DataChanged  bool   `json:"data_changed"`
	CodeChanged  bool   `json:"code_changed"`
	RecordedData string `json:"recorded_data"`
	ReloadedData string `json:"reloaded_data"`
	RecordedCode string `json:"recorded_code"`
	RunningCode  string `json:"running_code"`
	// Coefficients and Metrics count what was compared.
	Coefficients int `json:"coefficients"`
	Metrics      int `json:"metrics"`
	// Differences name each coefficient or metric that differs.
	Differences []string `json:"differences,omitempty"`
}

// Reproduce retrains version of model from its manifest: the clean rows of
// the recorded data window of source, split into training rows and holdout
// by the recorded fraction, trained with the recorded configuration and
// seed; then it compares the coefficients and metrics with the stored
// model. code names the running code.
func Reproduce(ctx context.Context, st *store.Store, reg *registry.Registry, source, model string, version int, code string) (*Reproduction, error) {
	man, files, err := reg.Load(ctx, model, version)
	if err != nil {
		return nil, fmt.Errorf("reproduce %s v%d: %w", model, version, err)
	}
	stored, err := learn.Load(files[registry.ModelArtifact])
	if err != nil {
		return nil, fmt.Errorf("reproduce %s v%d: decode model: %w", model, version, err)
	}
	var rc config.Record
	if err := json.Unmarshal(man.Config, &rc); err != nil {
		return nil, fmt.Errorf("reproduce %s v%d: recorded config: %w", model, version, err)
	}
	from, err := time.Parse(time.DateOnly, man.DataWindow.From)
	if err != nil {
		return nil, fmt.Errorf("reproduce %s v%d: data window: %w", model, version, err)
	}
	to, err := time.Parse(time.DateOnly, man.DataWindow.To)
	if err != nil {
		return nil, fmt.Errorf("reproduce %s v%d: data window: %w", model, version, err)
	}
	tbl, fp, err := st.LoadClean(ctx, source, from, to)
	if err != nil {
		return nil, fmt.Errorf("reproduce %s v%d: %w", model, version, err)
	}
	r := &Reproduction{
		Model: model, Version: version,
		RecordedData: man.DataWindow.Fingerprint, ReloadedData: string(fp),
		RecordedCode: man.CodeVersion, RunningCode: code,
	}
	r.DataChanged = r.RecordedData != r.ReloadedData
	r.CodeChanged = r.RecordedCode != r.RunningCode
	train, _ := learn.SplitHoldout(tbl, rc.Hold)
	cfg := rc.Model(model, source)
	retrained, err := learn.Train(train, cfg.Schema(), cfg.TrainConfig())
	if err != nil {
		return nil, fmt.Errorf("reproduce %s v%d: train: %w", model, version, err)
	}
	r.compareCoefficients(stored, retrained)
	r.compareMetrics(man.Metrics, retrained.Metrics.Flat())
	r.Match = len(r.Differences) == 0
	return r, nil
}

// compareCoefficients compares the propensity and uplift regressions.
func (r *Reproduction) compareCoefficients(want, got *learn.Model) {
	type named struct {
		name string
		lr   *learn.LogReg
	}
	list := func(m *learn.Model) []named {
		out := []named{{"propensity", m.Propensity}}
		if m.Uplift != nil {
			out = append(out, named{"control", m.Uplift.ControlModel})
			for _, a := range m.Uplift.Arms {
				out = append(out, named{"arm " + a.Arm, a.Model})
			}
		}
		return out
	}
	w, g := list(want), list(got)
	if len(w) != len(g) {
		r.Differences = append(r.Differences, fmt.Sprintf("regressions: recorded %d, retrained %d", len(w), len(g)))
		return
	}
	for i := range w {
		if w[i].name != g[i].name {
			r.Differences = append(r.Differences, fmt.Sprintf("regression %d: recorded %s, retrained %s", i, w[i].name, g[i].name))
			continue
		}
		a, b := w[i].lr, g[i].lr
		r.Coefficients++
		if !sameValue(a.Intercept, b.Intercept) {
			r.Differences = append(r.Differences, fmt.Sprintf("%s intercept: recorded %.12g, retrained %.12g", w[i].name, a.Intercept, b.Intercept))
		}
		if len(a.Coef) != len(b.Coef) {
			r.Differences = append(r.Differences, fmt.Sprintf("%s: recorded %d coefficients, retrained %d", w[i].name, len(a.Coef), len(b.Coef)))
			continue
		}
		names := want.Pipeline.Features
		for j := range a.Coef {
			r.Coefficients++
			if !sameValue(a.Coef[j], b.Coef[j]) {
				label := fmt.Sprint(j)
				if j < len(names) {
					label = names[j].Name
				}
				r.Differences = append(r.Differences, fmt.Sprintf("%s coefficient %s: recorded %.12g, retrained %.12g", w[i].name, label, a.Coef[j], b.Coef[j]))
			}
		}
	}
}

// compareMetrics compares the manifest's metrics with the retrained ones.
func (r *Reproduction) compareMetrics(want, got map[string]float64) {
	keys := make([]string, 0, len(want)+len(got))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		r.Metrics++
		w, wok := want[k]
		g, gok := got[k]
		switch {
		case !wok:
			r.Differences = append(r.Differences, fmt.Sprintf("metric %s: not recorded, retrained %.12g", k, g))
		case !gok:
			r.Differences = append(r.Differences, fmt.Sprintf("metric %s: recorded %.12g, not retrained", k, w))
		case !sameValue(w, g):
			r.Differences = append(r.Differences, fmt.Sprintf("metric %s: recorded %.12g, retrained %.12g", k, w, g))
		}
	}
}

// sameValue reports whether a and b agree to reproduceTolerance, absolutely
// or relative to their size.
func sameValue(a, b float64) bool {
	d := math.Abs(a - b)
	return d <= reproduceTolerance || d <= reproduceTolerance*math.Max(math.Abs(a), math.Abs(b))
}

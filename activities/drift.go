package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/drift"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/metrics"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/schema"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/workflows"
)

// Drift holds the monitoring activities of MonitorDrift: computing a day's
// drift and realised performance, recording it, and reading when
// production last moved.
type Drift struct {
	Store    *store.Store
	Registry *registry.Registry
	// Config returns a model's configuration (source and schema).
	Config func(model string) (config.Model, error)
	// Limits returns a model's monitoring limits; nil means
	// drift.DefaultMonitorLimits for every model.
	Limits func(model string) (drift.MonitorLimits, error)
	// Metrics receives the recorded checks; nil records none.
	Metrics *metrics.Metrics

	mu   sync.Mutex
	refs map[string]*reference // model → reference of its production version
}

// reference is what a day is compared with: the production version's
// training window, prepared once per version.
type reference struct {
	version int
	numeric map[string]*drift.Numeric
	categ   map[string]*drift.Categorical
	score   *drift.Numeric
}

// ComputeDrift compares the clean rows of a day with the production
// version's training window — every feature, and the version's scores —
// and, when the day's rows carry the target, measures realised AUC, log
// loss and calibration. It judges the day against the model's limits.
func (d *Drift) ComputeDrift(ctx context.Context, in workflows.DriftInput) (workflows.DriftReport, error) {
	cfg, err := d.Config(in.Model)
	if err != nil {
		return workflows.DriftReport{}, invalidInput(fmt.Errorf("config of %s: %w", in.Model, err))
	}
	limits, err := d.limits(in.Model)
	if err != nil {
		return workflows.DriftReport{}, err
	}
	day, err := store.ParseDay(in.Day)
	if err != nil {
		return workflows.DriftReport{}, invalidInput(err)
	}
	version, err := d.Registry.Resolve(ctx, in.Model, registry.Production)
	if errors.Is(err, registry.ErrNotFound) {
		return workflows.DriftReport{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s has no production version", in.Model), "NoProduction", err)
	}
	if err != nil {
		return workflows.DriftReport{}, fmt.Errorf("resolve production of %s: %w", in.Model, err)
	}
	man, files, err := d.Registry.Load(ctx, in.Model, version)
	if err != nil {
		return workflows.DriftReport{}, nonRetryableIf(err)
	}
	model, err := learn.Load(files[registry.ModelArtifact])
	if err != nil {
		return workflows.DriftReport{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("decode %s v%d: %v", in.Model, version, err), "InvalidInput", err)
	}
	stop := heartbeatWhile(ctx, "drift")
	defer stop()
	ref, err := d.reference(ctx, cfg, man, model)
	if err != nil {
		return workflows.DriftReport{}, err
	}
	cur, _, err := d.Store.LoadClean(ctx, cfg.Source, day, day)
	if errors.Is(err, store.ErrNoCleanData) {
		return workflows.DriftReport{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("no clean rows of %s on %s", cfg.Source, in.Day), "NoData", err)
	}
	if err != nil {
		return workflows.DriftReport{}, classify(err)
	}
	rep := workflows.DriftReport{Model: in.Model, Day: in.Day, Version: version, Rows: int64(len(cur.Rows)), Limits: limits}
	rep.Features, err = compareTable(limits.Drift, cfg.Schema(), ref, cur)
	if err != nil {
		return rep, invalidInput(err)
	}
	if ref.score != nil {
		scores, err := propensities(model, cur)
		if err != nil {
			return rep, invalidInput(err)
		}
		if len(scores) > 0 {
			rep.Features = append(rep.Features, drift.CompareScores(limits.Drift, ref.score, scores))
		}
	}
	rep.Summary = drift.Summarise(limits.Drift, rep.Features)
	rep.Realised = realised(model, man, cur)
	rep.Breaches = limits.Breaches(rep.Features, rep.Summary, aucDrop(rep.Realised))
	return rep, nil
}

func (d *Drift) limits(model string) (drift.MonitorLimits, error) {
	if d.Limits == nil {
		return drift.DefaultMonitorLimits(), nil
	}
	l, err := d.Limits(model)
	if err != nil {
		return l, invalidInput(fmt.Errorf("monitor limits of %s: %w", model, err))
	}
	if err := l.Drift.Validate(); err != nil {
		return l, invalidInput(fmt.Errorf("monitor limits of %s: %w", model, err))
	}
	return l, nil
}

// reference returns the prepared reference of the production version,
// building it from the version's training window (its manifest's
// DataWindow) on first use.
func (d *Drift) reference(ctx context.Context, cfg config.Model, man *registry.Manifest, model *learn.Model) (*reference, error) {
	d.mu.Lock()
	r, ok := d.refs[man.Model]
	d.mu.Unlock()
	if ok && r.version == man.Version {
		return r, nil
	}
	from, err := store.ParseDay(man.DataWindow.From)
	if err != nil {
		return nil, invalidInput(fmt.Errorf("%s v%d data window: %w", man.Model, man.Version, err))
	}
	to, err := store.ParseDay(man.DataWindow.To)
	if err != nil {
		return nil, invalidInput(fmt.Errorf("%s v%d data window: %w", man.Model, man.Version, err))
	}
	tbl, _, err := d.Store.LoadClean(ctx, cfg.Source, from, to)
	if err != nil {
		return nil, fmt.Errorf("reference of %s v%d: %w", man.Model, man.Version, classify(err))
	}
	r = &reference{version: man.Version, numeric: map[string]*drift.Numeric{}, categ: map[string]*drift.Categorical{}}
	for _, c := range cfg.Schema().Columns {
		i := columnIndex(tbl.Header, c.Name)
		if i < 0 || !c.Kind.IsFeature() {
			continue
		}
		if c.Kind == schema.Categorical {
			r.categ[c.Name] = drift.NewCategorical(column(tbl, i))
		} else {
			vals, err := numbers(tbl, i, c.Name)
			if err != nil {
				return nil, invalidInput(err)
			}
			r.numeric[c.Name] = drift.NewNumeric(vals)
		}
	}
	scores, err := propensities(model, tbl)
	if err != nil {
		return nil, invalidInput(fmt.Errorf("score reference of %s v%d: %w", man.Model, man.Version, err))
	}
	if len(scores) > 0 {
		r.score = drift.NewNumeric(scores)
	}
	d.mu.Lock()
	if d.refs == nil {
		d.refs = map[string]*reference{}
	}
	d.refs[man.Model] = r
	d.mu.Unlock()
	return r, nil
}

// compareTable compares every feature column of cur present in the
// reference; a feature with no values on either side is left out (its
// drift is undefined).
func compareTable(cfg drift.Config, sc schema.Schema, ref *reference, cur *dataset.Table) ([]drift.Result, error) {
	var out []drift.Result
	for _, c := range sc.Columns {
		i := columnIndex(cur.Header, c.Name)
		if i < 0 || !c.Kind.IsFeature() {
			continue
		}
		var r drift.Result
		if c.Kind == schema.Categorical {
			cr, ok := ref.categ[c.Name]
			if !ok {
				continue
			}
			r = drift.CompareCategorical(cfg, c.Name, cr, column(cur, i))
		} else {
			nr, ok := ref.numeric[c.Name]
			if !ok {
				continue
			}
			vals, err := numbers(cur, i, c.Name)
			if err != nil {
				return nil, err
			}
			r = drift.CompareNumeric(cfg, c.Name, nr, vals)
		}
		if r.RefRows == 0 || r.CurRows == 0 {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// realised measures the production version on the day's labelled rows;
// nil when the day has no usable labels yet.
func realised(m *learn.Model, man *registry.Manifest, day *dataset.Table) *workflows.Realised {
	mt, err := learn.Evaluate(m, day)
	if err != nil || !finite(mt.ROCAUC) || !finite(mt.LogLoss) {
		return nil
	}
	r := &workflows.Realised{Rows: mt.Rows, AUC: mt.ROCAUC, LogLoss: mt.LogLoss}
	if finite(mt.ECE) {
		r.ECE = mt.ECE
	}
	if ref, ok := man.Metrics["roc_auc"]; ok && finite(ref) {
		r.ReferenceAUC = ref
		r.AUCDrop = ref - mt.ROCAUC
	}
	return r
}

// aucDrop is a day's drop of realised AUC; nil when it was not measured.
func aucDrop(r *workflows.Realised) *float64 {
	if r == nil {
		return nil
	}
	return &r.AUCDrop
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// propensities scores every row of tbl with the model.
func propensities(m *learn.Model, tbl *dataset.Table) ([]float64, error) {
	if len(tbl.Rows) == 0 {
		return nil, nil
	}
	s, err := m.ScoreTable(tbl)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = v.Propensity
	}
	return out, nil
}

func columnIndex(header []string, name string) int {
	for i, h := range header {
		if h == name {
			return i
		}
	}
	return -1
}

func column(tbl *dataset.Table, i int) []string {
	out := make([]string, len(tbl.Rows))
	for r, row := range tbl.Rows {
		out[r] = row[i]
	}
	return out
}

// numbers parses a numeric column; empty cells are missing (NaN).
func numbers(tbl *dataset.Table, i int, name string) ([]float64, error) {
	out := make([]float64, len(tbl.Rows))
	for r, row := range tbl.Rows {
		if row[i] == "" {
			out[r] = math.NaN()
			continue
		}
		v, err := strconv.ParseFloat(row[i], 64)
		if err != nil {
			return nil, fmt.Errorf("column %s row %d: %w", name, r+1, err)
		}
		out[r] = v
	}
	return out, nil
}

// RecordDrift stores a day's report in the drift history, exposes it as
// metrics and returns the number of consecutive breached checks ending
// with it.
func (d *Drift) RecordDrift(ctx context.Context, in workflows.RecordDriftInput) (int, error) {
	rep := in.Report
	day, err := store.ParseDay(rep.Day)
	if err != nil {
		return 0, invalidInput(err)
	}
	check := store.DriftCheck{
		Model: rep.Model, Day: day, Version: rep.Version, Rows: rep.Rows,
		DriftedShare: rep.Summary.DriftedShare, DatasetDrift: rep.Summary.DatasetDrift,
		Breached: len(rep.Breaches) > 0, WorkflowID: in.WorkflowID,
	}
	if check.Breaches, err = json.Marshal(rep.Breaches); err != nil {
		return 0, fmt.Errorf("encode breaches: %w", err)
	}
	if rep.Realised != nil {
		if check.Realised, err = json.Marshal(rep.Realised); err != nil {
			return 0, fmt.Errorf("encode realised metrics: %w", err)
		}
	}
	features := make([]store.DriftFeature, len(rep.Features))
	for i, f := range rep.Features {
		detail, err := json.Marshal(f.Bins)
		if err != nil {
			return 0, fmt.Errorf("encode bins of %s: %w", f.Feature, err)
		}
		features[i] = store.DriftFeature{Feature: f.Feature, Kind: f.Kind, PSI: f.PSI, JS: f.JS, Severity: f.Severity, Drifted: f.Drifted, Detail: detail}
		if f.KS != nil {
			features[i].KSStat, features[i].KSP = &f.KS.Statistic, &f.KS.PValue
		}
	}
	if err := d.Store.RecordDrift(ctx, check, features); err != nil {
		return 0, err
	}
	streak, err := d.Store.DriftStreak(ctx, rep.Model, day)
	if err != nil {
		return 0, err
	}
	d.expose(rep, streak)
	return streak, nil
}

// expose sets the drift and model gauges from a recorded report.
func (d *Drift) expose(rep workflows.DriftReport, streak int) {
	m := d.Metrics
	for _, f := range rep.Features {
		m.SetDrift(rep.Model, f.Feature, drift.TestPSI, f.PSI)
		m.SetDrift(rep.Model, f.Feature, drift.TestJS, f.JS)
		if f.KS != nil {
			m.SetDrift(rep.Model, f.Feature, drift.TestKS, f.KS.Statistic)
		}
	}
	m.SetModelMetric(rep.Model, "drifted_share", rep.Summary.DriftedShare)
	m.SetModelMetric(rep.Model, "breach_streak", float64(streak))
	m.SetModelMetric(rep.Model, "production_version", float64(rep.Version))
	if r := rep.Realised; r != nil {
		m.SetModelMetric(rep.Model, "realised_auc", r.AUC)
		m.SetModelMetric(rep.Model, "realised_log_loss", r.LogLoss)
		m.SetModelMetric(rep.Model, "realised_ece", r.ECE)
		m.SetModelMetric(rep.Model, "auc_drop", r.AUCDrop)
	}
}

// ProductionMovedAt returns when the model's production alias last moved;
// the zero time when it never did.
func (d *Drift) ProductionMovedAt(ctx context.Context, model string) (time.Time, error) {
	moves, err := d.Registry.Aliases(ctx, model)
	if err != nil {
		return time.Time{}, nonRetryableIf(fmt.Errorf("aliases of %s: %w", model, err))
	}
	for _, m := range moves {
		if m.Alias == registry.Production {
			return m.MovedAt, nil
		}
	}
	return time.Time{}, nil
}

package learn

import (
	"fmt"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/schema"
)

// Train fits a model to the labelled rows of tbl (rows with an empty target
// are skipped) as sch declares. It holds out a seeded stratified validation
// share, fits every grid point on the rest, chooses each one's decision
// threshold on the validation rows by cfg.Threshold, scores it by
// cfg.Metric and refits the best setting on all rows, keeping its
// threshold; a one-point grid with a fixed threshold rule skips the split
// and fits on all rows at once. With a treatment
// column it also fits the two-model uplift learner: one regression on the
// control rows and one per treatment arm. Results are deterministic for a
// given seed.
func Train(tbl *dataset.Table, sch schema.Schema, cfg TrainConfig) (*Model, error) {
	if err := sch.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	// Labels, feature columns and fingerprint come from one pass over the
	// rows; a bad feature cell is reported once the settings are checked.
	sc, err := scanTable(tbl, sch, scanOptions{needArms: true, features: true, fingerprint: true})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	lb := sc.lb
	uplift := lb.arm != nil
	cfg = cfg.withDefaults()
	if err := cfg.validate(uplift); err != nil {
		return nil, err
	}
	var grid []Settings
	for _, c := range cfg.Cs {
		for _, cw := range cfg.ClassWeights {
			for _, t := range cfg.SelectThresholds {
				grid = append(grid, Settings{C: c, ClassWeight: cw, SelectThreshold: t, CorrLimit: cfg.CorrLimit,
					Impute: cfg.Impute, Tol: cfg.Tol, MaxIter: cfg.MaxIter, Threshold: cfg.Threshold.Value,
					ThresholdRule: cfg.Threshold.String(), Solver: cfg.Solver})
			}
		}
	}
	if n1 := sum(lb.y); n1 == 0 || n1 == float64(len(lb.y)) {
		return nil, fmt.Errorf("train: target has a single class in %d labelled rows (positive value %q?)", len(lb.y), sch.OfKind(schema.Target)[0].PositiveLabel())
	}
	m := &Model{FormatVersion: FormatVersion, Schema: sch, Seed: cfg.Seed, Fingerprint: sc.fingerprint, Rows: len(lb.rows)}
	best := grid[0]
	if len(grid) > 1 || cfg.Threshold.Rule != ThresholdFixed {
		// Metrics stay those of the best setting on validation rows until
		// the caller measures the refitted model on held-out rows.
		best, m.Search, m.Metrics, err = search(sc.cols, lb, cfg, grid)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	pl, d, err := fitPipeline(sc.cols, nil, cfg.Impute)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	corr := newCorrelations(d, lb.y)
	f, err := fitSetting(d, corr, lb, best, true)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	for j := range pl.Features {
		pl.Features[j].Selected = f.active[j]
		pl.Features[j].TargetCorr = corr.target[j]
	}
	m.Dropped = droppedFeatures(pl, corr, f.drops)
	m.Settings = best
	m.Pipeline = pl
	m.Propensity = f.propensity
	if uplift {
		m.Uplift = &UpliftModel{Treatment: lb.treat, Control: lb.control, ControlModel: f.control}
		for a, name := range lb.arms {
			m.Uplift.Arms = append(m.Uplift.Arms, ArmModel{Arm: name, Model: f.arms[a]})
		}
	}
	return m, nil
}

// droppedFeatures names the features selection dropped.
func droppedFeatures(pl *Pipeline, corr *correlations, drops []drop) []DroppedFeature {
	var out []DroppedFeature
	for _, dr := range drops {
		df := DroppedFeature{Feature: pl.Features[dr.j].Name, Reason: dr.reason, TargetCorr: corr.target[dr.j]}
		if dr.with >= 0 {
			df.With, df.PairCorr = pl.Features[dr.with].Name, dr.pair
		}
		out = append(out, df)
	}
	return out
}

// fitted is the result of fitting one setting on one set of rows.
type fitted struct {
	active     []bool // features kept by selection
	drops      []drop // and why the others were dropped
	propensity *LogReg
	control    *LogReg
	arms       []*LogReg
}

// fitSetting fits the regressions of one setting on a design whose
// correlations are known. The propensity model takes the setting's class
// weights, prior-corrected (see fitWeighted); the control and arm response
// models of the uplift learner are always fitted unweighted, since their
// difference is the uplift and must be on the probability scale.
func fitSetting(d *design, corr *correlations, lb *labelled, s Settings, withArms bool) (*fitted, error) {
	active, drops := corr.selectFeatures(s.SelectThreshold, s.CorrLimit)
	lr, err := fitWeighted(d, lb.y, active, s)
	if err != nil {
		return nil, fmt.Errorf("propensity model: %w", err)
	}
	f := &fitted{active: active, drops: drops, propensity: lr}
	if withArms && lb.arm != nil {
		fitGroup := func(group int) (*LogReg, error) {
			var pos []int
			for i, a := range lb.arm {
				if a == group {
					pos = append(pos, i)
				}
			}
			sub := d.subset(pos)
			y := make([]float64, len(pos))
			for k, i := range pos {
				y[k] = lb.y[i]
			}
			return fit(sub, y, nil, active, s.C, s.Tol, s.MaxIter, s.Solver)
		}
		if f.control, err = fitGroup(-1); err != nil {
			return nil, fmt.Errorf("control model: %w", err)
		}
		for a, name := range lb.arms {
			m, err := fitGroup(a)
			if err != nil {
				return nil, fmt.Errorf("arm %q model: %w", name, err)
			}
			f.arms = append(f.arms, m)
		}
	}
	return f, nil
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

// uplift returns per arm the predicted uplift p_arm − p_control of d's rows.
func (f *fitted) uplift(d *design) [][]float64 {
	pc := f.control.predict(d)
	out := make([][]float64, len(f.arms))
	for a, m := range f.arms {
		pa := m.predict(d)
		for i := range pa {
			pa[i] -= pc[i]
		}
		out[a] = pa
	}
	return out
}

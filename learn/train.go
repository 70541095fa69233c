package learn

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/schema"
)

// Metric names for model selection. Accuracy, recall and F1 are taken at
// the threshold the rule chooses for each setting on validation.
const (
	MetricROCAUC   = "roc_auc"
	MetricPRAUC    = "pr_auc"
	MetricLogLoss  = "log_loss"
	MetricBrier    = "brier"
	MetricAccuracy = "accuracy"
	MetricRecall   = "recall"
	MetricF1       = "f1"
	MetricQini     = "qini" // mean Qini coefficient over arms; uplift models only
	// MetricRecallAtPrefix followed by an integer K in 1..99, e.g.
	// "recall_at_20", is the recall among the top K % of rows by
	// probability.
	MetricRecallAtPrefix = "recall_at_"
)

// ValidMetric reports whether name is a selection metric Train accepts;
// uplift says whether the data has a treatment column (qini needs one).
// The empty name is the default, roc_auc.
func ValidMetric(name string, uplift bool) error {
	switch name {
	case "", MetricROCAUC, MetricPRAUC, MetricLogLoss, MetricBrier, MetricAccuracy, MetricRecall, MetricF1:
		return nil
	case MetricQini:
		if !uplift {
			return errors.New("metric qini needs a treatment column")
		}
		return nil
	}
	if _, ok := recallAtFraction(name); ok {
		return nil
	}
	return fmt.Errorf("unknown metric %q (want %s, %s, %s, %s, %s, %s, %s, %s or %sK with K in 1..99)", name,
		MetricROCAUC, MetricPRAUC, MetricLogLoss, MetricBrier, MetricAccuracy, MetricRecall, MetricF1, MetricQini, MetricRecallAtPrefix)
}

// recallAtFraction parses "recall_at_K" into K/100.
func recallAtFraction(name string) (float64, bool) {
	rest, ok := strings.CutPrefix(name, MetricRecallAtPrefix)
	if !ok {
		return 0, false
	}
	k, err := strconv.Atoi(rest)
	if err != nil || k < 1 || k > 99 || strconv.Itoa(k) != rest {
		return 0, false
	}
	return float64(k) / 100, true
}

// ClassWeight weights each row's loss by its class. The zero value weights
// every row 1.
type ClassWeight struct {
	// Balanced weights class k by n/(2·n_k), as scikit-learn's "balanced".
	Balanced bool `json:"balanced,omitempty"`
	// Positive, when set, weights positive rows by it and negative rows by 1.
	Positive float64 `json:"positive,omitempty"`
}

// String names the weighting for summaries.
func (cw ClassWeight) String() string {
	switch {
	case cw.Balanced:
		return "balanced"
	case cw.Positive > 0:
		return fmt.Sprintf("positive=%g", cw.Positive)
	}
	return "none"
}

// classWeights returns the weights of positive and negative rows for
// labels y; ok is false when the fit is unweighted (no weighting, or
// balanced weights on a single class).
func (cw ClassWeight) classWeights(y []float64) (w1, w0 float64, ok bool) {
	switch {
	case cw.Balanced:
		n1 := sum(y)
		n := float64(len(y))
		if n1 == 0 || n1 == n {
			return 0, 0, false
		}
		return n / (2 * n1), n / (2 * (n - n1)), true
	case cw.Positive > 0:
		return cw.Positive, 1, true
	}
	return 0, 0, false
}

// weights returns the row weights for labels y, nil when unweighted.
func (cw ClassWeight) weights(y []float64) []float64 {
	w1, w0, ok := cw.classWeights(y)
	if !ok {
		return nil
	}
	w := make([]float64, len(y))
	for i, v := range y {
		w[i] = w0
		if v == 1 {
			w[i] = w1
		}
	}
	return w
}

// fitWeighted fits a regression with the setting's class weights and then applies
// the prior correction, so that its probabilities are calibrated to the
// base rate of y rather than to the reweighted one:
//
//	Intercept −= log(w1/w0)
//
// where w1 and w0 are the weights of positive and negative rows actually
// used (balanced: w1 = n/(2·n1), w0 = n/(2·n0)). Weighting the classes
// multiplies the odds the fit sees by w1/w0; for a logistic model that
// fits the data this shifts only the intercept, by exactly that log ratio.
// The coefficients, and so the ranking, keep what the weighting gave them.
// LogReg.PriorCorrection records the amount subtracted.
func fitWeighted(d *design, y []float64, active []bool, s Settings) (*LogReg, error) {
	cw := s.ClassWeight
	lr, err := fit(d, y, cw.weights(y), active, s.C, s.Tol, s.MaxIter, s.Solver)
	if err != nil {
		return nil, err
	}
	if w1, w0, ok := cw.classWeights(y); ok {
		lr.PriorCorrection = math.Log(w1 / w0)
		lr.Intercept -= lr.PriorCorrection
	}
	return lr, nil
}

// TrainConfig configures Train. Zero fields take the defaults named on
// each. A grid with one point and a fixed threshold rule skips the
// validation split.
type TrainConfig struct {
	Seed int64
	// Cs are the inverse L2 penalties to try (default 0.01, 0.1, 1, 10);
	// C = 1 means the same as scikit-learn's C = 1.
	Cs []float64
	// ClassWeights to try (default none and balanced).
	ClassWeights []ClassWeight
	// SelectThresholds are minimum |Pearson r| with the target to try
	// (default 0 and 0.01); 0 keeps every feature.
	SelectThresholds []float64
	// CorrLimit drops the weaker of two features whose |r| is above it
	// (default 0.95; 1 or more turns it off).
	CorrLimit float64
	// ValidationFraction is the stratified share held out to compare
	// settings (default 0.2).
	ValidationFraction float64
	// Metric picks the best setting on validation (default roc_auc).
	Metric string
	// MaxIter caps L-BFGS iterations (default 1000); Tol is the gradient
	// tolerance on the row-averaged objective (default 1e-8).
	MaxIter int
	Tol     float64
	// Impute is "median" (default) or "mean".
	Impute string
	// Threshold chooses the probability at or above which a row is
	// called positive, on the validation predictions of each setting
	// (default ThresholdF1).
	Threshold ThresholdRule
	// Solver is SolverNewton, SolverLBFGS or SolverAuto (default): Newton
	// when the Hessian is small, else L-BFGS.
	Solver string
}

// withDefaults fills zero fields.
func (c TrainConfig) withDefaults() TrainConfig {
	if len(c.Cs) == 0 {
		c.Cs = []float64{0.01, 0.1, 1, 10}
	}
	if len(c.ClassWeights) == 0 {
		c.ClassWeights = []ClassWeight{{}, {Balanced: true}}
	}
	if len(c.SelectThresholds) == 0 {
		c.SelectThresholds = []float64{0, 0.01}
	}
	if c.CorrLimit == 0 {
		c.CorrLimit = 0.95
	}
	if c.ValidationFraction == 0 {
		c.ValidationFraction = 0.2
	}
	if c.Metric == "" {
		c.Metric = MetricROCAUC
	}
	if c.MaxIter == 0 {
		c.MaxIter = 1000
	}
	if c.Tol == 0 {
		c.Tol = 1e-8
	}
	if c.Impute == "" {
		c.Impute = ImputeMedian
	}
	c.Threshold = c.Threshold.withDefault()
	return c
}

// validate rejects settings that cannot work.
func (c TrainConfig) validate(uplift bool) error {
	for _, v := range c.Cs {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("train config: C %v is not a positive finite number", v)
		}
	}
	for _, cw := range c.ClassWeights {
		if cw.Positive < 0 || math.IsNaN(cw.Positive) || math.IsInf(cw.Positive, 0) {
			return fmt.Errorf("train config: class weight %v is not a positive finite number", cw.Positive)
		}
	}
	for _, t := range c.SelectThresholds {
		if !(t >= 0 && t < 1) {
			return fmt.Errorf("train config: selection threshold %v not in [0, 1)", t)
		}
	}
	if !(c.ValidationFraction > 0 && c.ValidationFraction < 1) {
		return fmt.Errorf("train config: validation fraction %v not in (0, 1)", c.ValidationFraction)
	}
	if err := ValidMetric(c.Metric, uplift); err != nil {
		return fmt.Errorf("train config: %w", err)
	}
	if err := c.Threshold.Validate(); err != nil {
		return fmt.Errorf("train config: %w", err)
	}
	switch c.Solver {
	case SolverAuto, SolverNewton, SolverLBFGS:
	default:
		return fmt.Errorf("train config: unknown solver %q", c.Solver)
	}
	if c.MaxIter < 0 || !(c.Tol > 0) {
		return fmt.Errorf("train config: max iter %d and tol %v must be positive", c.MaxIter, c.Tol)
	}
	return nil
}

// Settings are the hyperparameters of one fitted model.
type Settings struct {
	C               float64     `json:"c"`
	ClassWeight     ClassWeight `json:"class_weight"`
	SelectThreshold float64     `json:"select_threshold"`
	CorrLimit       float64     `json:"corr_limit"`
	Impute          string      `json:"impute"`
	Tol             float64     `json:"tol"`
	MaxIter         int         `json:"max_iter"`
	// Threshold is the decision threshold ThresholdRule chose on the
	// validation split (or its fixed value).
	Threshold     float64 `json:"threshold"`
	ThresholdRule string  `json:"threshold_rule"`
	Solver        string  `json:"solver,omitempty"`
}

// SearchResult is the validation score of one grid point.
type SearchResult struct {
	Settings Settings `json:"settings"`
	Metric   string   `json:"metric"`
	Score    float64  `json:"score"`
	Features int      `json:"features"` // selected features
}

// labelled holds the parsed target (and treatment) of a table's rows.
type labelled struct {
	rows    []int     // table rows with a non-empty target
	y       []float64 // 0/1 per labelled row
	arm     []int     // per labelled row: -1 control, else index into arms
	arms    []string  // treatment arms other than control, sorted
	control string
	treat   string // treatment column name, "" if none
}

// subset returns the labels of the labelled rows at positions pos.
func (lb *labelled) subset(pos []int) *labelled {
	out := &labelled{arms: lb.arms, control: lb.control, treat: lb.treat}
	for _, i := range pos {
		out.rows = append(out.rows, lb.rows[i])
		out.y = append(out.y, lb.y[i])
		if lb.arm != nil {
			out.arm = append(out.arm, lb.arm[i])
		}
	}
	return out
}

// strata returns a stratification key per labelled row: target, and arm
// when there is a treatment.
func (lb *labelled) strata() []string {
	s := make([]string, len(lb.y))
	for i, y := range lb.y {
		s[i] = fmt.Sprint(y)
		if lb.arm != nil {
			s[i] += "|" + fmt.Sprint(lb.arm[i])
		}
	}
	return s
}

// StratifiedSplit splits positions 0..len(groups)-1 into train and test so
// that each group (e.g. each target value) is split in the same proportion:
// round(frac·n_g) of a group's rows, chosen by a seeded shuffle, go to test.
// Both slices are sorted.
func StratifiedSplit(groups []string, frac float64, seed int64) (train, test []int) {
	byGroup := map[string][]int{}
	var keys []string
	for i, g := range groups {
		if _, ok := byGroup[g]; !ok {
			keys = append(keys, g)
		}
		byGroup[g] = append(byGroup[g], i)
	}
	slices.Sort(keys)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x70726f6d6f666c6f))
	for _, k := range keys {
		idx := byGroup[k]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		nt := int(math.Round(frac * float64(len(idx))))
		test = append(test, idx[:nt]...)
		train = append(train, idx[nt:]...)
	}
	slices.Sort(train)
	slices.Sort(test)
	return train, test
}

// fingerprintChunk is the number of rows hashed together by Fingerprint.
const fingerprintChunk = 1 << 16

// Fingerprint returns "sha256:<hex>" identifying the table's content: the
// sha256 of the header followed by the sha256 digests of each block of
// 65536 rows, fields and rows delimited by ASCII unit and record
// separators, so the value does not depend on quoting or separator. Blocks
// are hashed in parallel.
func Fingerprint(tbl *dataset.Table) string {
	nchunks := (len(tbl.Rows) + fingerprintChunk - 1) / fingerprintChunk
	sums := make([][sha256.Size]byte, nchunks)
	parallelFor(nchunks, func(c int) {
		h := newBlockHasher()
		for _, r := range tbl.Rows[c*fingerprintChunk : min(len(tbl.Rows), (c+1)*fingerprintChunk)] {
			h.add(r)
		}
		h.sum(&sums[c])
	})
	return fingerprintOf(tbl.Header, sums)
}

// appendRecord appends fields joined by 0x1f and ended by 0x1e.
func appendRecord(buf []byte, rec []string) []byte {
	for i, f := range rec {
		if i > 0 {
			buf = append(buf, 0x1f)
		}
		buf = append(buf, f...)
	}
	return append(buf, 0x1e)
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

// subset returns the design rows at positions pos.
func (d *design) subset(pos []int) *design {
	s := &design{n: len(pos), pd: d.pd, nc: d.nc, p: d.p, x: make([]float64, len(pos)*d.pd), cat: make([]int32, len(pos)*d.nc)}
	for k, i := range pos {
		copy(s.x[k*d.pd:(k+1)*d.pd], d.x[i*d.pd:(i+1)*d.pd])
		copy(s.cat[k*d.nc:(k+1)*d.nc], d.cat[i*d.nc:(i+1)*d.nc])
	}
	return s
}

// metricScore returns the value of metric on a validation set, oriented
// so that higher is better; threshold is the setting's decision threshold.
func metricScore(metric string, y, p []float64, threshold float64, lb *labelled, u [][]float64) float64 {
	switch metric {
	case MetricPRAUC:
		return AveragePrecision(y, p)
	case MetricLogLoss:
		return -LogLoss(y, p)
	case MetricBrier:
		return -Brier(y, p)
	case MetricAccuracy:
		return AtThreshold(y, p, threshold).Accuracy
	case MetricRecall:
		return AtThreshold(y, p, threshold).Recall
	case MetricF1:
		return AtThreshold(y, p, threshold).F1
	case MetricQini:
		var s float64
		for a := range lb.arms {
			yy, uu, tt := armRows(lb, a, u[a])
			s += QiniCoefficient(yy, uu, tt)
		}
		return s / float64(len(lb.arms))
	}
	if k, ok := recallAtFraction(metric); ok {
		return AtTopK(y, p, k).Recall
	}
	return ROCAUC(y, p)
}

// armRows picks the rows of arm a and of control with their labels and
// predicted uplift.
func armRows(lb *labelled, a int, u []float64) (y, up []float64, treated []bool) {
	for i, g := range lb.arm {
		if g == a || g == -1 {
			y = append(y, lb.y[i])
			up = append(up, u[i])
			treated = append(treated, g == a)
		}
	}
	return y, up, treated
}

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

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

// search scores every grid point on a validation split and returns the
// best setting, with the decision threshold its rule chose there, all
// scores and its validation metrics (taken at that threshold).
func search(cols *columns, lb *labelled, cfg TrainConfig, grid []Settings) (Settings, []SearchResult, Metrics, error) {
	trPos, vaPos := StratifiedSplit(lb.strata(), cfg.ValidationFraction, cfg.Seed)
	if len(trPos) == 0 || len(vaPos) == 0 {
		return Settings{}, nil, Metrics{}, fmt.Errorf("model selection: %d labelled rows are too few to split", len(lb.y))
	}
	tr, va := lb.subset(trPos), lb.subset(vaPos)
	if n1 := sum(va.y); n1 == 0 || n1 == float64(len(va.y)) {
		return Settings{}, nil, Metrics{}, fmt.Errorf("model selection: validation split has a single class")
	}
	pl, d, err := fitPipeline(cols, trPos, cfg.Impute)
	if err != nil {
		return Settings{}, nil, Metrics{}, err
	}
	dv, err := pl.transformColumns(cols, vaPos)
	if err != nil {
		return Settings{}, nil, Metrics{}, err
	}
	corr := newCorrelations(d, tr.y)
	withArms := cfg.Metric == MetricQini
	results := make([]SearchResult, 0, len(grid))
	bestIdx, bestScore := -1, math.Inf(-1)
	var bestP []float64
	var bestU [][]float64
	for i, s := range grid {
		f, err := fitSetting(d, corr, tr, s, withArms)
		if err != nil {
			return Settings{}, nil, Metrics{}, fmt.Errorf("setting C=%g class weight %v threshold %g: %w", s.C, s.ClassWeight, s.SelectThreshold, err)
		}
		p := f.propensity.predict(dv)
		var u [][]float64
		if withArms {
			u = f.uplift(dv)
		}
		s.Threshold = ChooseThreshold(va.y, p, cfg.Threshold)
		sc := metricScore(cfg.Metric, va.y, p, s.Threshold, va, u)
		nsel := 0
		for _, a := range f.active {
			if a {
				nsel++
			}
		}
		results = append(results, SearchResult{Settings: s, Metric: cfg.Metric, Score: orient(cfg.Metric, sc), Features: nsel})
		if bestIdx < 0 || sc > bestScore {
			bestIdx, bestScore, bestP, bestU = i, sc, p, u
		}
	}
	best := results[bestIdx].Settings
	met := computeMetrics(va, bestP, bestU, best.Threshold)
	met.On = "validation"
	return best, results, met, nil
}

// orient turns a higher-is-better score into the metric's own value.
func orient(metric string, s float64) float64 {
	if metric == MetricLogLoss || metric == MetricBrier {
		return -s
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

package drift

import (
	"fmt"
	"math"
	"slices"
)

// Test names, as stored in the drift history and used as the `test` label
// of the drift gauge.
const (
	TestPSI = "psi"
	TestKS  = "ks"
	TestJS  = "js"
)

// Feature kinds of a drift result.
const (
	KindNumeric     = "numeric"
	KindCategorical = "categorical"
	KindScore       = "score"
)

// Severity of a feature's drift.
const (
	SeverityOK   = "ok"
	SeverityWarn = "warn"
	SeverityAct  = "act"
)

// Config holds a model's drift limits. The zero value is not useful; start
// from DefaultConfig.
type Config struct {
	// PSIWarn and PSIAct are the PSI levels at which a feature warns and
	// counts as drifted (defaults 0.1 and 0.25).
	PSIWarn float64 `json:"psi_warn" yaml:"psi_warn"`
	PSIAct  float64 `json:"psi_act" yaml:"psi_act"`
	// KSAlpha is the KS significance level and KSMinEffect the smallest KS
	// statistic that may flag a feature: with a million rows a negligible
	// shift is "significant", so both must hold (defaults 0.05 and 0.1).
	KSAlpha     float64 `json:"ks_alpha" yaml:"ks_alpha"`
	KSMinEffect float64 `json:"ks_min_effect" yaml:"ks_min_effect"`
	// DriftedShare is the share of drifted features at which the whole
	// data set counts as drifted (default 0.5).
	DriftedShare float64 `json:"drifted_share" yaml:"drifted_share"`
}

// DefaultConfig returns the default drift limits.
func DefaultConfig() Config {
	return Config{PSIWarn: 0.1, PSIAct: 0.25, KSAlpha: 0.05, KSMinEffect: 0.1, DriftedShare: 0.5}
}

// Validate checks that the limits are ordered and in range.
func (c Config) Validate() error {
	switch {
	case !(c.PSIWarn > 0 && c.PSIWarn <= c.PSIAct):
		return fmt.Errorf("drift config: want 0 < psi_warn (%g) <= psi_act (%g)", c.PSIWarn, c.PSIAct)
	case !(c.KSAlpha > 0 && c.KSAlpha < 1):
		return fmt.Errorf("drift config: ks_alpha %g not in (0, 1)", c.KSAlpha)
	case !(c.KSMinEffect >= 0 && c.KSMinEffect <= 1):
		return fmt.Errorf("drift config: ks_min_effect %g not in [0, 1]", c.KSMinEffect)
	case !(c.DriftedShare > 0 && c.DriftedShare <= 1):
		return fmt.Errorf("drift config: drifted_share %g not in (0, 1]", c.DriftedShare)
	}
	return nil
}

// Numeric is a numeric feature's reference: its sorted finite values and
// the PSI bins they define. Build it once with NewNumeric and compare many
// days against it.
type Numeric struct {
	Sorted []float64
	Edges  []float64
	Counts []int64
}

// NewNumeric prepares a reference from raw values (NaNs dropped).
func NewNumeric(values []float64) *Numeric {
	s := sortedFinite(values)
	edges := QuantileEdges(s)
	return &Numeric{Sorted: s, Edges: edges, Counts: BinCountsSorted(edges, s)}
}

// Categorical is a categorical feature's reference: counts per level.
type Categorical struct {
	Counts map[string]int64
}

// NewCategorical prepares a reference from raw levels (empty strings are
// missing and dropped).
func NewCategorical(levels []string) *Categorical {
	return &Categorical{Counts: levelCounts(levels)}
}

func levelCounts(levels []string) map[string]int64 {
	c := map[string]int64{}
	for _, l := range levels {
		if l != "" {
			c[l]++
		}
	}
	return c
}

// Bins are the PSI bins of one feature and the reference's and the day's
// rows in each: what a drift check stores of a feature and its report
// draws.
type Bins struct {
	// Edges are the upper edges of a numeric feature's bins (the last bin
	// is open); Levels name a categorical feature's bins.
	Edges     []float64 `json:"edges,omitempty"`
	Levels    []string  `json:"levels,omitempty"`
	RefCounts []int64   `json:"ref_counts"`
	CurCounts []int64   `json:"cur_counts"`
	// RefRows and CurRows are the rows counted: the sums of the counts.
	RefRows int64 `json:"ref_rows"`
	CurRows int64 `json:"cur_rows"`
}

// Result is the drift of one feature (or of the score) on one day.
type Result struct {
	Feature string `json:"feature"`
	Kind    string `json:"kind"`
	Bins
	PSI float64 `json:"psi"`
	// KS is set for numeric features and the score only.
	KS *KSResult `json:"ks,omitempty"`
	JS float64   `json:"js"`
	// KSFlag is true when KS p < alpha and the statistic ≥ the minimum effect.
	KSFlag   bool   `json:"ks_flag"`
	Severity string `json:"severity"`
	// Drifted is true when PSI ≥ PSIAct or KSFlag.
	Drifted bool `json:"drifted"`
}

// CompareNumeric measures a day's values of a numeric feature against its
// reference and judges them by cfg.
func CompareNumeric(cfg Config, name string, ref *Numeric, cur []float64) Result {
	s := sortedFinite(cur)
	counts := BinCountsSorted(ref.Edges, s)
	r := Result{Feature: name, Kind: KindNumeric, Bins: Bins{
		Edges: ref.Edges, RefCounts: ref.Counts, CurCounts: counts,
		RefRows: int64(len(ref.Sorted)), CurRows: int64(len(s)),
	}}
	if len(s) == 0 || len(ref.Sorted) == 0 {
		r.PSI, r.JS = math.NaN(), math.NaN()
		r.Severity = SeverityOK
		return r
	}
	r.PSI = PSICounts(ref.Counts, counts)
	r.JS = JSDistance(floats(ref.Counts), floats(counts))
	ks := KSSorted(ref.Sorted, s)
	r.KS = &ks
	r.judge(cfg)
	return r
}

// CompareCategorical measures a day's levels of a categorical feature
// against its reference: PSI and Jensen–Shannon distance over the union of
// levels.
func CompareCategorical(cfg Config, name string, ref *Categorical, cur []string) Result {
	cc := levelCounts(cur)
	var levels []string
	for l := range ref.Counts {
		levels = append(levels, l)
	}
	for l := range cc {
		if _, ok := ref.Counts[l]; !ok {
			levels = append(levels, l)
		}
	}
	slices.Sort(levels)
	r := Result{Feature: name, Kind: KindCategorical, Bins: Bins{Levels: levels}}
	for _, l := range levels {
		r.RefCounts = append(r.RefCounts, ref.Counts[l])
		r.CurCounts = append(r.CurCounts, cc[l])
		r.RefRows += ref.Counts[l]
		r.CurRows += cc[l]
	}
	if r.RefRows == 0 || r.CurRows == 0 {
		r.PSI, r.JS = math.NaN(), math.NaN()
		r.Severity = SeverityOK
		return r
	}
	r.PSI = PSICounts(r.RefCounts, r.CurCounts)
	r.JS = JSDistance(floats(r.RefCounts), floats(r.CurCounts))
	r.judge(cfg)
	return r
}

// judge sets the KS flag, severity and drifted verdict from the limits.
func (r *Result) judge(cfg Config) {
	r.KSFlag = r.KS != nil && r.KS.PValue < cfg.KSAlpha && r.KS.Statistic >= cfg.KSMinEffect
	switch {
	case r.PSI >= cfg.PSIAct:
		r.Severity = SeverityAct
	case r.PSI >= cfg.PSIWarn || r.KSFlag:
		r.Severity = SeverityWarn
	default:
		r.Severity = SeverityOK
	}
	r.Drifted = r.PSI >= cfg.PSIAct || r.KSFlag
}

// Summary is the whole-data-set verdict over the features (the score is
// judged on its own and not counted).
type Summary struct {
	Features     int     `json:"features"`
	Drifted      int     `json:"drifted"`
	DriftedShare float64 `json:"drifted_share"`
	// DatasetDrift is true when DriftedShare ≥ Config.DriftedShare.
	DatasetDrift bool `json:"dataset_drift"`
}

// Summarise applies the share-of-drifted-features rule to features'
// results; results of kind score are ignored.
func Summarise(cfg Config, results []Result) Summary {
	var s Summary
	for _, r := range results {
		if r.Kind == KindScore || math.IsNaN(r.PSI) {
			continue
		}
		s.Features++
		if r.Drifted {
			s.Drifted++
		}
	}
	if s.Features > 0 {
		s.DriftedShare = float64(s.Drifted) / float64(s.Features)
		s.DatasetDrift = s.DriftedShare >= cfg.DriftedShare
	}
	return s
}

// CompareScores measures the drift of a model's score distribution
// (propensities) against the scores of its reference rows; it is a numeric
// comparison reported as kind score under the name "score".
func CompareScores(cfg Config, ref *Numeric, cur []float64) Result {
	r := CompareNumeric(cfg, "score", ref, cur)
	r.Kind = KindScore
	return r
}

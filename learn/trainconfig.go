package learn

import (
	"fmt"
	"math"
)

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

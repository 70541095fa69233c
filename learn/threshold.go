package learn

import (
	"fmt"
	"math"

	"github.com/promoflow/promoflow/rank"
)

// Rules for choosing the decision threshold (ThresholdRule.Rule).
const (
	ThresholdF1          = "f1"           // maximise F1 (the default)
	ThresholdYouden      = "youden"       // maximise Youden's J = TPR − FPR
	ThresholdTopFraction = "top_fraction" // call a fixed share of rows positive
	ThresholdCost        = "cost"         // minimise FP·cost_fp + FN·cost_fn
	ThresholdFixed       = "fixed"        // a given threshold
)

// defaultThreshold is what ChooseThreshold returns when it has no rows.
const defaultThreshold = 0.5

// ThresholdRule says how Train chooses the decision threshold on the validation split.
type ThresholdRule struct {
	Rule          string  `json:"rule"`                     // ThresholdF1 ("f1", default), ThresholdYouden ("youden"), ThresholdTopFraction ("top_fraction"), ThresholdCost ("cost"), ThresholdFixed ("fixed")
	TopFraction   float64 `json:"top_fraction,omitempty"`   // share of rows called positive, in (0,1)
	FalsePositive float64 `json:"false_positive,omitempty"` // cost of one false positive (rule cost)
	FalseNegative float64 `json:"false_negative,omitempty"` // cost of one false negative (rule cost)
	Value         float64 `json:"value,omitempty"`          // the threshold itself (rule fixed), in (0,1)
}

// FixedThreshold returns the rule that always decides at t.
func FixedThreshold(t float64) ThresholdRule {
	return ThresholdRule{Rule: ThresholdFixed, Value: t}
}

// withDefault names the default rule.
func (r ThresholdRule) withDefault() ThresholdRule {
	if r.Rule == "" {
		r.Rule = ThresholdF1
	}
	return r
}

// Validate checks that the rule is known and that exactly its own
// parameters are set, in range. An empty Rule is the default f1.
func (r ThresholdRule) Validate() error {
	r = r.withDefault()
	set := map[string]bool{
		"top_fraction":   r.TopFraction != 0,
		"false_positive": r.FalsePositive != 0,
		"false_negative": r.FalseNegative != 0,
		"value":          r.Value != 0,
	}
	var own []string
	switch r.Rule {
	case ThresholdF1, ThresholdYouden:
	case ThresholdTopFraction:
		own = []string{"top_fraction"}
		if !(r.TopFraction > 0 && r.TopFraction < 1) {
			return fmt.Errorf("threshold rule top_fraction: top_fraction %v not in (0, 1)", r.TopFraction)
		}
	case ThresholdCost:
		own = []string{"false_positive", "false_negative"}
		if !(r.FalsePositive > 0) || !(r.FalseNegative > 0) || math.IsInf(r.FalsePositive, 0) || math.IsInf(r.FalseNegative, 0) {
			return fmt.Errorf("threshold rule cost: false_positive %v and false_negative %v must both be positive finite costs", r.FalsePositive, r.FalseNegative)
		}
	case ThresholdFixed:
		own = []string{"value"}
		if !(r.Value > 0 && r.Value < 1) {
			return fmt.Errorf("threshold rule fixed: value %v not in (0, 1)", r.Value)
		}
	default:
		return fmt.Errorf("threshold rule %q is unknown (want %s, %s, %s, %s or %s)", r.Rule,
			ThresholdF1, ThresholdYouden, ThresholdTopFraction, ThresholdCost, ThresholdFixed)
	}
	for _, k := range own {
		delete(set, k)
	}
	for _, k := range []string{"top_fraction", "false_positive", "false_negative", "value"} {
		if set[k] {
			return fmt.Errorf("threshold rule %s takes no %s", r.Rule, k)
		}
	}
	return nil
}

// String names the rule with its parameters, e.g. "cost(fp=1,fn=5)".
func (r ThresholdRule) String() string {
	r = r.withDefault()
	switch r.Rule {
	case ThresholdTopFraction:
		return fmt.Sprintf("%s(%g)", r.Rule, r.TopFraction)
	case ThresholdCost:
		return fmt.Sprintf("%s(fp=%g,fn=%g)", r.Rule, r.FalsePositive, r.FalseNegative)
	case ThresholdFixed:
		return fmt.Sprintf("%s(%g)", r.Rule, r.Value)
	}
	return r.Rule
}

// ChooseThreshold returns the decision threshold rule r picks for scores
// p against 0/1 labels y; a row is called positive when p >= threshold, as
// in AtThreshold. The candidates are the distinct scores:
//
//   - f1 maximises F1 = 2·TP/(2·TP + FP + FN);
//   - youden maximises TPR − FPR;
//   - cost minimises FP·FalsePositive + FN·FalseNegative, where calling
//     no row positive (a threshold just above the highest score) is also a
//     candidate;
//   - top_fraction returns the score of the int(TopFraction·n)-th highest
//     row (at least the first), so about that share is called positive
//     (more when that score is tied);
//   - fixed returns Value.
//
// Among equally good candidates the highest threshold wins. With no rows
// it returns 0.5. r is assumed valid (see Validate).
func ChooseThreshold(y, p []float64, r ThresholdRule) float64 {
	r = r.withDefault()
	switch r.Rule {
	case ThresholdFixed:
		return r.Value
	case ThresholdTopFraction:
		return topFractionThreshold(p, r.TopFraction)
	}
	if len(p) == 0 {
		return defaultThreshold
	}
	npos := sum(y)
	nneg := float64(len(y)) - npos
	best, bestT := math.Inf(-1), defaultThreshold
	if r.Rule == ThresholdCost {
		best, bestT = -npos*r.FalseNegative, math.Nextafter(maxOf(p), math.Inf(1))
	}
	thresholds(y, p, func(t, tp, fp float64) {
		var v float64
		switch r.Rule {
		case ThresholdYouden:
			v = frac(tp, npos) - frac(fp, nneg)
		case ThresholdCost:
			v = -(fp*r.FalsePositive + (npos-tp)*r.FalseNegative)
		default:
			v = 2 * tp / (tp + fp + npos)
		}
		if v > best {
			best, bestT = v, t
		}
	})
	return bestT
}

// topFractionThreshold returns the score of the int(f·n)-th highest row,
// at least the highest one.
func topFractionThreshold(p []float64, f float64) float64 {
	if len(p) == 0 {
		return defaultThreshold
	}
	idx := rank.Descending(p)
	k := max(1, int(f*float64(len(p))))
	return p[idx[k-1]]
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

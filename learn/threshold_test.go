package learn

import (
	"math"
	"strings"
	"testing"
)

// thresholdRows are ten rows whose labels by falling score are
// 1 1 1 0 0 0 1 1 0 0 (five positives), given out of order. Walking the
// thresholds from the top (TP, FP; F1 = 2TP/(TP+FP+5); J = TP/5 − FP/5):
//
//	0.9 (1,0) F1 .333 J .2   0.5  (3,2) F1 .600 J .2
//	0.8 (2,0) F1 .571 J .4   0.4  (3,3) F1 .545 J 0
//	0.7 (3,0) F1 .750 J .6   0.35 (4,3) F1 .667 J .2
//	0.6 (3,1) F1 .667 J .4   0.3  (5,3) F1 .769 J .4
//	0.2 (5,4) F1 .714 J .2   0.1  (5,5) F1 .667 J 0
var (
	thresholdP = []float64{0.4, 0.9, 0.1, 0.35, 0.7, 0.2, 0.8, 0.5, 0.3, 0.6}
	thresholdY = []float64{0, 1, 0, 1, 1, 0, 1, 0, 1, 0}
)

func TestChooseThreshold(t *testing.T) {
	tests := []struct {
		name string
		y, p []float64
		rule ThresholdRule
		want float64
	}{
		{"f1 best at 0.3", thresholdY, thresholdP, ThresholdRule{Rule: ThresholdF1}, 0.3},
		{"empty rule is f1", thresholdY, thresholdP, ThresholdRule{}, 0.3},
		{"youden best at 0.7", thresholdY, thresholdP, ThresholdRule{Rule: ThresholdYouden}, 0.7},
		// FP + 3·FN: 0.9→12, 0.8→9, 0.7→6, 0.6→7, 0.5→8, 0.4→9,
		// 0.35→6, 0.3→3, 0.2→4, 0.1→5, nobody→15.
		{"cost fn dear", thresholdY, thresholdP, ThresholdRule{Rule: ThresholdCost, FalsePositive: 1, FalseNegative: 3}, 0.3},
		// 3·FP + FN: 0.9→4, 0.8→3, 0.7→2, 0.6→5, later ≥ 5, nobody→5.
		{"cost fp dear", thresholdY, thresholdP, ThresholdRule{Rule: ThresholdCost, FalsePositive: 3, FalseNegative: 1}, 0.7},
		// Calling row 0.9 costs 10 + 1, row 0.2 too costs 10, nobody 1.
		{"cost calls nobody", []float64{0, 1}, []float64{0.9, 0.2}, ThresholdRule{Rule: ThresholdCost, FalsePositive: 10, FalseNegative: 1}, math.Nextafter(0.9, 1)},
		// int(0.3·10) = 3 rows: 0.9, 0.8, 0.7.
		{"top 30%", thresholdY, thresholdP, ThresholdRule{Rule: ThresholdTopFraction, TopFraction: 0.3}, 0.7},
		// int(0.25·10) = 2 rows.
		{"top 25% rounds down", thresholdY, thresholdP, ThresholdRule{Rule: ThresholdTopFraction, TopFraction: 0.25}, 0.8},
		// int(0.01·10) = 0, at least one row.
		{"top fraction at least one row", thresholdY, thresholdP, ThresholdRule{Rule: ThresholdTopFraction, TopFraction: 0.01}, 0.9},
		{"fixed", thresholdY, thresholdP, FixedThreshold(0.42), 0.42},
		// Youden ties at J = 1/2 for 0.8 (1/2 − 0) and 0.3 (1 − 1/2):
		// the higher threshold wins.
		{"tie keeps the higher threshold", []float64{1, 0, 1, 0}, []float64{0.8, 0.5, 0.3, 0.1}, ThresholdRule{Rule: ThresholdYouden}, 0.8},
		{"no rows", nil, nil, ThresholdRule{}, 0.5},
	}
	for _, tc := range tests {
		if got := ChooseThreshold(tc.y, tc.p, tc.rule); got != tc.want {
			t.Errorf("%s: ChooseThreshold = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestChooseThresholdDecisions checks the decisions the chosen thresholds
// make: p >= threshold, so ties at the threshold are all called positive.
func TestChooseThresholdDecisions(t *testing.T) {
	y, p := []float64{0, 1, 1, 0}, []float64{0.5, 0.5, 0.5, 0.1}
	th := ChooseThreshold(y, p, ThresholdRule{Rule: ThresholdTopFraction, TopFraction: 0.25})
	if got := AtThreshold(y, p, th); got.TP+got.FP != 3 {
		t.Errorf("top 25%% of tied rows: %d called positive, want the 3 tied rows", got.TP+got.FP)
	}
	th = ChooseThreshold([]float64{0, 1}, []float64{0.9, 0.2}, ThresholdRule{Rule: ThresholdCost, FalsePositive: 10, FalseNegative: 1})
	if got := AtThreshold([]float64{0, 1}, []float64{0.9, 0.2}, th); got.TP+got.FP != 0 {
		t.Errorf("cost rule calling nobody: %d called positive", got.TP+got.FP)
	}
}

func TestThresholdRuleValidate(t *testing.T) {
	tests := []struct {
		name    string
		rule    ThresholdRule
		wantErr string // "" for valid
	}{
		{"default", ThresholdRule{}, ""},
		{"f1", ThresholdRule{Rule: ThresholdF1}, ""},
		{"youden", ThresholdRule{Rule: ThresholdYouden}, ""},
		{"top fraction", ThresholdRule{Rule: ThresholdTopFraction, TopFraction: 0.2}, ""},
		{"cost", ThresholdRule{Rule: ThresholdCost, FalsePositive: 1, FalseNegative: 5}, ""},
		{"fixed", FixedThreshold(0.5), ""},
		{"unknown", ThresholdRule{Rule: "median"}, `threshold rule "median" is unknown`},
		{"top fraction 1", ThresholdRule{Rule: ThresholdTopFraction, TopFraction: 1}, "top_fraction 1 not in (0, 1)"},
		{"top fraction missing", ThresholdRule{Rule: ThresholdTopFraction}, "top_fraction 0 not in (0, 1)"},
		{"cost without fn", ThresholdRule{Rule: ThresholdCost, FalsePositive: 1}, "must both be positive"},
		{"cost negative", ThresholdRule{Rule: ThresholdCost, FalsePositive: -1, FalseNegative: 1}, "must both be positive"},
		{"cost infinite", ThresholdRule{Rule: ThresholdCost, FalsePositive: math.Inf(1), FalseNegative: 1}, "finite"},
		{"fixed without value", ThresholdRule{Rule: ThresholdFixed}, "value 0 not in (0, 1)"},
		{"fixed NaN", FixedThreshold(math.NaN()), "value NaN not in (0, 1)"},
		{"f1 with a value", ThresholdRule{Value: 0.5}, "threshold rule f1 takes no value"},
		{"top fraction with costs", ThresholdRule{Rule: ThresholdTopFraction, TopFraction: 0.1, FalseNegative: 2}, "takes no false_negative"},
	}
	for _, tc := range tests {
		err := tc.rule.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: Validate() = %v, want an error containing %q", tc.name, err, tc.wantErr)
		}
	}
}

func TestThresholdRuleString(t *testing.T) {
	tests := []struct {
		rule ThresholdRule
		want string
	}{
		{ThresholdRule{}, "f1"},
		{ThresholdRule{Rule: ThresholdYouden}, "youden"},
		{ThresholdRule{Rule: ThresholdTopFraction, TopFraction: 0.2}, "top_fraction(0.2)"},
		{ThresholdRule{Rule: ThresholdCost, FalsePositive: 1, FalseNegative: 5}, "cost(fp=1,fn=5)"},
		{FixedThreshold(0.5), "fixed(0.5)"},
	}
	for _, tc := range tests {
		if got := tc.rule.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.rule, got, tc.want)
		}
	}
}

func TestValidMetric(t *testing.T) {
	tests := []struct {
		name   string
		uplift bool
		ok     bool
	}{
		{"", false, true},
		{MetricROCAUC, false, true},
		{MetricAccuracy, false, true},
		{MetricRecall, false, true},
		{MetricF1, false, true},
		{"recall_at_20", false, true},
		{"recall_at_1", false, true},
		{"recall_at_99", false, true},
		{"recall_at_0", false, false},
		{"recall_at_100", false, false},
		{"recall_at_020", false, false},
		{"recall_at_+5", false, false},
		{"recall_at_", false, false},
		{"recall_at_20.5", false, false},
		{MetricQini, false, false},
		{MetricQini, true, true},
		{"precision", false, false},
	}
	for _, tc := range tests {
		if err := ValidMetric(tc.name, tc.uplift); (err == nil) != tc.ok {
			t.Errorf("ValidMetric(%q, %v) = %v, want ok %v", tc.name, tc.uplift, err, tc.ok)
		}
	}
}

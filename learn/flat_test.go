package learn

import (
	"math"
	"testing"
)

func TestMetricsFlat(t *testing.T) {
	m := Metrics{
		ROCAUC: 0.7, LogLoss: math.NaN(), Rows: 10,
		AtThreshold: Confusion{Threshold: 0.2, Recall: 0.5},
		TopK:        []TopK{{Fraction: 0.2, Recall: 0.4, Lift: 2}},
		Uplift:      []ArmMetrics{{Arm: "A", Qini: 0.1, ObservedUplift: 0.03}},
	}
	got := m.Flat()
	want := map[string]float64{"roc_auc": 0.7, "rows": 10, "threshold": 0.2, "recall": 0.5,
		"recall_at_20": 0.4, "lift_at_20": 2, "qini:A": 0.1, "uplift:A": 0.03}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Flat()[%q] = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["log_loss"]; ok {
		t.Error("Flat kept a NaN log loss")
	}
}

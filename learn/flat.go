package learn

import (
	"fmt"
	"math"
)

// Flat names the metrics for a manifest: roc_auc, log_loss, ece, the
// threshold metrics (threshold, accuracy, precision, recall, f1),
// recall_at_K and lift_at_K for the top K %, and per arm qini:<arm> and
// uplift:<arm> (observed). Values that are not finite are left out.
func (mt Metrics) Flat() map[string]float64 {
	out := map[string]float64{
		"roc_auc": mt.ROCAUC, "pr_auc": mt.PRAUC, "log_loss": mt.LogLoss, "brier": mt.Brier,
		"ece": mt.ECE, "rows": float64(mt.Rows), "positive_rate": mt.PositiveRate,
		"precision": mt.AtThreshold.Precision, "recall": mt.AtThreshold.Recall,
		"accuracy": mt.AtThreshold.Accuracy, "f1": mt.AtThreshold.F1, "threshold": mt.AtThreshold.Threshold,
	}
	for _, k := range mt.TopK {
		pct := fmt.Sprintf("%.0f", 100*k.Fraction)
		out["recall_at_"+pct] = k.Recall
		out["lift_at_"+pct] = k.Lift
	}
	for _, a := range mt.Uplift {
		out["qini:"+a.Arm] = a.Qini
		out["uplift:"+a.Arm] = a.ObservedUplift
	}
	for k, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(out, k)
		}
	}
	return out
}

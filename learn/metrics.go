package learn

import (
	"math"

	"github.com/promoflow/promoflow/rank"
)

// Labels are 0/1 as float64 throughout: y[i] == 1 is a positive row.

// ROCAUC returns the area under the ROC curve of scores p for labels y,
// giving tied scores their average rank (the Mann-Whitney statistic, as
// scikit-learn's roc_auc_score). It is NaN when y holds only one class.
func ROCAUC(y, p []float64) float64 {
	idx := rank.Ascending(p)
	var n1 float64
	var rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			j++
		}
		// Ranks i+1..j share their average.
		avg := float64(i+1+j) / 2
		for _, k := range idx[i:j] {
			if y[k] == 1 {
				n1++
				rankSum += avg
			}
		}
		i = j
	}
	n0 := float64(len(y)) - n1
	if n1 == 0 || n0 == 0 {
		return math.NaN()
	}
	return (rankSum - n1*(n1+1)/2) / (n1 * n0)
}

// AveragePrecision returns the area under the precision-recall curve as
// scikit-learn's average_precision_score computes it: Σ (R_k − R_{k−1})·P_k
// over the distinct score thresholds, highest first. It is NaN when y has no
// positive.
func AveragePrecision(y, p []float64) float64 {
	var npos float64
	for _, v := range y {
		if v == 1 {
			npos++
		}
	}
	if npos == 0 {
		return math.NaN()
	}
	var ap, prevR float64
	thresholds(y, p, func(_, tp, fp float64) {
		r := tp / npos
		ap += (r - prevR) * tp / (tp + fp)
		prevR = r
	})
	return ap
}

// ROCCurve returns the ROC curve of scores p for 0/1 labels y: rows are
// ranked by p, highest first, and after each group of tied scores the
// point (false positive rate, true positive rate) is added, starting at
// (0, 0) and ending at (1, 1), as scikit-learn's roc_curve with
// drop_intermediate=False. Both rates stay 0 for a class with no rows.
func ROCCurve(y, p []float64) (fpr, tpr []float64) {
	var npos, nneg float64
	for _, v := range y {
		if v == 1 {
			npos++
		} else {
			nneg++
		}
	}
	rate := func(a, n float64) float64 {
		if n == 0 {
			return 0
		}
		return a / n
	}
	fpr, tpr = []float64{0}, []float64{0}
	thresholds(y, p, func(_, tp, fp float64) {
		fpr = append(fpr, rate(fp, nneg))
		tpr = append(tpr, rate(tp, npos))
	})
	return fpr, tpr
}

// thresholds ranks rows by p, highest first, and calls at after each group
// of tied scores with that score t and the true and false positives among
// the rows with p >= t.
func thresholds(y, p []float64, at func(t, tp, fp float64)) {
	idx := rank.Descending(p)
	var tp, fp float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			if y[idx[j]] == 1 {
				tp++
			} else {
				fp++
			}
			j++
		}
		at(p[idx[i]], tp, fp)
		i = j
	}
}

// LogLoss returns the mean negative log-likelihood, with p clipped to
// [1e-15, 1-1e-15] as scikit-learn does.
func LogLoss(y, p []float64) float64 {
	const eps = 1e-15
	var s float64
	for i, pi := range p {
		pi = math.Min(math.Max(pi, eps), 1-eps)
		if y[i] == 1 {
			s -= math.Log(pi)
		} else {
			s -= math.Log1p(-pi)
		}
	}
	return s / float64(len(p))
}

// Brier returns the mean squared difference between p and y.
func Brier(y, p []float64) float64 {
	var s float64
	for i, pi := range p {
		s += (pi - y[i]) * (pi - y[i])
	}
	return s / float64(len(p))
}

// Confusion holds the counts and rates of hard decisions p >= Threshold.
// A rate whose denominator is zero is 0, as scikit-learn's zero_division=0.
type Confusion struct {
	Threshold float64 `json:"threshold"`
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	TN        int     `json:"tn"`
	FN        int     `json:"fn"`
	Accuracy  float64 `json:"accuracy"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// AtThreshold counts decisions p >= t against labels y.
func AtThreshold(y, p []float64, t float64) Confusion {
	c := Confusion{Threshold: t}
	for i, pi := range p {
		switch pos := pi >= t; {
		case pos && y[i] == 1:
			c.TP++
		case pos:
			c.FP++
		case y[i] == 1:
			c.FN++
		default:
			c.TN++
		}
	}
	c.Accuracy = ratio(c.TP+c.TN, len(p))
	c.Precision = ratio(c.TP, c.TP+c.FP)
	c.Recall = ratio(c.TP, c.TP+c.FN)
	if c.Precision+c.Recall > 0 {
		c.F1 = 2 * c.Precision * c.Recall / (c.Precision + c.Recall)
	}
	return c
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// TopK measures the rows ranked highest by predicted probability: the top
// Fraction of all rows (int(Fraction·n) rows, ties in row order, as
// UpliftAtK). Recall is the share of all positives found there, Precision
// the positive rate there and Lift that rate over the overall positive
// rate. A rate whose denominator is zero is 0.
type TopK struct {
	Fraction  float64 `json:"fraction"`
	Recall    float64 `json:"recall"`
	Precision float64 `json:"precision"`
	Lift      float64 `json:"lift"`
}

// TopKFractions are the fractions of Metrics.TopK.
var TopKFractions = []float64{0.1, 0.2, 0.3}

// AtTopK measures the top fraction k of rows ranked by p against labels y.
func AtTopK(y, p []float64, k float64) TopK {
	idx := rank.Descending(p)
	top := idx[:int(k*float64(len(idx)))]
	var tp float64
	for _, i := range top {
		tp += y[i]
	}
	out := TopK{Fraction: k, Recall: frac(tp, sum(y)), Precision: frac(tp, float64(len(top)))}
	out.Lift = frac(out.Precision, frac(sum(y), float64(len(y))))
	return out
}

// CalibrationBin is one equal-count bin of rows sorted by predicted
// probability.
type CalibrationBin struct {
	Rows          int     `json:"rows"`
	MinPredicted  float64 `json:"min_predicted"`
	MaxPredicted  float64 `json:"max_predicted"`
	MeanPredicted float64 `json:"mean_predicted"`
	ObservedRate  float64 `json:"observed_rate"`
}

// Calibration splits the rows, sorted by p, into bins of (nearly) equal
// count and compares mean prediction with observed rate in each. It also
// returns the expected calibration error Σ_b (n_b/n)·|observed_b − mean_b|.
func Calibration(y, p []float64, bins int) ([]CalibrationBin, float64) {
	n := len(p)
	if n == 0 || bins <= 0 {
		return nil, 0
	}
	bins = min(bins, n)
	idx := rank.Ascending(p)
	out := make([]CalibrationBin, bins)
	var ece float64
	for b := range out {
		lo, hi := b*n/bins, (b+1)*n/bins
		cb := CalibrationBin{Rows: hi - lo, MinPredicted: p[idx[lo]], MaxPredicted: p[idx[hi-1]]}
		var sp, sy float64
		for _, k := range idx[lo:hi] {
			sp += p[k]
			sy += y[k]
		}
		cb.MeanPredicted = sp / float64(cb.Rows)
		cb.ObservedRate = sy / float64(cb.Rows)
		ece += float64(cb.Rows) / float64(n) * math.Abs(cb.ObservedRate-cb.MeanPredicted)
		out[b] = cb
	}
	return out, ece
}

package report

import (
	"cmp"
	"slices"
)

// rocCurve returns the ROC curve of scores p for 0/1 labels y: rows are
// ranked by p, highest first, and after each group of tied scores the
// point (false positive rate, true positive rate) is added, starting at
// (0, 0) and ending at (1, 1), as scikit-learn's roc_curve with
// drop_intermediate=False. Both rates are 0 throughout for a class with no
// rows.
func rocCurve(y, p []float64) (fpr, tpr []float64) {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p[b], p[a]) })
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
		fpr = append(fpr, rate(fp, nneg))
		tpr = append(tpr, rate(tp, npos))
		i = j
	}
	return fpr, tpr
}

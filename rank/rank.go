// Package rank orders rows by a score: the order in which ranking metrics
// (ROC AUC, Qini, top-k lift, calibration bins) and the gate's statistics
// walk a holdout. Ties keep index order, so results are deterministic.
package rank

import "slices"

// Ascending returns the indexes of v sorted by value, smallest first, ties
// in index order.
func Ascending(v []float64) []int32 {
	return order(v, false)
}

// Descending returns the indexes of v sorted by value, largest first, ties
// in index order.
func Descending(v []float64) []int32 {
	return order(v, true)
}

// order sorts the indexes of v by value (by negated value when desc).
func order(v []float64, desc bool) []int32 {
	type keyed struct {
		v float64
		i int32
	}
	ks := make([]keyed, len(v))
	for i, x := range v {
		if desc {
			x = -x
		}
		ks[i] = keyed{x, int32(i)}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return int(a.i - b.i)
	})
	idx := make([]int32, len(v))
	for k, x := range ks {
		idx[k] = x.i
	}
	return idx
}

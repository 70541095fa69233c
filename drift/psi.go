// Package drift measures how far a day's data has moved from a model's
// training reference: the population stability index (PSI) over reference
// quantile bins and over categorical levels, the two-sample
// Kolmogorov–Smirnov test, the Jensen–Shannon distance, and the rules that
// turn those numbers into per-feature and whole-data-set verdicts.
//
// The numeric PSI follows the peer drift_peer.py exactly: edges are the
// reference's quantiles at 0.1, ..., 0.9 with numpy's default 'linear'
// interpolation, duplicates removed; bins are right-closed
// ((-inf, e1], (e1, e2], ..., (ek, +inf)); proportions are floored at
// Epsilon without renormalising. KS follows scipy.stats.ks_2samp with
// method='auto'. The package is pure math: no I/O, no servers.
package drift

import (
	"math"
	"slices"
	"sort"
)

// Epsilon floors bin proportions so that an empty bin does not make the
// PSI infinite.
const Epsilon = 1e-4

// quantileLevels returns numpy.linspace(0.1, 0.9, 9) bit for bit: the step
// is computed at run time, as numpy does, not folded exactly by the compiler.
func quantileLevels() []float64 {
	start, stop, num := 0.1, 0.9, 9
	step := (stop - start) / float64(num-1)
	q := make([]float64, num)
	for i := range q {
		q[i] = float64(i)*step + start
	}
	q[num-1] = stop
	return q
}

// Quantile returns the q-quantile of sorted (ascending, no NaN) with
// numpy's 'linear' method, including numpy's two-sided lerp.
func Quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	vi := float64(n-1) * q
	lo := math.Floor(vi)
	i := int(lo)
	if i < 0 {
		return sorted[0]
	}
	if i >= n-1 {
		return sorted[n-1]
	}
	a, b, t := sorted[i], sorted[i+1], vi-lo
	d := b - a
	if t >= 0.5 {
		return b - d*(1-t)
	}
	return a + d*t
}

// QuantileEdges returns the PSI bin edges of a sorted reference sample: its
// deciles 0.1..0.9, duplicates removed, so at most 10 bins.
func QuantileEdges(sorted []float64) []float64 {
	levels := quantileLevels()
	edges := make([]float64, 0, len(levels))
	for _, q := range levels {
		edges = append(edges, Quantile(sorted, q))
	}
	slices.Sort(edges)
	return slices.Compact(edges)
}

// BinCountsSorted counts a sorted sample into the right-closed bins of
// edges: bin i holds x with edges[i-1] < x <= edges[i] (numpy
// searchsorted side='left').
func BinCountsSorted(edges, sorted []float64) []int64 {
	counts := make([]int64, len(edges)+1)
	prev := 0
	for i, e := range edges {
		// first index with sorted[j] > e
		j := prev + sort.Search(len(sorted)-prev, func(k int) bool { return sorted[prev+k] > e })
		counts[i] = int64(j - prev)
		prev = j
	}
	counts[len(edges)] = int64(len(sorted) - prev)
	return counts
}

// BinCounts counts an unsorted sample into the right-closed bins of edges.
func BinCounts(edges, xs []float64) []int64 {
	counts := make([]int64, len(edges)+1)
	for _, x := range xs {
		counts[sort.SearchFloat64s(edges, x)]++
	}
	return counts
}

// Proportions turns counts into shares of their total; an empty sample has
// all shares zero.
func Proportions(counts []int64) []float64 {
	var n int64
	for _, c := range counts {
		n += c
	}
	p := make([]float64, len(counts))
	if n == 0 {
		return p
	}
	for i, c := range counts {
		p[i] = float64(c) / float64(n)
	}
	return p
}

// PSICounts is the population stability index of two count vectors over
// the same bins: sum((c − r)·ln(c / r)) over proportions floored at Epsilon.
func PSICounts(ref, cur []int64) float64 {
	pr, pc := Proportions(ref), Proportions(cur)
	var s float64
	for i := range pr {
		r, c := math.Max(pr[i], Epsilon), math.Max(pc[i], Epsilon)
		s += (c - r) * math.Log(c/r)
	}
	return s
}

// JSDistance is the Jensen–Shannon distance (natural log, as
// scipy.spatial.distance.jensenshannon) between two distributions given as
// non-negative weights over the same support; each is normalised first.
func JSDistance(p, q []float64) float64 {
	var sp, sq float64
	for i := range p {
		sp += p[i]
		sq += q[i]
	}
	if sp == 0 || sq == 0 {
		return math.NaN()
	}
	var js float64
	for i := range p {
		a, b := p[i]/sp, q[i]/sq
		m := (a + b) / 2
		if a > 0 {
			js += a * math.Log(a/m) / 2
		}
		if b > 0 {
			js += b * math.Log(b/m) / 2
		}
	}
	return math.Sqrt(math.Max(js, 0))
}

// floats converts counts to float64 weights.
func floats(c []int64) []float64 {
	out := make([]float64, len(c))
	for i, v := range c {
		out[i] = float64(v)
	}
	return out
}

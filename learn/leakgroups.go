package learn

import (
	"cmp"
	"math"
	"slices"
)

// valueGroup counts the labelled rows sharing one value of a column (for
// a categorical column, v is the level's code, or its score when ranking).
type valueGroup struct {
	v      float64
	n0, n1 int
}

func (g valueGroup) n() int { return g.n0 + g.n1 }

// numberGroups returns the distinct non-missing values of x, ascending,
// with the negatives and positives of y at each. The values of each class
// are sorted apart, as order-preserving integer keys by a radix sort, and
// merged.
func numberGroups(x, y []float64) []valueGroup {
	var n0, n1 int
	for i, v := range x {
		switch {
		case math.IsNaN(v):
		case y[i] == 1:
			n1++
		default:
			n0++
		}
	}
	keys := make([]uint64, n0+n1)
	neg, pos := keys[:0:n0], keys[n0:n0]
	for i, v := range x {
		switch {
		case math.IsNaN(v):
		case y[i] == 1:
			pos = append(pos, floatKey(v))
		default:
			neg = append(neg, floatKey(v))
		}
	}
	buf := make([]uint64, max(n0, n1))
	radixSort(neg, buf)
	radixSort(pos, buf)
	groups := 0
	mergeKeys(neg, pos, func(uint64, int, int) { groups++ })
	out := make([]valueGroup, 0, groups)
	mergeKeys(neg, pos, func(k uint64, c0, c1 int) {
		out = append(out, valueGroup{v: keyFloat(k), n0: c0, n1: c1})
	})
	return out
}

// mergeKeys walks the distinct keys of the sorted neg and pos, ascending,
// with how often each occurs in either.
func mergeKeys(neg, pos []uint64, at func(k uint64, n0, n1 int)) {
	i, j := 0, 0
	for i < len(neg) || j < len(pos) {
		k := pos[min(j, len(pos)-1)]
		if j == len(pos) || (i < len(neg) && neg[i] < k) {
			k = neg[i]
		}
		i0, j0 := i, j
		for i < len(neg) && neg[i] == k {
			i++
		}
		for j < len(pos) && pos[j] == k {
			j++
		}
		at(k, i-i0, j-j0)
	}
}

// floatKey maps a number (not NaN) to an integer of the same order; -0
// and 0 get the same key.
func floatKey(v float64) uint64 {
	if v == 0 {
		v = 0
	}
	b := math.Float64bits(v)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

// keyFloat inverts floatKey.
func keyFloat(k uint64) float64 {
	if k>>63 != 0 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}

// radixDigit is the width in bits of one pass of radixSort.
const radixDigit = 11

// radixSort sorts keys ascending with a least-significant-digit radix
// sort, using buf (at least as long) as scratch. A digit that all keys
// share is skipped, which for integer-valued columns is most of them.
func radixSort(keys, buf []uint64) {
	if len(keys) < 256 {
		slices.Sort(keys)
		return
	}
	const passes = (64 + radixDigit - 1) / radixDigit
	const mask = 1<<radixDigit - 1
	var counts [passes][1 << radixDigit]int
	for _, k := range keys {
		for p := range passes {
			counts[p][k>>(p*radixDigit)&mask]++
		}
	}
	src, dst := keys, buf[:len(keys)]
	for p := range passes {
		c := &counts[p]
		if c[src[0]>>(p*radixDigit)&mask] == len(src) {
			continue
		}
		sum := 0
		for d, n := range c {
			c[d] = sum
			sum += n
		}
		for _, k := range src {
			d := k >> (p * radixDigit) & mask
			dst[c[d]] = k
			c[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

// levelGroups counts the classes of y at every level of a categorical
// column, in level order; the empty level is missing and left out.
func levelGroups(codes []int32, levels []string, y []float64) []valueGroup {
	groups := make([]valueGroup, len(levels))
	for i, c := range codes {
		if y[i] == 1 {
			groups[c].n1++
		} else {
			groups[c].n0++
		}
	}
	out := groups[:0]
	for code, g := range groups {
		if levels[code] == "" {
			continue
		}
		g.v = float64(code)
		out = append(out, g)
	}
	return out
}

// levelScores scores the levels of a categorical column by their target
// rate, pooling the levels held by fewer than minN rows into one (so that
// a near-unique column cannot rank the target by memorising it), and
// returns the scores ascending with equal scores merged.
func levelScores(groups []valueGroup, minN int) []valueGroup {
	var out []valueGroup
	var small valueGroup
	for _, g := range groups {
		if g.n() < minN {
			small.n0 += g.n0
			small.n1 += g.n1
			continue
		}
		out = append(out, g)
	}
	if small.n() > 0 {
		out = append(out, small)
	}
	for i := range out {
		out[i].v = float64(out[i].n1) / float64(out[i].n())
	}
	slices.SortFunc(out, func(a, b valueGroup) int { return cmp.Compare(a.v, b.v) })
	merged := out[:0]
	for _, g := range out {
		if k := len(merged) - 1; k >= 0 && merged[k].v == g.v {
			merged[k].n0 += g.n0
			merged[k].n1 += g.n1
			continue
		}
		merged = append(merged, g)
	}
	return merged
}

// groupAUC returns the AUC of scores ascending by value (ties sharing
// their average rank, as ROCAUC), in its stronger direction, whether that
// is the reversed one, and the rows ranked. The AUC is NaN when a class
// is absent.
func groupAUC(groups []valueGroup) (auc float64, reversed bool, rows int) {
	var below0, sum, n0, n1 float64
	for _, g := range groups {
		sum += float64(g.n1) * (below0 + float64(g.n0)/2)
		below0 += float64(g.n0)
		n0 += float64(g.n0)
		n1 += float64(g.n1)
	}
	rows = int(n0 + n1)
	if n0 == 0 || n1 == 0 {
		return math.NaN(), false, rows
	}
	auc = sum / (n0 * n1)
	if auc < 0.5 {
		return 1 - auc, true, rows
	}
	return auc, false, rows
}

// aucSignificant reports whether auc (the stronger direction) reaches
// maxAUC and lies further from 1/2 than the null distribution of the
// Mann-Whitney statistic reaches with chance leakChance; its variance
// without ties, (n0+n1+1)/(12·n0·n1), bounds the variance with ties.
func aucSignificant(groups []valueGroup, auc, maxAUC float64) bool {
	if math.IsNaN(auc) || auc < maxAUC {
		return false
	}
	var n0, n1 float64
	for _, g := range groups {
		n0 += float64(g.n0)
		n1 += float64(g.n1)
	}
	sd := math.Sqrt((n0 + n1 + 1) / (12 * n0 * n1))
	z := math.Sqrt2 * math.Erfcinv(2*leakChance)
	return (auc-0.5)/sd > z
}

package drift

import (
	"math"
	"slices"
)

// radixMin is the size below which a comparison sort beats the radix sort.
const radixMin = 4096

// sortFloats sorts xs (no NaN) ascending in place. Large samples use an LSD
// radix sort on the order-preserving bit pattern of the float64, which is
// several times faster than a comparison sort on a day's million rows.
func sortFloats(xs []float64) {
	if len(xs) < radixMin {
		slices.Sort(xs)
		return
	}
	keys := make([]uint64, len(xs))
	for i, x := range xs {
		b := math.Float64bits(x)
		if b>>63 == 1 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		keys[i] = b
	}
	tmp := make([]uint64, len(keys))
	// One pass counts all four 16-bit digits.
	count := make([][1 << 16]int, 4)
	for _, k := range keys {
		count[0][k&0xffff]++
		count[1][(k>>16)&0xffff]++
		count[2][(k>>32)&0xffff]++
		count[3][k>>48]++
	}
	for p := range 4 {
		shift := uint(16 * p)
		c := &count[p]
		if c[(keys[0]>>shift)&0xffff] == len(keys) {
			continue // every key shares this digit
		}
		sum := 0
		for i, n := range c {
			c[i] = sum
			sum += n
		}
		for _, k := range keys {
			d := (k >> shift) & 0xffff
			tmp[c[d]] = k
			c[d]++
		}
		keys, tmp = tmp, keys
	}
	for i, b := range keys {
		if b>>63 == 1 {
			b &^= 1 << 63
		} else {
			b = ^b
		}
		xs[i] = math.Float64frombits(b)
	}
}

// sortedFinite returns a sorted copy of xs without NaNs.
func sortedFinite(xs []float64) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			out = append(out, x)
		}
	}
	sortFloats(out)
	return out
}

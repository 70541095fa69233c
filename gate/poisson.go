package gate

import (
	"math"
	"math/rand/v2"
)

// weightedRun draws a Poisson(1) weight per row, four per 64-bit draw, and
// returns the weight total and the weighted sums of ll, rc and rp.
func weightedRun(rng *rand.PCG, ll, rc, rp []float64) (sw, sl, sc, sp float64) {
	n := len(ll)
	rc, rp = rc[:n], rp[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		u := rng.Uint64()
		w0 := float64(poisson16[u&0xffff])
		w1 := float64(poisson16[u>>16&0xffff])
		w2 := float64(poisson16[u>>32&0xffff])
		w3 := float64(poisson16[u>>48])
		sw += w0 + w1 + w2 + w3
		sl += w0*ll[i] + w1*ll[i+1] + w2*ll[i+2] + w3*ll[i+3]
		sc += w0*rc[i] + w1*rc[i+1] + w2*rc[i+2] + w3*rc[i+3]
		sp += w0*rp[i] + w1*rp[i+1] + w2*rp[i+2] + w3*rp[i+3]
	}
	if i < n {
		u := rng.Uint64()
		for ; i < n; i++ {
			w := float64(poisson16[u&0xffff])
			u >>= 16
			sw += w
			sl += w * ll[i]
			sc += w * rc[i]
			sp += w * rp[i]
		}
	}
	return sw, sl, sc, sp
}

// fillRun draws the weights weightedRun draws, into w.
func fillRun(rng *rand.PCG, w []uint8) {
	i := 0
	for ; i+4 <= len(w); i += 4 {
		u := rng.Uint64()
		w[i] = poisson16[u&0xffff]
		w[i+1] = poisson16[u>>16&0xffff]
		w[i+2] = poisson16[u>>32&0xffff]
		w[i+3] = poisson16[u>>48]
	}
	if i < len(w) {
		u := rng.Uint64()
		for ; i < len(w); i++ {
			w[i] = poisson16[u&0xffff]
			u >>= 16
		}
	}
}

// poisson16 maps 16 uniform random bits to a Poisson(1) count by inverse
// CDF; the probabilities are exact to 2⁻¹⁶, far below bootstrap noise.
var poisson16 = func() *[1 << 16]uint8 {
	var t [1 << 16]uint8
	k, pk := 0, math.Exp(-1)
	cdf := pk
	for u := range t {
		for float64(u)+0.5 >= cdf*(1<<16) && k < 12 {
			k++
			pk /= float64(k)
			cdf += pk
		}
		t[u] = uint8(k)
	}
	return &t
}()

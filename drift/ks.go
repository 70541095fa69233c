package drift

import (
	"math"
)

// MaxExactN is scipy's limit for the exact KS p-value under method='auto':
// when both samples have at most this many values the p-value is exact,
// otherwise asymptotic.
const MaxExactN = 10000

// KS method names reported in KSResult.Method.
const (
	KSExact      = "exact"
	KSAsymptotic = "asymp"
)

// KSResult is a two-sided two-sample Kolmogorov–Smirnov test.
type KSResult struct {
	Statistic float64 `json:"statistic"`
	PValue    float64 `json:"p_value"`
	Method    string  `json:"method"`
}

// KS runs the two-sided two-sample KS test on unsorted samples; NaNs are
// dropped. It matches scipy.stats.ks_2samp(a, b, method='auto').
func KS(a, b []float64) KSResult {
	return KSSorted(sortedFinite(a), sortedFinite(b))
}

// KSSorted is KS on samples already sorted ascending without NaNs.
func KSSorted(a, b []float64) KSResult {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return KSResult{Statistic: math.NaN(), PValue: math.NaN()}
	}
	d := ksStatistic(a, b)
	g := gcd(n1, n2)
	if max(n1, n2) <= MaxExactN {
		if dd, p, ok := ksExact(n1, n2, g, d); ok {
			return KSResult{Statistic: dd, PValue: clamp01(p), Method: KSExact}
		}
	}
	m, n := float64(max(n1, n2)), float64(min(n1, n2))
	en := math.Round(m * n / (m + n))
	return KSResult{Statistic: d, PValue: clamp01(KolmogorovSF(math.Sqrt(en) * d)), Method: KSAsymptotic}
}

// ksStatistic is sup |F_a − F_b| evaluated, as scipy does, at every value of
// either sample after all of its ties.
func ksStatistic(a, b []float64) float64 {
	n1, n2 := float64(len(a)), float64(len(b))
	var i, j int
	var d float64
	for i < len(a) && j < len(b) {
		x := min(a[i], b[j])
		for i < len(a) && a[i] <= x {
			i++
		}
		for j < len(b) && b[j] <= x {
			j++
		}
		d = max(d, math.Abs(float64(i)/n1-float64(j)/n2))
	}
	return d
}

// ksExact is scipy's exact two-sided p-value: the share of lattice paths
// from (0,0) to (m,n) that leave the band |x/m − y/n| < d. The statistic is
// first rounded to the lattice, as scipy does. ok is false when the
// computation is not usable.
func ksExact(n1, n2, g int, d float64) (dd, p float64, ok bool) {
	lcm := float64(n1/g) * float64(n2)
	h := int(math.Round(d * lcm))
	dd = float64(h) / lcm
	if h == 0 {
		return dd, 1, true
	}
	if n1 == n2 {
		p = probOutsideSquare(n1, h)
	} else {
		p = 1 - probInside(n1, n2, g, h)
	}
	if math.IsNaN(p) || p < 0 || p > 1 {
		return dd, p, false
	}
	return dd, p, true
}

// probOutsideSquare is P(D_{n,n} ≥ h/n) by scipy's Horner-like sum of
// ratios of binomial coefficients.
func probOutsideSquare(n, h int) float64 {
	var p float64
	for k := n / h; k >= 0; k-- {
		p1 := 1.0
		for j := 0; j < h; j++ {
			p1 = float64(n-k*h-j) * p1 / float64(n+k*h+j+1)
		}
		p = p1 * (1 - p)
	}
	return 2 * p
}

// probInside is the share of monotone lattice paths from (0,0) to (m,n)
// that stay strictly inside |ng·x − mg·y| < h. Each cell holds its path
// count divided by binom(x+y, y), so values stay in [0,1] and nothing
// overflows: a(x,y) = (x·a(x−1,y) + y·a(x,y−1)) / (x+y).
func probInside(m, n, g, h int) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	prev := make([]float64, n+1)
	cur := make([]float64, n+1)
	// column x = 0: a(0,y) = 1 while mg·y < h.
	pLo, pHi := 0, min((h+mg-1)/mg, n+1)
	for y := pLo; y < pHi; y++ {
		prev[y] = 1
	}
	for x := 1; x <= m; x++ {
		lo := max(floorDiv(ng*x-h, mg)+1, 0)
		lo = min(lo, n)
		hi := min(ceilDiv(ng*x+h, mg), n+1)
		if hi <= lo {
			return 0
		}
		var below float64 // a(x, y−1); zero below the band
		for y := lo; y < hi; y++ {
			var left float64
			if y >= pLo && y < pHi {
				left = prev[y]
			}
			v := float64(x) * left
			if y > 0 {
				v += float64(y) * below
			}
			v /= float64(x + y)
			cur[y] = v
			below = v
		}
		prev, cur = cur, prev
		pLo, pHi = lo, hi
	}
	if n < pLo || n >= pHi {
		return 0
	}
	return prev[n]
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func ceilDiv(a, b int) int { return -floorDiv(-a, b) }

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func clamp01(p float64) float64 { return math.Min(math.Max(p, 0), 1) }

// KolmogorovSF is the survival function of the limiting Kolmogorov
// distribution, P(K > z) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²z²} (scipy's
// kstwobign.sf). For small z it uses the Jacobi-theta form of the CDF,
// √(2π)/z Σ_{k≥1} e^{−(2k−1)²π²/(8z²)}, which converges fast there.
func KolmogorovSF(z float64) float64 {
	switch {
	case math.IsNaN(z):
		return math.NaN()
	case z <= 0:
		return 1
	case z < 1:
		var cdf float64
		w := math.Pi * math.Pi / (8 * z * z)
		for k := 1; k <= 20; k++ {
			t := math.Exp(-float64((2*k-1)*(2*k-1)) * w)
			cdf += t
			if t < 1e-17*cdf {
				break
			}
		}
		return 1 - math.Sqrt(2*math.Pi)/z*cdf
	default:
		var sf float64
		sign := 1.0
		for k := 1; k <= 100; k++ {
			t := math.Exp(-2 * float64(k*k) * z * z)
			sf += sign * t
			if t < 1e-17*math.Abs(sf) {
				break
			}
			sign = -sign
		}
		return 2 * sf
	}
}

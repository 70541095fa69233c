package learn

import (
	"cmp"
	"math"
	"slices"
)

// correlations holds the Pearson statistics of a design against a target,
// computed once and reused for every selection threshold of a search.
type correlations struct {
	target []float64 // r(feature, y)
	mean   []float64
	std    []float64
	gram   []float64 // p*p, Σ x_a x_b over rows; nil until needed
	n      float64
	d      *design
}

// newCorrelations computes each feature's Pearson correlation with y.
// Constant features get r = 0.
func newCorrelations(d *design, y []float64) *correlations {
	p := d.p
	sx := make([]float64, p)
	sxx := make([]float64, p)
	sxy := make([]float64, p)
	var sy, syy float64
	for i := 0; i < d.n; i++ {
		yi := y[i]
		sy += yi
		syy += yi * yi
		for j, v := range d.x[i*d.pd : i*d.pd+d.pd] {
			sx[j] += v
			sxx[j] += v * v
			sxy[j] += v * yi
		}
		for _, k := range d.cat[i*d.nc : i*d.nc+d.nc] {
			sx[k]++
			sxx[k]++
			sxy[k] += yi
		}
	}
	n := float64(d.n)
	c := &correlations{target: make([]float64, p), mean: make([]float64, p), std: make([]float64, p), n: n, d: d}
	vy := n*syy - sy*sy
	for j := 0; j < p; j++ {
		c.mean[j] = sx[j] / n
		vx := n*sxx[j] - sx[j]*sx[j]
		c.std[j] = math.Sqrt(math.Max(vx, 0)) / n
		if vx <= 1e-12*n*n || vy <= 0 {
			continue
		}
		c.target[j] = (n*sxy[j] - sx[j]*sy) / math.Sqrt(vx*vy)
	}
	return c
}

// pairCorr returns the Pearson correlation of features a and b (0 when
// either is constant).
func (c *correlations) pairCorr(a, b int) float64 {
	if c.gram == nil {
		c.computeGram()
	}
	if c.std[a] < 1e-12 || c.std[b] < 1e-12 {
		return 0
	}
	cov := c.gram[a*c.d.p+b]/c.n - c.mean[a]*c.mean[b]
	return cov / (c.std[a] * c.std[b])
}

// computeGram sums x_a·x_b over rows for all feature pairs, chunk by chunk
// in parallel and added in chunk order.
func (c *correlations) computeGram() {
	d := c.d
	p := d.p
	chunk := rowsPerChunk(d.n)
	nchunks := max(1, (d.n+chunk-1)/chunk)
	parts := make([][]float64, nchunks)
	parallelFor(nchunks, func(ch int) {
		g := make([]float64, p*p)
		vals := make([]float64, 0, d.pd+d.nc)
		idx := make([]int, 0, d.pd+d.nc)
		for i := ch * chunk; i < min(d.n, (ch+1)*chunk); i++ {
			vals, idx = vals[:0], idx[:0]
			for j, v := range d.x[i*d.pd : i*d.pd+d.pd] {
				if v != 0 {
					vals = append(vals, v)
					idx = append(idx, j)
				}
			}
			for _, k := range d.cat[i*d.nc : i*d.nc+d.nc] {
				vals = append(vals, 1)
				idx = append(idx, int(k))
			}
			for a, ia := range idx {
				row := g[ia*p:]
				va := vals[a]
				for b, ib := range idx {
					row[ib] += va * vals[b]
				}
			}
		}
		parts[ch] = g
	})
	c.gram = parts[0]
	for _, g := range parts[1:] {
		for i, v := range g {
			c.gram[i] += v
		}
	}
}

// Reasons Pearson selection gives for dropping a feature.
const (
	DropWeak      = "weak"      // |r| with the target below the selection threshold
	DropCollinear = "collinear" // |r| with a stronger kept feature above the correlation limit
)

// drop records why selection dropped design feature j: with is the kept
// feature it is collinear with (-1 for a weak one) and pair their r.
type drop struct {
	j, with int
	reason  string
	pair    float64
}

// selectFeatures keeps the features whose |r| with the target is at least
// threshold, then walks them from the strongest down and drops any whose
// |r| with an already kept feature is above corrLimit (corrLimit >= 1
// turns that step off). A threshold of 0 keeps every feature at the first
// step. It returns the kept features and, in feature order, why each other
// one was dropped.
func (c *correlations) selectFeatures(threshold, corrLimit float64) ([]bool, []drop) {
	p := len(c.target)
	active := make([]bool, p)
	var cand []int
	var drops []drop
	for j, r := range c.target {
		if math.Abs(r) >= threshold {
			cand = append(cand, j)
		} else {
			drops = append(drops, drop{j: j, with: -1, reason: DropWeak})
		}
	}
	if corrLimit >= 1 || corrLimit <= 0 {
		for _, j := range cand {
			active[j] = true
		}
		return active, drops
	}
	slices.SortStableFunc(cand, func(a, b int) int {
		return cmp.Compare(math.Abs(c.target[b]), math.Abs(c.target[a]))
	})
	var kept []int
	for _, j := range cand {
		redundant := false
		for _, k := range kept {
			if r := c.pairCorr(j, k); math.Abs(r) > corrLimit {
				drops = append(drops, drop{j: j, with: k, reason: DropCollinear, pair: r})
				redundant = true
				break
			}
		}
		if !redundant {
			kept = append(kept, j)
			active[j] = true
		}
	}
	slices.SortFunc(drops, func(a, b drop) int { return cmp.Compare(a.j, b.j) })
	return active, drops
}

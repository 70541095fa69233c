package gate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/stat"

	"github.com/promoflow/promoflow/rank"
)

// Paired is one holdout scored by the challenger and by production, row by
// row, so the two can be compared on the same rows.
type Paired struct {
	// Y is 1 for a positive row and 0 otherwise.
	Y []float64
	// Challenger and Production are the predicted probabilities;
	// Production is nil when there is no production model.
	Challenger, Production []float64
	// Arms are the treatment arms of uplift models, each judged on its
	// own; nil for propensity models.
	Arms []PairedArm
}

// PairedArm is one treatment arm of a Paired holdout.
type PairedArm struct {
	Arm string
	// Treated is per row 1 for rows given the arm, 0 for control rows and
	// -1 for rows of other arms, which take no part in its Qini
	// coefficient.
	Treated []int8
	// ChallengerUplift and ProductionUplift are the predicted uplifts of
	// the arm; ProductionUplift is nil when production has no such arm.
	ChallengerUplift, ProductionUplift []float64
}

// validate checks that every per-row slice has one value per row.
func (p Paired) validate() error {
	n := len(p.Y)
	if len(p.Challenger) != n || (p.Production != nil && len(p.Production) != n) {
		return fmt.Errorf("paired rows: %d labels but %d challenger and %d production values", n, len(p.Challenger), len(p.Production))
	}
	for _, a := range p.Arms {
		if len(a.Treated) != n || len(a.ChallengerUplift) != n || (a.ProductionUplift != nil && len(a.ProductionUplift) != n) {
			return fmt.Errorf("paired rows: %d labels but arm %s has %d treated, %d and %d uplift values",
				n, a.Arm, len(a.Treated), len(a.ChallengerUplift), len(a.ProductionUplift))
		}
	}
	if n == 0 {
		return fmt.Errorf("paired rows: no rows")
	}
	return nil
}

// withoutProduction is p without production's predictions.
func (p *Paired) withoutProduction() *Paired {
	out := &Paired{Y: p.Y, Challenger: p.Challenger}
	for _, a := range p.Arms {
		a.ProductionUplift = nil
		out.Arms = append(out.Arms, a)
	}
	return out
}

// Interval is an estimate with its two-sided confidence interval.
type Interval struct {
	Estimate float64 `json:"estimate"`
	Lower    float64 `json:"lower"`
	Upper    float64 `json:"upper"`
}

// BootstrapConfig configures Bootstrap.
type BootstrapConfig struct {
	// Resamples is the number of bootstrap resamples.
	Resamples int
	// Seed makes the resamples, and so the intervals, reproducible.
	Seed uint64
	// Confidence is the level of the two-sided intervals, e.g. 0.95.
	Confidence float64
	// Workers resampling in parallel (default GOMAXPROCS). The result does
	// not depend on it.
	Workers int
}

// BootstrapResult holds the percentile intervals of the paired bootstrap.
// Differences are challenger − production; they are nil without production.
type BootstrapResult struct {
	Resamples       int       `json:"resamples"`
	LogLossDiff     *Interval `json:"log_loss_diff,omitempty"`
	Calibration     Interval  `json:"calibration"`
	CalibrationDiff *Interval `json:"calibration_diff,omitempty"`
	// Arms are the Qini intervals of the rows' arms, in their order.
	Arms []ArmInterval `json:"arms,omitempty"`
}

// ArmInterval is the Qini coefficient of one arm and its difference with
// production's (nil when production has no such arm).
type ArmInterval struct {
	Arm      string    `json:"arm"`
	Qini     Interval  `json:"qini"`
	QiniDiff *Interval `json:"qini_diff,omitempty"`
}

// Arm returns the intervals of the named arm, nil when there are none.
func (r BootstrapResult) Arm(name string) *ArmInterval {
	for i := range r.Arms {
		if r.Arms[i].Arm == name {
			return &r.Arms[i]
		}
	}
	return nil
}

// calibrationBins matches learn.Metrics' calibration deciles.
const calibrationBins = 10

// Bootstrap resamples the rows of p with replacement and returns percentile
// intervals of log loss difference, expected calibration error and Qini
// coefficient (and their differences). Both models are measured on the
// same resampled rows, which is what makes it paired.
//
// Each resample weights every row by an independent Poisson(1) count (the
// Poisson bootstrap, which approximates multinomial resampling for large n
// and lets rows be weighted independently). Per-row contributions are
// computed once, so a resample costs O(n) additions: log loss is the
// weighted mean of per-row loss differences; the calibration error keeps
// the decile bins of the full holdout and sums weighted residuals y − p per
// bin; the Qini curve walks the rows in the fixed order of predicted uplift
// accumulating weighted counts. Every arm's Qini coefficient is computed
// on the same resampled rows, in one pass: the weights of a resample are
// drawn once and walked by each arm's order of predicted uplift.
//
// Rows are grouped by their pair of calibration bins into runs of at most
// runRows rows, and each worker walks the runs once, adding every run to
// all of its resamples while the run is in cache. Resample b draws its
// weights from a generator seeded by (Seed, b) in run order, so results do
// not depend on the number of workers.
func Bootstrap(p Paired, c BootstrapConfig) (BootstrapResult, error) {
	if err := p.validate(); err != nil {
		return BootstrapResult{}, err
	}
	if c.Resamples < 1 {
		return BootstrapResult{}, fmt.Errorf("bootstrap: %d resamples", c.Resamples)
	}
	if !(c.Confidence > 0 && c.Confidence < 1) {
		return BootstrapResult{}, fmt.Errorf("bootstrap: confidence %v not in (0, 1)", c.Confidence)
	}
	pr := newPrepared(p)
	est := pr.estimate()

	samples := make([]stats, c.Resamples)
	na := len(pr.arms)
	qini := make([]armStats, c.Resamples*na)
	for b := range samples {
		samples[b].qini = qini[b*na : (b+1)*na]
	}
	workers := c.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, c.Resamples)
	var wg sync.WaitGroup
	for k := range workers {
		lo, hi := k*c.Resamples/workers, (k+1)*c.Resamples/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr.resample(c.Seed, lo, samples[lo:hi])
		}()
	}
	wg.Wait()

	alpha := 1 - c.Confidence
	interval := func(estimate float64, get func(stats) float64) *Interval {
		vals := make([]float64, 0, len(samples))
		for _, s := range samples {
			if v := get(s); !math.IsNaN(v) {
				vals = append(vals, v)
			}
		}
		iv := &Interval{Estimate: estimate, Lower: math.NaN(), Upper: math.NaN()}
		if len(vals) > 0 {
			slices.Sort(vals)
			iv.Lower = stat.Quantile(alpha/2, stat.LinInterp, vals, nil)
			iv.Upper = stat.Quantile(1-alpha/2, stat.LinInterp, vals, nil)
		}
		return iv
	}
	res := BootstrapResult{Resamples: c.Resamples}
	res.Calibration = *interval(est.eceC, func(s stats) float64 { return s.eceC })
	if pr.prod {
		res.LogLossDiff = interval(est.llDiff, func(s stats) float64 { return s.llDiff })
		res.CalibrationDiff = interval(est.eceC-est.eceP, func(s stats) float64 { return s.eceC - s.eceP })
	}
	for j, a := range pr.arms {
		ai := ArmInterval{Arm: a.name, Qini: *interval(est.qini[j].c, func(s stats) float64 { return s.qini[j].c })}
		if a.qiniP != nil {
			ai.QiniDiff = interval(est.qini[j].c-est.qini[j].p, func(s stats) float64 { return s.qini[j].c - s.qini[j].p })
		}
		res.Arms = append(res.Arms, ai)
	}
	return res, nil
}

// stats are the statistics of one (re)sample.
type stats struct {
	llDiff, eceC, eceP float64
	qini               []armStats // per arm of prepared.arms
}

// armStats are one arm's Qini coefficients of a sample: challenger's and
// production's (NaN without).
type armStats struct{ c, p float64 }

// runRows bounds a run so that its contributions stay in cache while
// every resample of a worker adds it up.
const runRows = 4096

// run is a stretch of rows sharing both models' calibration bins.
type run struct {
	lo, hi     int
	binC, binP uint8
}

// prepared holds the per-row contributions shared by every resample, rows
// ordered by their calibration bins.
type prepared struct {
	prod bool
	// llDiff is the challenger's minus production's log loss of each row
	// (0 without production); resC and resP the residuals y − p.
	llDiff, resC, resP []float64
	runs               []run
	// arms walk the rows, in the same order, by each arm's predicted
	// uplift for its Qini coefficients.
	arms []preparedArm
}

// preparedArm is one arm's Qini rows by the challenger's and production's
// predicted uplift (qiniP nil without production's).
type preparedArm struct {
	name         string
	qiniC, qiniP *qiniOrder
}

func newPrepared(p Paired) *prepared {
	n := len(p.Y)
	pr := &prepared{prod: p.Production != nil}
	var binC []uint8
	binP := make([]uint8, n)
	var wg sync.WaitGroup
	if pr.prod {
		wg.Add(1)
		go func() {
			defer wg.Done()
			binP = bins(p.Production)
		}()
	}
	binC = bins(p.Challenger)
	wg.Wait()
	// Counting sort by bin pair, stable.
	start := make([]int, calibrationBins*calibrationBins+1)
	for i := range n {
		start[int(binC[i])*calibrationBins+int(binP[i])+1]++
	}
	for k := 1; k < len(start); k++ {
		start[k] += start[k-1]
	}
	order := make([]int32, n)
	for i := range n {
		k := int(binC[i])*calibrationBins + int(binP[i])
		order[start[k]] = int32(i)
		start[k]++
	}
	pr.llDiff, pr.resC, pr.resP = make([]float64, n), make([]float64, n), make([]float64, n)
	for k, i := range order {
		y := p.Y[i]
		pr.resC[k] = y - p.Challenger[i]
		if pr.prod {
			pr.resP[k] = y - p.Production[i]
			pr.llDiff[k] = rowLogLoss(y, p.Challenger[i]) - rowLogLoss(y, p.Production[i])
		}
	}
	for lo := 0; lo < n; {
		bc, bp := binC[order[lo]], binP[order[lo]]
		hi := lo + 1
		for hi < n && hi-lo < runRows && binC[order[hi]] == bc && binP[order[hi]] == bp {
			hi++
		}
		pr.runs = append(pr.runs, run{lo: lo, hi: hi, binC: bc, binP: bp})
		lo = hi
	}
	if len(p.Arms) > 0 {
		y, treated := make([]float64, n), make([]int8, n)
		uc, up := make([]float64, n), make([]float64, n)
		for k, i := range order {
			y[k] = p.Y[i]
		}
		for _, a := range p.Arms {
			for k, i := range order {
				treated[k], uc[k] = a.Treated[i], a.ChallengerUplift[i]
				if a.ProductionUplift != nil {
					up[k] = a.ProductionUplift[i]
				}
			}
			pa := preparedArm{name: a.Arm, qiniC: newQiniOrder(uc, treated, y)}
			if a.ProductionUplift != nil {
				pa.qiniP = newQiniOrder(up, treated, y)
			}
			pr.arms = append(pr.arms, pa)
		}
	}
	return pr
}

// rowLogLoss is one row's negative log-likelihood with p clipped to
// [1e-15, 1−1e-15], as learn.LogLoss.
func rowLogLoss(y, p float64) float64 {
	const eps = 1e-15
	p = math.Min(math.Max(p, eps), 1-eps)
	if y == 1 {
		return -math.Log(p)
	}
	return -math.Log1p(-p)
}

// bins returns each row's calibration bin: rows sorted by p (ties by
// index) cut into equal-count bins, as learn.Calibration does.
func bins(p []float64) []uint8 {
	n := len(p)
	bin := make([]uint8, n)
	nb := min(calibrationBins, n)
	idx := rank.Ascending(p)
	for b := range nb {
		for _, k := range idx[b*n/nb : (b+1)*n/nb] {
			bin[k] = uint8(b)
		}
	}
	return bin
}

// sums accumulate one sample's weighted totals.
type sums struct {
	w, llDiff  float64
	binC, binP [calibrationBins]float64
}

func (a *sums) add(r run, w, ll, rc, rp float64) {
	a.w += w
	a.llDiff += ll
	a.binC[r.binC] += rc
	a.binP[r.binP] += rp
}

// stats sets s's log loss and calibration statistics from the sums.
func (a *sums) stats(s *stats) {
	s.llDiff, s.eceC, s.eceP = a.llDiff/a.w, absSum(a.binC[:])/a.w, absSum(a.binP[:])/a.w
}

// estimate is the statistics of the holdout itself, every weight 1.
func (pr *prepared) estimate() stats {
	var a sums
	for _, r := range pr.runs {
		var ll, rc, rp float64
		for i := r.lo; i < r.hi; i++ {
			ll += pr.llDiff[i]
			rc += pr.resC[i]
			rp += pr.resP[i]
		}
		a.add(r, float64(r.hi-r.lo), ll, rc, rp)
	}
	s := stats{qini: make([]armStats, len(pr.arms))}
	a.stats(&s)
	if len(pr.arms) > 0 {
		w := make([]uint8, len(pr.llDiff))
		for i := range w {
			w[i] = 1
		}
		pr.qini(w, s.qini)
	}
	return s
}

// resample computes resamples first, first+1, ... into out, whose qini
// slices hold one value per arm.
func (pr *prepared) resample(seed uint64, first int, out []stats) {
	rngs := make([]rand.PCG, len(out))
	acc := make([]sums, len(out))
	for k := range rngs {
		rngs[k] = *rand.NewPCG(seed, uint64(first+k))
	}
	for _, r := range pr.runs {
		ll, rc, rp := pr.llDiff[r.lo:r.hi], pr.resC[r.lo:r.hi], pr.resP[r.lo:r.hi]
		for k := range rngs {
			w, sl, sc, sp := weightedRun(&rngs[k], ll, rc, rp)
			acc[k].add(r, w, sl, sc, sp)
		}
	}
	var w []uint8
	if len(pr.arms) > 0 {
		w = make([]uint8, len(pr.llDiff))
	}
	for k := range out {
		acc[k].stats(&out[k])
		if len(pr.arms) > 0 {
			// Draw the same weights again, this time keeping them for
			// every arm.
			rng := rand.NewPCG(seed, uint64(first+k))
			for _, r := range pr.runs {
				fillRun(rng, w[r.lo:r.hi])
			}
			pr.qini(w, out[k].qini)
		}
	}
}

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

// qini sets every arm's Qini coefficients of the sample weighted by w.
func (pr *prepared) qini(w []uint8, out []armStats) {
	for j, a := range pr.arms {
		// Both models rank the same rows: their counts, and so the
		// perfect ranking, are the same.
		areaC, counts := a.qiniC.area(w)
		tot := counts.totals()
		out[j] = armStats{c: coefficient(areaC, tot), p: math.NaN()}
		if a.qiniP != nil {
			areaP, _ := a.qiniP.area(w)
			out[j].p = coefficient(areaP, tot)
		}
	}
}

// absSum is Σ|v|: the calibration error times the total weight, the bins
// holding weighted residual sums Σ w·(y − p).
func absSum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += math.Abs(x)
	}
	return s
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

// qiniOrder is the Qini rows in order of predicted uplift, highest first:
// their row index, label and treatment, and whether a row ends a group of
// tied predictions.
type qiniOrder struct {
	rows    []int32
	y       []float64
	treated []bool
	last    []bool
}

func newQiniOrder(u []float64, treated []int8, y []float64) *qiniOrder {
	q := &qiniOrder{}
	for _, i := range rank.Descending(u) {
		if treated[i] >= 0 {
			q.rows = append(q.rows, i)
			q.y = append(q.y, y[i])
			q.treated = append(q.treated, treated[i] == 1)
		}
	}
	q.last = make([]bool, len(q.rows))
	for k, i := range q.rows {
		q.last[k] = k == len(q.rows)-1 || u[q.rows[k+1]] != u[i]
	}
	return q
}

// qiniCounts are a weighted sample's treated and control rows and their
// responders.
type qiniCounts struct{ nt, nc, yt, yc float64 }

// qiniTotals are a weighted sample's perfect Qini area and baseline.
type qiniTotals struct{ perfect, baseline float64 }

// totals computes the area under the Qini curve of the perfect ranking
// (treated responders, then non-responders, then control responders) and
// under the random-targeting line, as learn.QiniCoefficient defines them.
func (c qiniCounts) totals() qiniTotals {
	// Points after each of the three groups of the perfect ranking.
	x1, q1 := c.yt, c.yt
	x2, q2 := c.nt+c.nc-c.yc, c.yt
	x3, q3 := c.nt+c.nc, c.yt
	if c.nc > 0 {
		q3 -= c.yc * c.nt / c.nc
	}
	area := x1*q1/2 + (x2-x1)*(q1+q2)/2 + (x3-x2)*(q2+q3)/2
	return qiniTotals{perfect: area, baseline: x3 * q3 / 2}
}

// area walks q's rows, highest predicted uplift first, and returns the
// area under the Qini curve of the sample weighted by w and the sample's
// counts.
func (q *qiniOrder) area(w []uint8) (float64, qiniCounts) {
	var c qiniCounts
	var x, px, pq, area float64
	for k, i := range q.rows {
		if f := float64(w[i]); f != 0 {
			x += f
			if q.treated[k] {
				c.nt += f
				c.yt += f * q.y[k]
			} else {
				c.nc += f
				c.yc += f * q.y[k]
			}
		}
		if q.last[k] {
			v := c.yt
			if c.nc > 0 {
				v -= c.yc * c.nt / c.nc
			}
			area += (x - px) * (v + pq) / 2
			px, pq = x, v
		}
	}
	return area, c
}

// coefficient is the Qini coefficient of a curve's area: the area between
// it and the random line over the same area for the perfect ranking; 0
// when the perfect ranking is no better than random, as
// learn.QiniCoefficient.
func coefficient(area float64, tot qiniTotals) float64 {
	best := tot.perfect - tot.baseline
	if best == 0 {
		return 0
	}
	return (area - tot.baseline) / best
}

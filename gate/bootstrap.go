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

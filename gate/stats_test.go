package gate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/promoflow/promoflow/learn"
)

// TestPairedDeLongHandExample checks DeLong's test on 4 positives and 5
// negatives against a hand calculation with the O(m·n) definition.
//
//	model A: positives X = .9 .8 .6 .4   negatives Y = .7 .5 .3 .2 .1
//	model B: positives X = .8 .5 .7 .3   negatives Y = .6 .4 .9 .2 .1
//
// V10(X_i) = share of negatives X_i beats (ties ½); V01(Y_j) = share of
// positives beating Y_j:
//
//	A: V10 = 1 1 .8 .6          V01 = .5 .75 1 1 1    AUC_A = .85
//	B: V10 = .8 .6 .8 .4        V01 = .5 .75 0 1 1    AUC_B = .65
//
// Sample covariances (denominators m−1 = 3 and n−1 = 4):
//
//	S10: AA = .11/3, BB = .11/3, AB = (.0225−.0075−.0075+.0625)/3 = .07/3
//	S01: AA = .2/4 = .05, BB = .7/4 = .175,
//	     AB = (.0525−.01−.0975+.0525+.0525)/4 = .0125
//	S = S10/4 + S01/5: AA = 23/1200, BB = 53/1200, AB = 10/1200
//	Var(AUC_A − AUC_B) = (23 + 53 − 2·10)/1200 = 7/150, z = .2/√(7/150) = .9258
//
// The two-sided p-value is 2·(1 − Φ(.9258)) = .3545.
func TestPairedDeLongHandExample(t *testing.T) {
	y := []float64{1, 1, 1, 1, 0, 0, 0, 0, 0}
	a := []float64{.9, .8, .6, .4, .7, .5, .3, .2, .1}
	b := []float64{.8, .5, .7, .3, .6, .4, .9, .2, .1}
	d, err := PairedDeLong(y, a, b)
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-12
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"AUC_A", d.AUCA, .85},
		{"AUC_B", d.AUCB, .65},
		{"Var_A", d.VarA, 23.0 / 1200},
		{"Var_B", d.VarB, 53.0 / 1200},
		{"Cov", d.Cov, 10.0 / 1200},
		{"Diff", d.Diff, .2},
		{"SE", d.SE, math.Sqrt(7.0 / 150)},
		{"Z", d.Z, .2 / math.Sqrt(7.0/150)},
	} {
		if math.Abs(c.got-c.want) > tol {
			t.Errorf("%s = %.15g, want %.15g", c.name, c.got, c.want)
		}
	}
	if math.Abs(d.P-0.3545) > 5e-4 {
		t.Errorf("p = %.4f, want 0.3545", d.P)
	}
	lo, hi := d.Interval(0.95)
	if want := 1.959963985 * math.Sqrt(7.0/150); math.Abs(lo-(.2-want)) > 1e-8 || math.Abs(hi-(.2+want)) > 1e-8 {
		t.Errorf("95%% interval = [%g, %g], want .2 ± %g", lo, hi, want)
	}
}

// bruteDeLong computes DeLong's statistics from the O(m·n) definition of
// the structural components.
func bruteDeLong(y, a, b []float64) (aucA, aucB, varDiff float64) {
	psi := func(x, v float64) float64 {
		switch {
		case x > v:
			return 1
		case x == v:
			return .5
		}
		return 0
	}
	var pos, neg []int
	for i, v := range y {
		if v == 1 {
			pos = append(pos, i)
		} else {
			neg = append(neg, i)
		}
	}
	comp := func(s []float64) (v10, v01 []float64) {
		v10 = make([]float64, len(pos))
		v01 = make([]float64, len(neg))
		for i, p := range pos {
			for j, n := range neg {
				v := psi(s[p], s[n])
				v10[i] += v / float64(len(neg))
				v01[j] += v / float64(len(pos))
			}
		}
		return v10, v01
	}
	a10, a01 := comp(a)
	b10, b01 := comp(b)
	mean := func(v []float64) float64 {
		var s float64
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	diffVar := func(u, v []float64) float64 {
		d := make([]float64, len(u))
		for i := range u {
			d[i] = u[i] - v[i]
		}
		m := mean(d)
		var s float64
		for _, x := range d {
			s += (x - m) * (x - m)
		}
		return s / float64(len(d)-1)
	}
	return mean(a10), mean(b10), diffVar(a10, b10)/float64(len(pos)) + diffVar(a01, b01)/float64(len(neg))
}

func TestPairedDeLongMatchesDefinition(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		levels int // scores rounded to this many levels, for ties
	}{
		{"continuous scores", 300, 0},
		{"heavily tied scores", 400, 5},
		{"few rows", 12, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tt.n)))
			y, a, b := make([]float64, tt.n), make([]float64, tt.n), make([]float64, tt.n)
			for i := range y {
				s := rng.NormFloat64()
				if rng.Float64() < 1/(1+math.Exp(-2*s)) {
					y[i] = 1
				}
				a[i], b[i] = s+rng.NormFloat64(), s+0.5*rng.NormFloat64()
				if tt.levels > 0 {
					a[i] = math.Round(a[i] * float64(tt.levels) / 4)
					b[i] = math.Round(b[i] * float64(tt.levels) / 4)
				}
			}
			d, err := PairedDeLong(y, a, b)
			if err != nil {
				t.Fatal(err)
			}
			wantA, wantB, wantVar := bruteDeLong(y, a, b)
			if math.Abs(d.AUCA-wantA) > 1e-12 || math.Abs(d.AUCB-wantB) > 1e-12 {
				t.Errorf("AUCs = %g, %g; want %g, %g", d.AUCA, d.AUCB, wantA, wantB)
			}
			if got := learn.ROCAUC(y, a); math.Abs(d.AUCA-got) > 1e-12 {
				t.Errorf("AUC_A = %g, learn.ROCAUC = %g", d.AUCA, got)
			}
			if math.Abs(d.SE*d.SE-wantVar) > 1e-12 {
				t.Errorf("Var(diff) = %g, want %g", d.SE*d.SE, wantVar)
			}
		})
	}
}

func TestPairedDeLongRejectsDegenerateInput(t *testing.T) {
	tests := []struct {
		name    string
		y, a, b []float64
	}{
		{"one positive", []float64{1, 0, 0}, []float64{1, 2, 3}, []float64{1, 2, 3}},
		{"lengths differ", []float64{1, 1, 0, 0}, []float64{1, 2, 3}, []float64{1, 2, 3, 4}},
	}
	for _, tt := range tests {
		if _, err := PairedDeLong(tt.y, tt.a, tt.b); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// TestPoissonTable checks the inverse-CDF table against Poisson(1)'s
// probabilities.
func TestPoissonTable(t *testing.T) {
	counts := make([]float64, 16)
	for _, k := range poisson16 {
		counts[k]++
	}
	p := distuv.Poisson{Lambda: 1}
	for k, c := range counts {
		if got, want := c/(1<<16), p.Prob(float64(k)); math.Abs(got-want) > 1.0/(1<<16) {
			t.Errorf("P(%d) = %.6f, want %.6f", k, got, want)
		}
	}
}

// sample generates n rows whose true score s is N(0, 1) with P(y=1) =
// σ(1.5·s − 1), and two models that see s through independent N(0, noise²)
// errors, the challenger's scaled by shift (> 1: better).
func sample(seed uint64, n int, noiseC, noiseP float64) Paired {
	rng := rand.New(rand.NewPCG(seed, 99))
	p := Paired{Y: make([]float64, n), Challenger: make([]float64, n), Production: make([]float64, n)}
	sig := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	for i := range n {
		s := rng.NormFloat64()
		if rng.Float64() < sig(1.5*s-1) {
			p.Y[i] = 1
		}
		p.Challenger[i] = sig(1.5*(s+noiseC*rng.NormFloat64()) - 1)
		p.Production[i] = sig(1.5*(s+noiseP*rng.NormFloat64()) - 1)
	}
	return p
}

// withArms adds to p the treatment arms "A" and "B" besides control, a
// third of the rows each, with tied challenger uplifts and production
// uplifts of arm A only.
func withArms(p Paired, seed uint64) Paired {
	rng := rand.New(rand.NewPCG(seed, 5))
	n := len(p.Y)
	a := PairedArm{Arm: "A", Treated: make([]int8, n), ChallengerUplift: make([]float64, n), ProductionUplift: make([]float64, n)}
	b := PairedArm{Arm: "B", Treated: make([]int8, n), ChallengerUplift: make([]float64, n)}
	for i := range p.Y {
		switch rng.IntN(3) {
		case 0: // control
		case 1:
			a.Treated[i], b.Treated[i] = 1, -1
		case 2:
			a.Treated[i], b.Treated[i] = -1, 1
		}
		a.ChallengerUplift[i] = math.Round(rng.NormFloat64()*10) / 10 // ties
		a.ProductionUplift[i] = p.Challenger[i] - 0.3
		b.ChallengerUplift[i] = p.Challenger[i] + rng.NormFloat64()
	}
	p.Arms = []PairedArm{a, b}
	return p
}

// learnQini is learn.QiniCoefficient of the arm's treated and control rows.
func learnQini(y []float64, a PairedArm, uplift []float64) float64 {
	var ys, us []float64
	var treated []bool
	for i, tr := range a.Treated {
		if tr >= 0 {
			ys = append(ys, y[i])
			us = append(us, uplift[i])
			treated = append(treated, tr == 1)
		}
	}
	return learn.QiniCoefficient(ys, us, treated)
}

// TestPointEstimatesMatchLearn checks the bootstrap's full-sample
// statistics against learn's metrics, for every arm.
func TestPointEstimatesMatchLearn(t *testing.T) {
	p := withArms(sample(5, 3000, 0.3, 0.6), 5)
	res, err := Bootstrap(p, BootstrapConfig{Resamples: 10, Confidence: 0.95})
	if err != nil {
		t.Fatal(err)
	}
	_, eceC := learn.Calibration(p.Y, p.Challenger, 10)
	_, eceP := learn.Calibration(p.Y, p.Production, 10)
	a, b := p.Arms[0], p.Arms[1]
	qa, qaP, qb := learnQini(p.Y, a, a.ChallengerUplift), learnQini(p.Y, a, a.ProductionUplift), learnQini(p.Y, b, b.ChallengerUplift)
	if len(res.Arms) != 2 || res.Arms[0].Arm != "A" || res.Arms[1].Arm != "B" || res.Arms[1].QiniDiff != nil || res.Arms[0].QiniDiff == nil {
		t.Fatalf("arms = %+v; want A with a difference, then B without", res.Arms)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"log loss diff", res.LogLossDiff.Estimate, learn.LogLoss(p.Y, p.Challenger) - learn.LogLoss(p.Y, p.Production)},
		{"calibration", res.Calibration.Estimate, eceC},
		{"calibration diff", res.CalibrationDiff.Estimate, eceC - eceP},
		{"qini A", res.Arms[0].Qini.Estimate, qa},
		{"qini diff A", res.Arms[0].QiniDiff.Estimate, qa - qaP},
		{"qini B", res.Arms[1].Qini.Estimate, qb},
	} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %.12g, learn gives %.12g", c.name, c.got, c.want)
		}
	}
}

// TestArmsShareResamples checks that the one resampling pass over every
// arm gives each arm the intervals a bootstrap of that arm alone gives on
// the same resamples, and that the arms' resamples are the same rows: the
// percentile intervals of arms with identical columns are identical.
func TestArmsShareResamples(t *testing.T) {
	p := withArms(sample(6, 2500, 0.4, 0.5), 6)
	cfg := BootstrapConfig{Resamples: 300, Seed: 9, Confidence: 0.9}
	all, err := Bootstrap(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for j, a := range p.Arms {
		one := p
		one.Arms = []PairedArm{a}
		got, err := Bootstrap(one, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Arms[0], all.Arms[j]) {
			t.Errorf("arm %s alone: %+v; among all arms: %+v", a.Arm, got.Arms[0], all.Arms[j])
		}
		if !reflect.DeepEqual(got.LogLossDiff, all.LogLossDiff) {
			t.Errorf("arm %s alone changed the log loss interval: %+v, with all arms %+v", a.Arm, got.LogLossDiff, all.LogLossDiff)
		}
	}
	twin := p.Arms[0]
	twin.Arm = "A again"
	p.Arms = append(p.Arms, twin)
	got, err := Bootstrap(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Arms[0].Qini != got.Arms[2].Qini || *got.Arms[0].QiniDiff != *got.Arms[2].QiniDiff {
		t.Errorf("twin arms differ: %+v and %+v", got.Arms[0], got.Arms[2])
	}
}

// upliftSample generates n rows in control and arms "A" and "B": arm A
// raises the response of rows with s > 0 and the challenger knows it, arm
// B changes nothing and the challenger's uplift for it is noise.
func upliftSample(seed uint64, n int) Paired {
	rng := rand.New(rand.NewPCG(seed, 7))
	sig := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	p := Paired{Y: make([]float64, n), Challenger: make([]float64, n)}
	a := PairedArm{Arm: "A", Treated: make([]int8, n), ChallengerUplift: make([]float64, n)}
	b := PairedArm{Arm: "B", Treated: make([]int8, n), ChallengerUplift: make([]float64, n)}
	for i := range n {
		s := rng.NormFloat64()
		z := s - 1
		switch rng.IntN(3) {
		case 1:
			a.Treated[i], b.Treated[i] = 1, -1
			if s > 0 {
				z += 1.5
			}
		case 2:
			a.Treated[i], b.Treated[i] = -1, 1
		}
		if rng.Float64() < sig(z) {
			p.Y[i] = 1
		}
		p.Challenger[i] = sig(s - 1)
		a.ChallengerUplift[i] = sig(s+0.5) - sig(s-1) + 0.1*rng.NormFloat64()
		b.ChallengerUplift[i] = rng.NormFloat64()
	}
	p.Arms = []PairedArm{a, b}
	return p
}

// TestJudgeEveryArm checks that each arm gets its own qini_positive
// check with its own interval: in interval mode the lower bound decides,
// so the useless arm B fails; in point mode the estimate does.
func TestJudgeEveryArm(t *testing.T) {
	p := upliftSample(3, 6000)
	ch := scores(p.Y, p.Challenger)
	for _, a := range p.Arms {
		ch.Arms = append(ch.Arms, ArmScore{a.Arm, learnQini(p.Y, a, a.ChallengerUplift)})
	}
	for _, mode := range []string{ModeInterval, ModePoint} {
		l := Limits{Mode: mode, MinAUC: 0.5, MaxCalibrationError: 0.5}
		checks := Judge(l, Input{HoldoutRows: len(p.Y), QuarantineShare: -1, Rows: &p, Challenger: ch})
		byArm := map[string]Check{}
		for _, c := range checks {
			if strings.HasPrefix(c.Name, "qini_positive[") {
				byArm[c.Arm] = c
			}
		}
		for _, arm := range []string{"A", "B"} {
			c, ok := byArm[arm]
			if !ok || c.Name != "qini_positive["+arm+"]" || c.Lower == nil {
				t.Fatalf("%s: no qini_positive check with an interval for arm %s:\n%s", mode, arm, describe(checks))
			}
			want := *c.Lower > 0
			if mode == ModePoint {
				want = c.Value > 0
			}
			if c.Pass != want {
				t.Errorf("%s: %s pass = %v, want %v:\n%s", mode, c.Name, c.Pass, want, describe([]Check{c}))
			}
		}
		if *byArm["A"].Lower == *byArm["B"].Lower {
			t.Errorf("%s: arms A and B share an interval:\n%s", mode, describe(checks))
		}
		if mode == ModeInterval {
			if !byArm["A"].Pass || byArm["B"].Pass {
				t.Errorf("interval mode: want arm A to pass and the noise arm B to fail:\n%s", describe(checks))
			}
			if pass, disabled := Decide(Limits{Arms: ArmsAny}, checks); !pass || !slices.Equal(disabled, []string{"B"}) {
				t.Errorf("Decide(any) = %v, disabled %q; want pass with B disabled", pass, disabled)
			}
		}
	}
}

func TestBootstrapIsReproducible(t *testing.T) {
	p := sample(8, 2000, 0.5, 0.5)
	var first BootstrapResult
	for i, workers := range []int{1, 3, 8} {
		got, err := Bootstrap(p, BootstrapConfig{Resamples: 200, Seed: 42, Confidence: 0.9, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = got
		} else if !reflect.DeepEqual(got, first) {
			t.Errorf("%d workers: %+v, 1 worker: %+v", workers, got, first)
		}
	}
	other, _ := Bootstrap(p, BootstrapConfig{Resamples: 200, Seed: 43, Confidence: 0.9})
	if reflect.DeepEqual(other, first) {
		t.Error("seed 43 gave the same intervals as seed 42")
	}
}

// TestErrorRates runs the interval statistics on 200 seeds of generated
// data where the truth is known. For two equally good models the two-sided
// 95% interval of the difference excludes 0 (a superiority test at zero
// tolerance rejects equality) about 5% of the time: with 200 trials the
// count is Binomial(200, .05), mean 10, sd 3.1, so 1..19 (±3 sd). A
// non-inferiority test with a tolerance of about four standard errors
// (AUC difference: SE ≈ .0085, tolerance .04; log loss: SE ≈ .01,
// tolerance .05) passes an equal challenger in at least 95% of the seeds.
func TestErrorRates(t *testing.T) {
	if testing.Short() {
		t.Skip("200 seeds of 1000 resamples")
	}
	const seeds, n = 200, 2000
	var aucExcl, llExcl, aucPass, llPass int
	for s := range uint64(seeds) {
		p := sample(s, n, 0.5, 0.5)
		d, err := PairedDeLong(p.Y, p.Challenger, p.Production)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Bootstrap(p, BootstrapConfig{Resamples: 1000, Seed: s, Confidence: 0.95})
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := d.Interval(0.95)
		if lo > 0 || hi < 0 {
			aucExcl++
		}
		if b.LogLossDiff.Lower > 0 || b.LogLossDiff.Upper < 0 {
			llExcl++
		}
		if lo >= -0.04 {
			aucPass++
		}
		if b.LogLossDiff.Upper <= 0.05 {
			llPass++
		}
	}
	t.Logf("equal models over %d seeds: AUC interval excludes 0 %d times, log loss %d times; non-inferiority passes AUC %d, log loss %d",
		seeds, aucExcl, llExcl, aucPass, llPass)
	for _, c := range []struct {
		name string
		got  int
	}{{"DeLong", aucExcl}, {"bootstrap log loss", llExcl}} {
		if c.got < 1 || c.got > 19 {
			t.Errorf("%s: equal models declared different in %d of %d seeds, want 1..19 (5%%)", c.name, c.got, seeds)
		}
	}
	for _, c := range []struct {
		name string
		got  int
	}{{"AUC", aucPass}, {"log loss", llPass}} {
		if c.got < seeds*95/100 {
			t.Errorf("%s non-inferiority passed an equal challenger in %d of %d seeds, want ≥ 95%%", c.name, c.got, seeds)
		}
	}
}

// TestJudgeWithRows checks verdicts on generated holdouts whose truth is
// known.
func TestJudgeWithRows(t *testing.T) {
	tests := []struct {
		name           string
		noiseC, noiseP float64
		limits         Limits
		wantFailed     []string
	}{
		{name: "the same model passes", noiseC: 0.5, noiseP: 0.5, limits: Limits{MaxAUCDrop: 1e-9, MaxLogLossRise: 1e-9, MaxCalibrationRise: 1e-9}},
		{name: "a better model passes", noiseC: 0.2, noiseP: 1.0},
		{name: "a much worse model is rejected", noiseC: 1.5, noiseP: 0.2, wantFailed: []string{"auc_vs_production", "log_loss_vs_production", "calibration_vs_production"}},
		{
			name: "a slightly worse model passes on points but not on intervals", noiseC: 0.55, noiseP: 0.5,
			limits:     Limits{MaxAUCDrop: 0.01, MaxLogLossRise: 0.01},
			wantFailed: []string{"auc_vs_production", "log_loss_vs_production", "calibration_vs_production"},
		},
		{name: "point mode decides on the estimate", noiseC: 0.55, noiseP: 0.5, limits: Limits{Mode: ModePoint, MaxAUCDrop: 0.01, MaxLogLossRise: 0.01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sample(11, 2000, tt.noiseC, tt.noiseP)
			if tt.name == "the same model passes" {
				p.Production = p.Challenger
			}
			in := Input{HoldoutRows: len(p.Y), QuarantineShare: -1, Rows: &p,
				Challenger: scores(p.Y, p.Challenger), Production: ptrScores(scores(p.Y, p.Production))}
			l := tt.limits
			l.MinAUC, l.MaxCalibrationError = 0.5, 0.5
			checks := Judge(l, in)
			got := Verdict{Checks: checks}.Failed()
			if !reflect.DeepEqual(got, tt.wantFailed) {
				t.Errorf("failed = %v, want %v; checks:\n%s", got, tt.wantFailed, describe(checks))
			}
			for _, c := range checks {
				if c.Name != "min_rows" && (c.Lower == nil || c.Upper == nil || *c.Lower > *c.Upper) {
					t.Errorf("check %s has no proper interval: %s", c.Name, describe([]Check{c}))
				}
			}
		})
	}
}

func ptrScores(s Scores) *Scores { return &s }

func scores(y, p []float64) Scores {
	_, ece := learn.Calibration(y, p, 10)
	return Scores{AUC: learn.ROCAUC(y, p), LogLoss: learn.LogLoss(y, p), CalibrationError: ece}
}

func describe(checks []Check) string {
	var out string
	for _, c := range checks {
		lo, hi := math.NaN(), math.NaN()
		if c.Lower != nil {
			lo, hi = *c.Lower, *c.Upper
		}
		out += fmt.Sprintf("%s: %.4f [%.4f, %.4f] %s %.4f (%s) pass=%v\n", c.Name, c.Value, lo, hi, c.Op, c.Limit, c.Basis, c.Pass)
	}
	return out
}

// TestFillRunDrawsWeightedRunWeights checks that the Qini pass sees the
// same resample as the log loss and calibration pass.
func TestFillRunDrawsWeightedRunWeights(t *testing.T) {
	for _, n := range []int{1, 3, 4, 7, 4096} {
		ll := make([]float64, n)
		for i := range ll {
			ll[i] = float64(i + 1)
		}
		_, got, _, _ := weightedRun(rand.NewPCG(3, 4), ll, ll, ll)
		w := make([]uint8, n)
		fillRun(rand.NewPCG(3, 4), w)
		var want float64
		for i, x := range w {
			want += float64(x) * ll[i]
		}
		if got != want {
			t.Errorf("n=%d: weighted sum %g, from filled weights %g", n, got, want)
		}
	}
}

package learn

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/optimize"
)

// LogReg is a fitted binary logistic regression over a pipeline's features:
// P(y=1|x) = 1/(1+exp(-(Intercept + Coef·x))).
//
// A class-weighted fit has had its intercept corrected back to the base
// rate (see fitWeighted); PriorCorrection is the log(w1/w0) subtracted, 0
// for an unweighted fit.
type LogReg struct {
	Intercept       float64   `json:"intercept"`
	Coef            []float64 `json:"coef"`
	PriorCorrection float64   `json:"prior_correction,omitempty"`
	Solver          Solver    `json:"solver"`
}

// Solver reports how the L-BFGS fit ended.
type Solver struct {
	Iterations int     `json:"iterations"`
	Evals      int     `json:"evaluations"`
	Converged  bool    `json:"converged"`
	Status     string  `json:"status"`
	GradNorm   float64 `json:"grad_norm"` // max |gradient| of the objective divided by the row count
	Objective  float64 `json:"objective"` // the objective divided by the row count
	Tol        float64 `json:"tol"`
	MaxIter    int     `json:"max_iter"`
}

// lrProblem is the penalised weighted log loss of a design:
//
//	f(β, b) = Σ_i w_i·[log(1+exp(z_i)) − y_i·z_i] + ||β||²/(2C),  z_i = b + x_i·β
//
// the convention of scikit-learn's LogisticRegression (intercept not
// penalised), divided by the row count so that the gradient tolerance does
// not depend on the data size (as scikit-learn does since 1.2).
type lrProblem struct {
	d      *design
	y, w   []float64 // w nil means every weight is 1
	active []bool    // nil means every feature is active
	lambda float64   // 1/C
	scale  float64   // 1/n

	chunk   int         // rows per chunk
	partial [][]float64 // per chunk: gradient (p+1) then loss
	lastX   []float64
	lastG   []float64
	lastF   float64
	evals   int
}

// rowsPerChunk fixes the work split by row count only, so that sums (and
// so the fitted model) do not depend on the number of cores.
func rowsPerChunk(n int) int {
	return max(4096, (n+63)/64)
}

func newLRProblem(d *design, y, w []float64, active []bool, c float64) *lrProblem {
	chunk := rowsPerChunk(d.n)
	nchunks := max(1, (d.n+chunk-1)/chunk)
	pr := &lrProblem{d: d, y: y, w: w, active: active, lambda: 1 / c, scale: 1 / float64(max(d.n, 1)), chunk: chunk}
	pr.partial = make([][]float64, nchunks)
	for i := range pr.partial {
		pr.partial[i] = make([]float64, d.p+2)
	}
	pr.lastX = make([]float64, d.p+1)
	pr.lastG = make([]float64, d.p+1)
	pr.lastF = math.NaN()
	return pr
}

// checkFit checks what a fit of design d with inverse penalty c needs: a
// positive finite c and rows.
func checkFit(d *design, c float64) error {
	if !(c > 0) || math.IsInf(c, 0) {
		return fmt.Errorf("logistic regression: C = %v, want a positive finite number", c)
	}
	if d.n == 0 {
		return fmt.Errorf("logistic regression: no rows")
	}
	return nil
}

// penalize adds the penalty ||β||²/(2C) at theta to the loss sum f, which
// it returns, and its gradient to grad, whose inactive features it zeroes.
func (pr *lrProblem) penalize(theta, grad []float64, f float64) float64 {
	for j := 0; j < pr.d.p; j++ {
		if pr.active != nil && !pr.active[j] {
			grad[j] = 0
			continue
		}
		f += 0.5 * pr.lambda * theta[j] * theta[j]
		grad[j] += pr.lambda * theta[j]
	}
	return f
}

// evalChunk accumulates loss and gradient of rows [lo, hi) into out.
func (pr *lrProblem) evalChunk(theta []float64, lo, hi int, out []float64) {
	d := pr.d
	p, pd, nc := d.p, d.pd, d.nc
	beta, b := theta[:p], theta[p]
	g := out[:p+1]
	clear(out)
	var loss float64
	for i := lo; i < hi; i++ {
		xi := d.x[i*pd : i*pd+pd]
		ci := d.cat[i*nc : i*nc+nc]
		z := b
		for j, v := range xi {
			z += v * beta[j]
		}
		for _, k := range ci {
			z += beta[k]
		}
		sig, sp := logistic(z)
		yi := pr.y[i]
		wi := 1.0
		if pr.w != nil {
			wi = pr.w[i]
		}
		loss += wi * (sp - yi*z)
		r := wi * (sig - yi)
		for j, v := range xi {
			g[j] += r * v
		}
		for _, k := range ci {
			g[k] += r
		}
		g[p] += r
	}
	out[p+1] = loss
}

// eval returns the objective at theta and writes its gradient to grad.
func (pr *lrProblem) eval(theta, grad []float64) float64 {
	pr.evals++
	n := pr.d.n
	nchunks := len(pr.partial)
	workers := min(runtime.GOMAXPROCS(0), nchunks)
	if workers <= 1 {
		for c := 0; c < nchunks; c++ {
			pr.evalChunk(theta, c*pr.chunk, min(n, (c+1)*pr.chunk), pr.partial[c])
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					c := int(next.Add(1)) - 1
					if c >= nchunks {
						return
					}
					pr.evalChunk(theta, c*pr.chunk, min(n, (c+1)*pr.chunk), pr.partial[c])
				}
			}()
		}
		wg.Wait()
	}
	p := pr.d.p
	clear(grad)
	var f float64
	for _, part := range pr.partial {
		for j := 0; j <= p; j++ {
			grad[j] += part[j]
		}
		f += part[p+1]
	}
	f = pr.penalize(theta, grad, f)
	for j := range grad {
		grad[j] *= pr.scale
	}
	return f * pr.scale
}

// cached returns the objective at x from the last evaluation, computing it
// when x changed: the optimiser asks for value and gradient separately.
func (pr *lrProblem) cached(x []float64) {
	if !math.IsNaN(pr.lastF) && equal(x, pr.lastX) {
		return
	}
	copy(pr.lastX, x)
	pr.lastF = pr.eval(x, pr.lastG)
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fitLogReg minimises the penalised log loss with L-BFGS (More-Thuente line
// search). C is the inverse penalty strength; the iteration stops when the
// largest gradient component of the row-averaged objective is below tol or
// after maxIter iterations.
func fitLogReg(d *design, y, w []float64, active []bool, c, tol float64, maxIter int) (*LogReg, error) {
	if err := checkFit(d, c); err != nil {
		return nil, err
	}
	pr := newLRProblem(d, y, w, active, c)
	x0 := make([]float64, d.p+1)
	// Start the intercept at the log-odds of the base rate: the optimum is
	// the same, the path shorter.
	x0[d.p] = baseLogit(y, w)
	prob := optimize.Problem{
		Func: func(x []float64) float64 {
			pr.cached(x)
			return pr.lastF
		},
		Grad: func(grad, x []float64) {
			pr.cached(x)
			copy(grad, pr.lastG)
		},
	}
	settings := &optimize.Settings{
		GradientThreshold: tol,
		MajorIterations:   maxIter,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-14, Relative: 1e-14, Iterations: 20},
	}
	method := &optimize.LBFGS{Linesearcher: &optimize.MoreThuente{}, Store: 10}
	res, err := optimize.Minimize(prob, x0, settings, method)
	if err != nil && res == nil {
		return nil, fmt.Errorf("logistic regression: %w", err)
	}
	theta := res.X
	pr.cached(theta)
	gn := infNorm(pr.lastG)
	if math.IsNaN(pr.lastF) || math.IsNaN(gn) {
		return nil, fmt.Errorf("logistic regression: objective is NaN (status %v)", res.Status)
	}
	lr := &LogReg{
		Intercept: theta[d.p],
		Coef:      append([]float64(nil), theta[:d.p]...),
		Solver: Solver{
			Iterations: res.Stats.MajorIterations,
			Evals:      pr.evals,
			Converged:  gn < tol || res.Status == optimize.GradientThreshold || res.Status == optimize.FunctionConvergence,
			Status:     res.Status.String(),
			GradNorm:   gn,
			Objective:  pr.lastF,
			Tol:        tol,
			MaxIter:    maxIter,
		},
	}
	return lr, nil
}

// predict returns P(y=1) for every row of d.
func (lr *LogReg) predict(d *design) []float64 {
	out := make([]float64, d.n)
	chunk := rowsPerChunk(d.n)
	nchunks := (d.n + chunk - 1) / chunk
	parallelFor(nchunks, func(c int) {
		for i := c * chunk; i < min(d.n, (c+1)*chunk); i++ {
			out[i] = lr.prob(d.x[i*d.pd:i*d.pd+d.pd], d.cat[i*d.nc:i*d.nc+d.nc])
		}
	})
	return out
}

// prob returns P(y=1) for one transformed row.
func (lr *LogReg) prob(x []float64, cat []int32) float64 {
	z := lr.Intercept
	for j, v := range x {
		z += v * lr.Coef[j]
	}
	for _, k := range cat {
		z += lr.Coef[k]
	}
	return sigmoid(z)
}

// sigmoid is 1/(1+e^-z) without overflow: the probability of a score.
func sigmoid(z float64) float64 {
	e := math.Exp(-math.Abs(z))
	if z >= 0 {
		return 1 / (1 + e)
	}
	return e / (1 + e)
}

// logistic returns what the log loss of a score z needs: the sigmoid
// 1/(1+e^-z) and the softplus log(1+e^z) = max(z,0) + log1p(e^-|z|), both
// from one e^-|z| so that neither overflows for any z.
func logistic(z float64) (sig, softplus float64) {
	e := math.Exp(-math.Abs(z))
	if z >= 0 {
		return 1 / (1 + e), z + math.Log1p(e)
	}
	return e / (1 + e), math.Log1p(e)
}

// Solver methods.
const (
	SolverAuto   = ""       // Newton when the Hessian is small, else L-BFGS
	SolverNewton = "newton" // damped Newton with exact Hessian
	SolverLBFGS  = "lbfgs"  // gonum L-BFGS
)

// newtonLimit bounds the features (and the active features per row) for
// which the automatic choice takes Newton: its Hessian costs p² memory and
// (active per row)² work per row.
const (
	newtonMaxFeatures = 512
	newtonMaxActive   = 96
)

// hessChunks is the fixed number of row chunks whose Hessians are summed.
const hessChunks = 8

// fit minimises the penalised log loss with the given method.
func fit(d *design, y, w []float64, active []bool, c, tol float64, maxIter int, method string) (*LogReg, error) {
	if method == SolverAuto {
		method = SolverLBFGS
		if d.p <= newtonMaxFeatures && d.pd+d.nc <= newtonMaxActive {
			method = SolverNewton
		}
	}
	switch method {
	case SolverNewton:
		return fitNewton(d, y, w, active, c, tol, maxIter)
	case SolverLBFGS:
		return fitLogReg(d, y, w, active, c, tol, maxIter)
	}
	return nil, fmt.Errorf("logistic regression: unknown solver %q", method)
}

package learn

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// newtonState holds the buffers of one Newton fit.
type newtonState struct {
	pr    *lrProblem
	q     int         // parameters: p features + intercept
	hess  [][]float64 // per chunk: q*q upper triangle, then gradient (q), then loss
	chunk int
}

// evalHess computes objective, gradient and Hessian (upper triangle, row
// major q×q) of the row-averaged objective at theta.
func (ns *newtonState) evalHess(theta, grad, hess []float64) float64 {
	parallelFor(len(ns.hess), func(c int) {
		ns.chunkHess(c, theta)
	})
	return ns.sumHess(theta, grad, hess)
}

// chunkHess sums the loss, gradient and Hessian of chunk c's rows at theta
// into the chunk's buffer.
func (ns *newtonState) chunkHess(c int, theta []float64) {
	pr, d, q := ns.pr, ns.pr.d, ns.q
	p := d.p
	buf := ns.hess[c]
	clear(buf)
	h, g := buf[:q*q], buf[q*q:q*q+q]
	idx := make([]int, 0, d.pd+d.nc+1)
	val := make([]float64, 0, d.pd+d.nc+1)
	var loss float64
	beta, b := theta[:p], theta[p]
	for i := c * ns.chunk; i < min(d.n, (c+1)*ns.chunk); i++ {
		xi := d.x[i*d.pd : i*d.pd+d.pd]
		ci := d.cat[i*d.nc : i*d.nc+d.nc]
		z := b
		idx, val = idx[:0], val[:0]
		for j, v := range xi {
			z += v * beta[j]
			if v != 0 {
				idx = append(idx, j)
				val = append(val, v)
			}
		}
		for _, k := range ci {
			z += beta[k]
			idx = append(idx, int(k))
			val = append(val, 1)
		}
		idx = append(idx, p)
		val = append(val, 1)
		sig, sp := logistic(z)
		wi := 1.0
		if pr.w != nil {
			wi = pr.w[i]
		}
		yi := pr.y[i]
		loss += wi * (sp - yi*z)
		r := wi * (sig - yi)
		s := wi * sig * (1 - sig)
		for a, ia := range idx {
			va := val[a]
			g[ia] += r * va
			sva := s * va
			// Upper triangle: indexes are increasing except that
			// dense features come before one-hot ones, which holds.
			row := h[ia*q:]
			for bb := a; bb < len(idx); bb++ {
				row[idx[bb]] += sva * val[bb]
			}
		}
	}
	buf[q*q+q] = loss
}

// sumHess adds up the chunks' sums, adds the penalty and scales all to the
// row-averaged objective, which it returns.
func (ns *newtonState) sumHess(theta, grad, hess []float64) float64 {
	pr, q, p := ns.pr, ns.q, ns.pr.d.p
	clear(grad)
	clear(hess)
	var f float64
	for _, buf := range ns.hess {
		for k, v := range buf[:q*q] {
			hess[k] += v
		}
		for k, v := range buf[q*q : q*q+q] {
			grad[k] += v
		}
		f += buf[q*q+q]
	}
	f = pr.penalize(theta, grad, f)
	for j := 0; j < p; j++ {
		if pr.active == nil || pr.active[j] {
			hess[j*q+j] += pr.lambda
		}
	}
	for k := range grad {
		grad[k] *= pr.scale
	}
	for k := range hess {
		hess[k] *= pr.scale
	}
	return f * pr.scale
}

// fitNewton minimises the penalised log loss by damped Newton steps with a
// backtracking (Armijo) line search. The objective is strictly convex, so
// this converges from any start, quadratically near the optimum; it stops
// when the largest gradient component is below tol.
func fitNewton(d *design, y, w []float64, active []bool, c, tol float64, maxIter int) (*LogReg, error) {
	if err := checkFit(d, c); err != nil {
		return nil, err
	}
	ns := newNewtonState(newLRProblem(d, y, w, active, c))
	q := ns.q
	theta := make([]float64, q)
	theta[d.p] = baseLogit(y, w)
	grad, hess := make([]float64, q), make([]float64, q*q)
	trial, tgrad, thess := make([]float64, q), make([]float64, q), make([]float64, q*q)
	step := make([]float64, q)
	f := ns.evalHess(theta, grad, hess)
	evals := 1
	sv := Solver{Status: "IterationLimit", Tol: tol, MaxIter: maxIter}
	for it := 0; ; it++ {
		gn := infNorm(grad)
		sv.Iterations, sv.GradNorm, sv.Objective = it, gn, f
		if gn < tol {
			sv.Converged, sv.Status = true, "GradientThreshold"
			break
		}
		if it >= maxIter {
			break
		}
		slope, err := ns.direction(hess, grad, step)
		if err != nil {
			return nil, err
		}
		ft, n, accepted := ns.lineSearch(theta, step, f, slope, trial, tgrad, thess)
		evals += n
		if !accepted {
			// No decrease representable in float64: at the optimum within
			// rounding.
			sv.Status = "NoProgress"
			sv.Converged = infNorm(grad) < math.Sqrt(tol)
			break
		}
		theta, trial = trial, theta
		grad, tgrad = tgrad, grad
		hess, thess = thess, hess
		f = ft
	}
	sv.Evals = evals
	if math.IsNaN(f) {
		return nil, fmt.Errorf("logistic regression: objective is NaN")
	}
	return &LogReg{Intercept: theta[d.p], Coef: append([]float64(nil), theta[:d.p]...), Solver: sv}, nil
}

// newNewtonState allocates the chunk buffers of a Newton fit of pr.
func newNewtonState(pr *lrProblem) *newtonState {
	d := pr.d
	q := d.p + 1
	ns := &newtonState{pr: pr, q: q, chunk: (d.n + hessChunks - 1) / hessChunks}
	for c := 0; c*ns.chunk < d.n; c++ {
		ns.hess = append(ns.hess, make([]float64, q*q+q+1))
	}
	return ns
}

// direction solves H·step = −g on the active parameters (inactive ones
// step 0) and returns the slope step·g of the objective along it.
func (ns *newtonState) direction(hess, grad, step []float64) (slope float64, err error) {
	q, p, active := ns.q, ns.pr.d.p, ns.pr.active
	sym := mat.NewSymDense(q, nil)
	for a := 0; a < q; a++ {
		for b := a; b < q; b++ {
			sym.SetSym(a, b, hess[a*q+b])
		}
		if a < p && active != nil && !active[a] {
			for b := 0; b < q; b++ {
				if b != a {
					sym.SetSym(a, b, 0)
				}
			}
			sym.SetSym(a, a, 1)
		}
	}
	var chol mat.Cholesky
	if ok := chol.Factorize(sym); !ok {
		// Only a feature column that is zero on every row with an
		// unpenalised intercept can make H singular; a small ridge
		// keeps the step defined.
		for a := 0; a < q; a++ {
			sym.SetSym(a, a, sym.At(a, a)+1e-10)
		}
		if ok := chol.Factorize(sym); !ok {
			return 0, fmt.Errorf("logistic regression: Hessian is not positive definite")
		}
	}
	var sol mat.VecDense
	if err := chol.SolveVecTo(&sol, mat.NewVecDense(q, grad)); err != nil {
		return 0, fmt.Errorf("logistic regression: newton step: %w", err)
	}
	for k := range step {
		step[k] = -sol.AtVec(k)
		slope += step[k] * grad[k]
	}
	return slope, nil
}

// lineSearch halves the step from theta until the objective (f at theta,
// slope along step) decreases enough (Armijo), writing the accepted point
// and its gradient and Hessian into trial, tgrad and thess. It returns the
// objective there, the evaluations made and whether a step was accepted.
func (ns *newtonState) lineSearch(theta, step []float64, f, slope float64, trial, tgrad, thess []float64) (ft float64, evals int, accepted bool) {
	t := 1.0
	for ls := 0; ls < 40; ls++ {
		for k := range trial {
			trial[k] = theta[k] + t*step[k]
		}
		ft = ns.evalHess(trial, tgrad, thess)
		evals++
		if ft <= f+1e-4*t*slope || (ft <= f && t < 1e-6) {
			return ft, evals, true
		}
		t /= 2
	}
	return ft, evals, false
}

// baseLogit is the weighted log-odds of the positive rate, a start for the
// intercept closer to the optimum than 0 (0 when a class is absent).
func baseLogit(y, w []float64) float64 {
	var sw, swy float64
	for i, yi := range y {
		wi := 1.0
		if w != nil {
			wi = w[i]
		}
		sw += wi
		swy += wi * yi
	}
	if rate := swy / sw; rate > 0 && rate < 1 {
		return math.Log(rate / (1 - rate))
	}
	return 0
}

func infNorm(v []float64) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

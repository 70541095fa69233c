package learn

import "github.com/promoflow/promoflow/rank"

// Uplift metrics compare, among rows ranked by predicted uplift, the
// response of treated rows with that of control rows. Labels y are 0/1;
// treated[i] says whether row i got the treatment arm (else control).

// QiniCurve returns the Qini curve of predicted uplift u: rows are ranked by
// u (highest first) and, after each group of tied scores, the point
//
//	x = rows so far,  q = Y_t − Y_c·N_t/N_c
//
// (Y responders and N rows among the treated t and control c so far; the
// second term is 0 while N_c = 0), starting at (0, 0). Drawing straight
// lines across tied groups averages over their orderings. This follows
// scikit-uplift's qini_curve.
func QiniCurve(y, u []float64, treated []bool) (x, q []float64) {
	idx := rank.Descending(u)
	x, q = []float64{0}, []float64{0}
	var nt, nc, yt, yc float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && u[idx[j]] == u[idx[i]] {
			k := idx[j]
			if treated[k] {
				nt++
				yt += y[k]
			} else {
				nc++
				yc += y[k]
			}
			j++
		}
		v := yt
		if nc > 0 {
			v -= yc * nt / nc
		}
		x = append(x, float64(j))
		q = append(q, v)
		i = j
	}
	return x, q
}

// QiniCoefficient returns the area between the Qini curve of u and the
// random-targeting line, divided by the same area for the perfect ranking
// (treated responders first, control responders last), as scikit-uplift's
// qini_auc_score with negative_effect=True. 1 is perfect, 0 random. It is 0
// when the perfect ranking is no better than random.
func QiniCoefficient(y, u []float64, treated []bool) float64 {
	ax, aq := QiniCurve(y, u, treated)
	perfect := make([]float64, len(y))
	for i := range y {
		switch {
		case y[i] == 1 && treated[i]:
			perfect[i] = 1
		case y[i] == 1:
			perfect[i] = -1
		}
	}
	px, pq := QiniCurve(y, perfect, treated)
	n, end := px[len(px)-1], pq[len(pq)-1]
	baseline := n * end / 2
	best := trapezoid(px, pq) - baseline
	if best == 0 {
		return 0
	}
	return (trapezoid(ax, aq) - baseline) / best
}

func trapezoid(x, y []float64) float64 {
	var a float64
	for i := 1; i < len(x); i++ {
		a += (x[i] - x[i-1]) * (y[i] + y[i-1]) / 2
	}
	return a
}

// UpliftAtK returns, among the top fraction k of all rows ranked by u
// (int(k·n) rows, ties in row order), the response rate of treated rows
// minus that of control rows (scikit-uplift's uplift_at_k, strategy
// "overall"). A group with no rows in the top counts as rate 0.
func UpliftAtK(y, u []float64, treated []bool, k float64) float64 {
	idx := rank.Descending(u)
	top := idx[:int(k*float64(len(idx)))]
	var nt, nc, yt, yc float64
	for _, i := range top {
		if treated[i] {
			nt++
			yt += y[i]
		} else {
			nc++
			yc += y[i]
		}
	}
	return frac(yt, nt) - frac(yc, nc)
}

func frac(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// UpliftBin is one equal-count bin of rows ranked by predicted uplift.
type UpliftBin struct {
	Rows          int     `json:"rows"`
	Treated       int     `json:"treated"`
	Control       int     `json:"control"`
	TreatedRate   float64 `json:"treated_rate"`
	ControlRate   float64 `json:"control_rate"`
	Uplift        float64 `json:"uplift"` // TreatedRate − ControlRate
	MeanPredicted float64 `json:"mean_predicted"`
}

// UpliftByBin ranks rows by u (highest first), cuts them into bins of
// (nearly) equal count and reports observed uplift in each; bins = 10
// gives uplift by decile. A group with no rows in a bin counts as rate 0.
func UpliftByBin(y, u []float64, treated []bool, bins int) []UpliftBin {
	n := len(u)
	if n == 0 || bins <= 0 {
		return nil
	}
	bins = min(bins, n)
	idx := rank.Descending(u)
	out := make([]UpliftBin, bins)
	for b := range out {
		lo, hi := b*n/bins, (b+1)*n/bins
		var yt, yc, su float64
		ub := UpliftBin{Rows: hi - lo}
		for _, i := range idx[lo:hi] {
			su += u[i]
			if treated[i] {
				ub.Treated++
				yt += y[i]
			} else {
				ub.Control++
				yc += y[i]
			}
		}
		ub.TreatedRate = frac(yt, float64(ub.Treated))
		ub.ControlRate = frac(yc, float64(ub.Control))
		ub.Uplift = ub.TreatedRate - ub.ControlRate
		ub.MeanPredicted = su / float64(ub.Rows)
		out[b] = ub
	}
	return out
}

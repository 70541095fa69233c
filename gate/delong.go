package gate

import (
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/promoflow/promoflow/rank"
)

// DeLong is the result of DeLong's test comparing the ROC-AUC of two
// models scored on the same rows (DeLong, DeLong & Clarke-Pearson 1988),
// computed with the O(n log n) algorithm of Sun & Xu (2014).
type DeLong struct {
	// AUC of the challenger (A) and production (B).
	AUCA, AUCB float64
	// VarA and VarB are the variances of each AUC; Cov their covariance.
	VarA, VarB, Cov float64
	// Diff is AUCA − AUCB and SE its standard error.
	Diff, SE float64
	// Z is Diff/SE and P its two-sided p-value (NaN when SE is 0).
	Z, P float64
}

// Interval returns the two-sided confidence interval of Diff at level
// confidence (e.g. 0.95).
func (d DeLong) Interval(confidence float64) (lower, upper float64) {
	z := normalQuantile(confidence)
	return d.Diff - z*d.SE, d.Diff + z*d.SE
}

// IntervalA returns the two-sided confidence interval of AUCA alone.
func (d DeLong) IntervalA(confidence float64) (lower, upper float64) {
	z := normalQuantile(confidence)
	se := math.Sqrt(d.VarA)
	return d.AUCA - z*se, d.AUCA + z*se
}

// normalQuantile is the z with P(|Z| ≤ z) = confidence.
func normalQuantile(confidence float64) float64 {
	return distuv.UnitNormal.Quantile(1 - (1-confidence)/2)
}

// PairedDeLong compares scores a and b of the same rows with labels y
// (1 positive, anything else negative). Ties count one half, as in the
// Mann-Whitney statistic.
//
// With m positives X and n negatives Y, the structural components of a
// model are V10(X_i) = (1/n)·Σ_j ψ(X_i, Y_j) and V01(Y_j) = (1/m)·Σ_i
// ψ(X_i, Y_j), ψ = 1, ½, 0 for >, =, <. Sun & Xu get them from midranks:
// V10(X_i) = (T_Z(X_i) − T_X(X_i))/n and V01(Y_j) = 1 − (T_Z(Y_j) −
// T_Y(Y_j))/m, with T_Z the midrank among all rows and T_X, T_Y among the
// positives or negatives only. The covariance of the AUCs is S10/m + S01/n,
// S10 and S01 the sample covariances of the components.
func PairedDeLong(y, a, b []float64) (DeLong, error) {
	if len(a) != len(y) || len(b) != len(y) {
		return DeLong{}, fmt.Errorf("delong: %d labels, %d and %d scores", len(y), len(a), len(b))
	}
	class := make([]int32, len(y))
	var m, n int
	for i, v := range y {
		if v == 1 {
			class[i] = int32(m)
			m++
		} else {
			class[i] = int32(n)
			n++
		}
	}
	if m < 2 || n < 2 {
		return DeLong{}, fmt.Errorf("delong: need at least 2 positives and 2 negatives, have %d and %d", m, n)
	}
	var v10a, v01a, v10b, v01b []float64
	var aucA, aucB float64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		v10a, v01a, aucA = components(a, y, class, m, n)
	}()
	v10b, v01b, aucB = components(b, y, class, m, n)
	wg.Wait()
	s10aa, s10bb, s10ab := covariances(v10a, v10b)
	s01aa, s01bb, s01ab := covariances(v01a, v01b)
	d := DeLong{
		AUCA: aucA, AUCB: aucB,
		VarA: s10aa/float64(m) + s01aa/float64(n),
		VarB: s10bb/float64(m) + s01bb/float64(n),
		Cov:  s10ab/float64(m) + s01ab/float64(n),
	}
	d.Diff = aucA - aucB
	d.SE = math.Sqrt(math.Max(0, d.VarA+d.VarB-2*d.Cov))
	d.Z, d.P = math.NaN(), math.NaN()
	if d.SE > 0 {
		d.Z = d.Diff / d.SE
		d.P = 2 * distuv.UnitNormal.Survival(math.Abs(d.Z))
	}
	return d, nil
}

// components returns the structural components V10 (per positive) and V01
// (per negative) of scores s, each in row order, and the AUC; class[r] is
// row r's index among the rows of its class. One sort of all rows gives the
// three midranks: positives (negatives) in that order are themselves
// sorted, so their midranks within their class come from counting.
func components(s, y []float64, class []int32, m, n int) (v10, v01 []float64, auc float64) {
	idx := rank.Ascending(s)
	v10 = make([]float64, m)
	v01 = make([]float64, n)
	var seenPos, seenNeg int
	var sum float64
	for i := 0; i < len(idx); {
		j, cp := i, 0
		for j < len(idx) && s[idx[j]] == s[idx[i]] {
			if y[idx[j]] == 1 {
				cp++
			}
			j++
		}
		cn := j - i - cp
		tz := float64(i+1+j) / 2
		vx := (tz - float64(2*seenPos+1+cp)/2) / float64(n)
		vy := 1 - (tz-float64(2*seenNeg+1+cn)/2)/float64(m)
		for _, r := range idx[i:j] {
			if y[r] == 1 {
				v10[class[r]] = vx
				sum += vx
			} else {
				v01[class[r]] = vy
			}
		}
		seenPos += cp
		seenNeg += cn
		i = j
	}
	return v10, v01, sum / float64(m)
}

// covariances returns the sample variances of a and b and their
// covariance (denominator len − 1).
func covariances(a, b []float64) (aa, bb, ab float64) {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	k := float64(len(a))
	ma /= k
	mb /= k
	for i := range a {
		da, db := a[i]-ma, b[i]-mb
		aa += da * da
		bb += db * db
		ab += da * db
	}
	return aa / (k - 1), bb / (k - 1), ab / (k - 1)
}

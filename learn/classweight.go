package learn

import (
	"fmt"
	"math"
)

// ClassWeight weights each row's loss by its class. The zero value weights
// every row 1.
type ClassWeight struct {
	// Balanced weights class k by n/(2·n_k), as scikit-learn's "balanced".
	Balanced bool `json:"balanced,omitempty"`
	// Positive, when set, weights positive rows by it and negative rows by 1.
	Positive float64 `json:"positive,omitempty"`
}

// String names the weighting for summaries.
func (cw ClassWeight) String() string {
	switch {
	case cw.Balanced:
		return "balanced"
	case cw.Positive > 0:
		return fmt.Sprintf("positive=%g", cw.Positive)
	}
	return "none"
}

// classWeights returns the weights of positive and negative rows for
// labels y; ok is false when the fit is unweighted (no weighting, or
// balanced weights on a single class).
func (cw ClassWeight) classWeights(y []float64) (w1, w0 float64, ok bool) {
	switch {
	case cw.Balanced:
		n1 := sum(y)
		n := float64(len(y))
		if n1 == 0 || n1 == n {
			return 0, 0, false
		}
		return n / (2 * n1), n / (2 * (n - n1)), true
	case cw.Positive > 0:
		return cw.Positive, 1, true
	}
	return 0, 0, false
}

// weights returns the row weights for labels y, nil when unweighted.
func (cw ClassWeight) weights(y []float64) []float64 {
	w1, w0, ok := cw.classWeights(y)
	if !ok {
		return nil
	}
	w := make([]float64, len(y))
	for i, v := range y {
		w[i] = w0
		if v == 1 {
			w[i] = w1
		}
	}
	return w
}

// fitWeighted fits a regression with the setting's class weights and then applies
// the prior correction, so that its probabilities are calibrated to the
// base rate of y rather than to the reweighted one:
//
//	Intercept −= log(w1/w0)
//
// where w1 and w0 are the weights of positive and negative rows actually
// used (balanced: w1 = n/(2·n1), w0 = n/(2·n0)). Weighting the classes
// multiplies the odds the fit sees by w1/w0; for a logistic model that
// fits the data this shifts only the intercept, by exactly that log ratio.
// The coefficients, and so the ranking, keep what the weighting gave them.
// LogReg.PriorCorrection records the amount subtracted.
func fitWeighted(d *design, y []float64, active []bool, s Settings) (*LogReg, error) {
	cw := s.ClassWeight
	lr, err := fit(d, y, cw.weights(y), active, s.C, s.Tol, s.MaxIter, s.Solver)
	if err != nil {
		return nil, err
	}
	if w1, w0, ok := cw.classWeights(y); ok {
		lr.PriorCorrection = math.Log(w1 / w0)
		lr.Intercept -= lr.PriorCorrection
	}
	return lr, nil
}

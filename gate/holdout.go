package gate

import (
	"fmt"
	"slices"
)

// Holdout is a labelled holdout scored by the challenger and, when there
// is one that could score it, production: what Pair turns into Paired
// rows.
type Holdout struct {
	// Y is 1 for a positive row and 0 otherwise.
	Y []float64
	// Challenger and Production are the predicted probabilities;
	// Production is nil without production's.
	Challenger, Production []float64
	// Treatment is each row's treatment value and Control the value of
	// control rows; Treatment is nil for a propensity model.
	Treatment []string
	Control   string
	// Arms are the challenger's treatment arms.
	Arms []string
	// ChallengerUplift and ProductionUplift are each row's predicted
	// uplift by arm; ProductionUplift is nil when production predicts no
	// uplift.
	ChallengerUplift, ProductionUplift []map[string]float64
}

// Pair pairs the rows of h for the gate. Every arm of the challenger is
// paired, in name order: rows given the arm are treated (1), control rows
// control (0), rows of other arms take no part (-1). Production's uplift
// of an arm is paired when production predicts that arm on every row;
// otherwise the arm has no production column and so no comparison.
func Pair(h Holdout) (*Paired, error) {
	n := len(h.Y)
	if len(h.Challenger) != n || (h.Production != nil && len(h.Production) != n) {
		return nil, fmt.Errorf("pair holdout: %d labels but %d challenger and %d production predictions", n, len(h.Challenger), len(h.Production))
	}
	p := &Paired{Y: h.Y, Challenger: h.Challenger, Production: h.Production}
	if h.Treatment == nil {
		return p, nil
	}
	if len(h.Treatment) != n || len(h.ChallengerUplift) != n || (h.ProductionUplift != nil && len(h.ProductionUplift) != n) {
		return nil, fmt.Errorf("pair holdout: %d labels but %d treatments, %d challenger and %d production uplifts",
			n, len(h.Treatment), len(h.ChallengerUplift), len(h.ProductionUplift))
	}
	for _, arm := range slices.Sorted(slices.Values(h.Arms)) {
		a, err := pairArm(h, arm)
		if err != nil {
			return nil, err
		}
		p.Arms = append(p.Arms, a)
	}
	return p, nil
}

// pairArm pairs the rows of one arm.
func pairArm(h Holdout, arm string) (PairedArm, error) {
	n := len(h.Y)
	a := PairedArm{Arm: arm, Treated: make([]int8, n), ChallengerUplift: make([]float64, n)}
	prod := h.ProductionUplift != nil
	for _, u := range h.ProductionUplift {
		if _, ok := u[arm]; !ok {
			prod = false
			break
		}
	}
	if prod {
		a.ProductionUplift = make([]float64, n)
	}
	for i, t := range h.Treatment {
		switch t {
		case arm:
			a.Treated[i] = 1
		case h.Control:
			a.Treated[i] = 0
		default:
			a.Treated[i] = -1
		}
		u, ok := h.ChallengerUplift[i][arm]
		if !ok {
			return PairedArm{}, fmt.Errorf("pair holdout: row %d: challenger predicts no uplift of arm %q", i+1, arm)
		}
		a.ChallengerUplift[i] = u
		if prod {
			a.ProductionUplift[i] = h.ProductionUplift[i][arm]
		}
	}
	return a, nil
}

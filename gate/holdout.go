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

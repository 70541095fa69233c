// Package allocate chooses which offer, if any, each customer receives so
// that the expected incremental response (or revenue) of a campaign is
// highest within a budget.
//
// # Problem
//
// Each customer i may receive at most one offer arm a, at cost c_a, for an
// expected gain g_ia = uplift_ia · value_ia (value 1 when none is given,
// so the gain is in incremental conversions). The sum of the costs may not
// exceed the budget, each arm may have a cap on how many customers get it,
// and an offer is only made when its gain is positive and at least MinGain.
// This is the multiple-choice knapsack problem (MCKP).
//
// # Method
//
// Solve uses the classic greedy for the MCKP, which is exact for its LP
// relaxation (Sinha & Zoltners 1979). Per customer, the options that are
// neither dominated (costlier and no better) nor LP-dominated (below the
// line between two others) form an upper convex hull starting at "no
// offer"; moving along it are upgrades with decreasing incremental gain per
// extra cost. All customers' upgrades are taken in order of that ratio while
// they fit the budget (and caps); a customer whose next upgrade does not fit
// stops there. A last pass spends what is left on the best single moves
// still possible (needed when caps bind). The LP optimum is reported as
// UpperBound, so every plan states its own optimality gap: without caps the
// greedy gain is at least UpperBound minus the largest single upgrade gain.
//
// # Baselines
//
// The report compares the plan with two ways to spend the same budget,
// evaluated with the same expected gains: offers at random (a random arm to
// customers in random order, averaged over rounds), and propensity-only
// targeting (customers by descending propensity, all receiving the arm with
// the best average gain per cost, the way a campaign without an uplift
// model would pick one offer for its best prospects).
package allocate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/promoflow/promoflow/learn"
)

// Arm is one offer that can be sent.
type Arm struct {
	Name string  `json:"name"`
	Cost float64 `json:"cost"` // > 0
	// Cap limits how many customers receive the arm; 0 means no limit.
	Cap int `json:"cap,omitempty"`
}

// Customer is one candidate with the model's estimates.
type Customer struct {
	ID         string  `json:"id"`
	Propensity float64 `json:"propensity"`
	// Uplift is the predicted uplift of each arm over control, in the order
	// of Problem.Arms.
	Uplift []float64 `json:"uplift"`
	// Value is the revenue of one incremental conversion under each arm;
	// nil counts conversions (value 1).
	Value []float64 `json:"value,omitempty"`
}

// Tier maps the expected gain of an assigned offer to an offer amount: an
// assignment gets the Amount of the highest tier whose MinGain it reaches.
type Tier struct {
	MinGain float64 `json:"min_gain"`
	Amount  float64 `json:"amount"`
}

// Problem is one allocation to solve.
type Problem struct {
	Arms      []Arm
	Customers []Customer
	Budget    float64
	// MinGain is the least expected gain for which an offer is made.
	MinGain float64
	// Tiers, when set, give every assignment an offer amount.
	Tiers []Tier
	// Seed makes the random baseline reproducible; RandomRounds is how
	// many random campaigns it averages (default 20).
	Seed         int64
	RandomRounds int
}

// Assignment is one offer of the plan.
type Assignment struct {
	Customer int     `json:"customer"` // index in Problem.Customers
	ID       string  `json:"id"`
	Arm      string  `json:"arm"`
	Cost     float64 `json:"cost"`
	Uplift   float64 `json:"uplift"`
	Gain     float64 `json:"gain"`
	Amount   float64 `json:"amount,omitempty"`
}

// ArmReport sums a plan's offers of one arm.
type ArmReport struct {
	Arm         string  `json:"arm"`
	Offers      int     `json:"offers"`
	Spend       float64 `json:"spend"`
	Conversions float64 `json:"conversions"`
}

// Outcome is what one way of spending the budget is expected to give.
type Outcome struct {
	Offers int     `json:"offers"`
	Spend  float64 `json:"spend"`
	// Conversions is the expected number of incremental conversions (sum of
	// uplifts) and Gain the expected incremental value (equal to
	// Conversions when no values are given).
	Conversions float64 `json:"conversions"`
	Gain        float64 `json:"gain"`
}

// Report summarises a plan and compares it with the baselines.
type Report struct {
	Budget float64 `json:"budget"`
	Outcome
	// UpperBound is the LP-relaxation optimum of the gain without caps: no
	// plan can do better.
	UpperBound float64     `json:"upper_bound"`
	PerArm     []ArmReport `json:"per_arm"`
	// Random is the mean outcome of random campaigns with the same budget,
	// Propensity that of propensity-only targeting.
	Random     Outcome `json:"random"`
	Propensity Outcome `json:"propensity"`
}

// Plan is the chosen offers and their report.
type Plan struct {
	Assignments []Assignment `json:"assignments"`
	Report      Report       `json:"report"`
}

// ErrInvalid is wrapped by every error about a malformed problem.
var ErrInvalid = errors.New("invalid allocation problem")

func (p *Problem) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if len(p.Arms) == 0 {
		return bad("no arms")
	}
	if !(p.Budget >= 0) || math.IsInf(p.Budget, 0) {
		return bad("budget %v is not a non-negative finite number", p.Budget)
	}
	if math.IsNaN(p.MinGain) || math.IsInf(p.MinGain, 0) {
		return bad("min gain %v is not finite", p.MinGain)
	}
	seen := map[string]bool{}
	for _, a := range p.Arms {
		if a.Name == "" || seen[a.Name] {
			return bad("arm name %q is empty or repeated", a.Name)
		}
		seen[a.Name] = true
		if !(a.Cost > 0) || math.IsInf(a.Cost, 0) {
			return bad("arm %q: cost %v is not a positive finite number", a.Name, a.Cost)
		}
		if a.Cap < 0 {
			return bad("arm %q: negative cap %d", a.Name, a.Cap)
		}
	}
	for i, c := range p.Customers {
		if len(c.Uplift) != len(p.Arms) {
			return bad("customer %d (%s): %d uplifts for %d arms", i, c.ID, len(c.Uplift), len(p.Arms))
		}
		if c.Value != nil && len(c.Value) != len(p.Arms) {
			return bad("customer %d (%s): %d values for %d arms", i, c.ID, len(c.Value), len(p.Arms))
		}
		for a := range p.Arms {
			if g := p.gain(i, a); math.IsNaN(g) || math.IsInf(g, 0) {
				return bad("customer %d (%s): gain of arm %q is not finite", i, c.ID, p.Arms[a].Name)
			}
		}
	}
	for k, t := range p.Tiers {
		if k > 0 && !(t.MinGain > p.Tiers[k-1].MinGain) {
			return bad("tiers must be in increasing order of min gain")
		}
	}
	return nil
}

// gain is the expected gain of arm a for customer i.
func (p *Problem) gain(i, a int) float64 {
	c := &p.Customers[i]
	if c.Value == nil {
		return c.Uplift[a]
	}
	return c.Uplift[a] * c.Value[a]
}

// eligible reports whether arm a may be offered to customer i at all.
func (p *Problem) eligible(i, a int) bool {
	g := p.gain(i, a)
	return g > 0 && g >= p.MinGain && p.Arms[a].Cost <= p.Budget
}

// amount is the offer amount of an assignment with expected gain g.
func (p *Problem) amount(g float64) float64 {
	var amt float64
	for _, t := range p.Tiers {
		if g >= t.MinGain {
			amt = t.Amount
		}
	}
	return amt
}

// FromScores builds the customers of a problem from a model's scores: ids
// and scores are aligned, arms name the model's uplift arms, and values,
// when not nil, give each arm's revenue per conversion (the same for every
// customer). An arm the scores lack is an error naming it.
func FromScores(ids []string, scores []learn.Score, arms []Arm, values []float64) ([]Customer, error) {
	if len(ids) != len(scores) {
		return nil, fmt.Errorf("%w: %d ids for %d scores", ErrInvalid, len(ids), len(scores))
	}
	if values != nil && len(values) != len(arms) {
		return nil, fmt.Errorf("%w: %d values for %d arms", ErrInvalid, len(values), len(arms))
	}
	out := make([]Customer, len(scores))
	for i, s := range scores {
		c := Customer{ID: ids[i], Propensity: s.Propensity, Uplift: make([]float64, len(arms)), Value: values}
		for a, arm := range arms {
			u, ok := s.Uplift[arm.Name]
			if !ok {
				return nil, fmt.Errorf("%w: arm %q is not an uplift arm of the model (arms: %s)", ErrInvalid, arm.Name, armNames(s.Uplift))
			}
			c.Uplift[a] = u
		}
		out[i] = c
	}
	return out, nil
}

func armNames(u map[string]float64) string {
	names := make([]string, 0, len(u))
	for k := range u {
		names = append(names, fmt.Sprintf("%q", k))
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "none: the model has no uplift part"
	}
	return strings.Join(names, ", ")
}

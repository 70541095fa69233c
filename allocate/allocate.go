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
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
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

// hullPoint is an option on a customer's upper convex hull; arm -1 is "no
// offer".
type hullPoint struct {
	arm        int
	cost, gain float64
}

// hull returns customer i's options that are neither dominated nor
// LP-dominated, from "no offer" upwards, with strictly decreasing
// incremental gain per cost.
func (p *Problem) hull(i int) []hullPoint {
	pts := []hullPoint{}
	for a, arm := range p.Arms {
		if p.eligible(i, a) {
			pts = append(pts, hullPoint{arm: a, cost: arm.Cost, gain: p.gain(i, a)})
		}
	}
	slices.SortFunc(pts, func(x, y hullPoint) int {
		if c := cmp.Compare(x.cost, y.cost); c != 0 {
			return c
		}
		return cmp.Compare(y.gain, x.gain)
	})
	h := []hullPoint{{arm: -1}}
	for _, q := range pts {
		if q.gain <= h[len(h)-1].gain {
			continue // dominated: costs at least as much, gains no more
		}
		for len(h) >= 2 {
			a, b := h[len(h)-2], h[len(h)-1]
			// b is LP-dominated when the slope a→b is not above b→q.
			if (b.gain-a.gain)*(q.cost-b.cost) <= (q.gain-b.gain)*(b.cost-a.cost) {
				h = h[:len(h)-1]
				continue
			}
			break
		}
		h = append(h, q)
	}
	return h
}

// upgrade moves a customer one step along its hull.
type upgrade struct {
	customer, step int
	dc, dg         float64
}

func (u upgrade) ratio() float64 { return u.dg / u.dc }

// Solve allocates the budget (see the package documentation) and reports
// the plan against the baselines.
func Solve(p Problem) (*Plan, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	hulls := make([][]hullPoint, len(p.Customers))
	var ups []upgrade
	for i := range p.Customers {
		hulls[i] = p.hull(i)
		for k := 1; k < len(hulls[i]); k++ {
			a, b := hulls[i][k-1], hulls[i][k]
			ups = append(ups, upgrade{customer: i, step: k, dc: b.cost - a.cost, dg: b.gain - a.gain})
		}
	}
	slices.SortStableFunc(ups, func(x, y upgrade) int {
		if c := cmp.Compare(y.ratio(), x.ratio()); c != 0 {
			return c
		}
		if c := cmp.Compare(x.customer, y.customer); c != 0 {
			return c
		}
		return cmp.Compare(x.step, y.step)
	})

	// LP relaxation: the same order, the first upgrade that does not fit
	// taken fractionally.
	bound, left := 0.0, p.Budget
	for _, u := range ups {
		if u.dc <= left {
			bound += u.dg
			left -= u.dc
			continue
		}
		bound += u.dg * left / u.dc
		break
	}

	assigned := make([]int, len(p.Customers)) // arm, or -1
	for i := range assigned {
		assigned[i] = -1
	}
	count := make([]int, len(p.Arms))
	capOK := func(a int) bool { return p.Arms[a].Cap == 0 || count[a] < p.Arms[a].Cap }
	move := func(i, to int) {
		if from := assigned[i]; from >= 0 {
			count[from]--
		}
		assigned[i] = to
		count[to]++
	}
	left = p.Budget
	pos := make([]int, len(p.Customers))
	stopped := make([]bool, len(p.Customers))
	for _, u := range ups {
		i := u.customer
		if stopped[i] || pos[i] != u.step-1 {
			continue
		}
		to := hulls[i][u.step].arm
		if u.dc > left || !capOK(to) {
			stopped[i] = true
			continue
		}
		left -= u.dc
		pos[i] = u.step
		move(i, to)
	}

	// Fill: the best single moves still affordable, by gain per extra cost
	// (a move that saves money and gains is taken first).
	type fill struct {
		customer, from, to int
		dc, dg             float64
	}
	var fills []fill
	for i := range p.Customers {
		cur, curCost, curGain := assigned[i], 0.0, 0.0
		if cur >= 0 {
			curCost, curGain = p.Arms[cur].Cost, p.gain(i, cur)
		}
		for a := range p.Arms {
			if a == cur || !p.eligible(i, a) || p.gain(i, a) <= curGain {
				continue
			}
			fills = append(fills, fill{customer: i, from: cur, to: a, dc: p.Arms[a].Cost - curCost, dg: p.gain(i, a) - curGain})
		}
	}
	fillRatio := func(f fill) float64 {
		if f.dc <= 0 {
			return math.Inf(1)
		}
		return f.dg / f.dc
	}
	slices.SortStableFunc(fills, func(x, y fill) int {
		if c := cmp.Compare(fillRatio(y), fillRatio(x)); c != 0 {
			return c
		}
		return cmp.Compare(y.dg, x.dg)
	})
	for _, f := range fills {
		if assigned[f.customer] != f.from || f.dc > left || !capOK(f.to) {
			continue
		}
		left -= f.dc
		move(f.customer, f.to)
	}

	plan := &Plan{Report: Report{Budget: p.Budget, UpperBound: bound}}
	perArm := make([]ArmReport, len(p.Arms))
	for a, arm := range p.Arms {
		perArm[a].Arm = arm.Name
	}
	for i, a := range assigned {
		if a < 0 {
			continue
		}
		g := p.gain(i, a)
		plan.Assignments = append(plan.Assignments, Assignment{
			Customer: i, ID: p.Customers[i].ID, Arm: p.Arms[a].Name, Cost: p.Arms[a].Cost,
			Uplift: p.Customers[i].Uplift[a], Gain: g, Amount: p.amount(g),
		})
		plan.Report.add(p, i, a)
		perArm[a].Offers++
		perArm[a].Spend += p.Arms[a].Cost
		perArm[a].Conversions += p.Customers[i].Uplift[a]
	}
	plan.Report.PerArm = perArm
	plan.Report.Random = randomBaseline(p)
	plan.Report.Propensity = propensityBaseline(p)
	return plan, nil
}

// add counts customer i receiving arm a.
func (o *Outcome) add(p Problem, i, a int) {
	o.Offers++
	o.Spend += p.Arms[a].Cost
	o.Conversions += p.Customers[i].Uplift[a]
	o.Gain += p.gain(i, a)
}

// randomBaseline averages campaigns that send a uniformly random arm to
// customers in random order while the budget and caps allow.
func randomBaseline(p Problem) Outcome {
	rounds := p.RandomRounds
	if rounds <= 0 {
		rounds = 20
	}
	rng := rand.New(rand.NewPCG(uint64(p.Seed), 0x5eed))
	var sum Outcome
	for r := 0; r < rounds; r++ {
		var o Outcome
		left := p.Budget
		count := make([]int, len(p.Arms))
		for _, i := range rng.Perm(len(p.Customers)) {
			a := rng.IntN(len(p.Arms))
			if p.Arms[a].Cost > left || (p.Arms[a].Cap > 0 && count[a] >= p.Arms[a].Cap) {
				continue
			}
			left -= p.Arms[a].Cost
			count[a]++
			o.add(p, i, a)
		}
		sum.Offers += o.Offers
		sum.Spend += o.Spend
		sum.Conversions += o.Conversions
		sum.Gain += o.Gain
	}
	n := float64(rounds)
	return Outcome{Offers: int(math.Round(float64(sum.Offers) / n)), Spend: sum.Spend / n, Conversions: sum.Conversions / n, Gain: sum.Gain / n}
}

// propensityBaseline sends the arm with the best mean gain per cost to the
// customers of highest propensity (the next best arm once a cap is hit)
// until the budget is spent.
func propensityBaseline(p Problem) Outcome {
	arms := make([]int, len(p.Arms))
	score := make([]float64, len(p.Arms))
	for a := range p.Arms {
		arms[a] = a
		for i := range p.Customers {
			score[a] += p.gain(i, a)
		}
		score[a] /= p.Arms[a].Cost
	}
	slices.SortStableFunc(arms, func(x, y int) int { return cmp.Compare(score[y], score[x]) })
	order := make([]int, len(p.Customers))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		return cmp.Compare(p.Customers[y].Propensity, p.Customers[x].Propensity)
	})
	var o Outcome
	left := p.Budget
	count := make([]int, len(p.Arms))
	for _, i := range order {
		for _, a := range arms {
			if p.Arms[a].Cap > 0 && count[a] >= p.Arms[a].Cap {
				continue
			}
			if p.Arms[a].Cost <= left {
				left -= p.Arms[a].Cost
				count[a]++
				o.add(p, i, a)
			}
			break
		}
	}
	return o
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

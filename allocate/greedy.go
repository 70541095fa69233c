package allocate

import (
	"cmp"
	"math"
	"slices"
)

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
	hulls, ups := p.upgrades()
	al := newAllocation(&p)
	al.greedy(hulls, ups)
	al.fill()
	plan := al.plan(lpBound(ups, p.Budget))
	plan.Report.Random = randomBaseline(p)
	plan.Report.Propensity = propensityBaseline(p)
	return plan, nil
}

// upgrades returns every customer's hull and all their upgrades in the
// greedy's order: by decreasing gain per extra cost, then by customer and
// step.
func (p *Problem) upgrades() ([][]hullPoint, []upgrade) {
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
	return hulls, ups
}

// lpBound is the optimum of the LP relaxation: the upgrades in the
// greedy's order, the first that does not fit the budget taken
// fractionally.
func lpBound(ups []upgrade, budget float64) float64 {
	bound, left := 0.0, budget
	for _, u := range ups {
		if u.dc <= left {
			bound += u.dg
			left -= u.dc
			continue
		}
		bound += u.dg * left / u.dc
		break
	}
	return bound
}

// allocation is a plan being built: each customer's arm, the offers of
// each arm and the budget left.
type allocation struct {
	p        *Problem
	assigned []int // arm per customer, or -1
	count    []int // offers per arm
	left     float64
}

// newAllocation is the empty plan of p: no offers, the whole budget left.
func newAllocation(p *Problem) *allocation {
	al := &allocation{p: p, assigned: make([]int, len(p.Customers)), count: make([]int, len(p.Arms)), left: p.Budget}
	for i := range al.assigned {
		al.assigned[i] = -1
	}
	return al
}

// capOK reports whether arm a is below its cap.
func (al *allocation) capOK(a int) bool {
	return al.p.Arms[a].Cap == 0 || al.count[a] < al.p.Arms[a].Cap
}

// move gives customer i arm to instead of its current one, at extra cost
// dc.
func (al *allocation) move(i, to int, dc float64) {
	if from := al.assigned[i]; from >= 0 {
		al.count[from]--
	}
	al.assigned[i] = to
	al.count[to]++
	al.left -= dc
}

// greedy takes the upgrades in order while they fit the budget and caps;
// a customer whose next upgrade does not fit stops there.
func (al *allocation) greedy(hulls [][]hullPoint, ups []upgrade) {
	pos := make([]int, len(hulls))
	stopped := make([]bool, len(hulls))
	for _, u := range ups {
		i := u.customer
		if stopped[i] || pos[i] != u.step-1 {
			continue
		}
		to := hulls[i][u.step].arm
		if u.dc > al.left || !al.capOK(to) {
			stopped[i] = true
			continue
		}
		pos[i] = u.step
		al.move(i, to, u.dc)
	}
}

// singleMove is one customer's move from arm from (-1: none) to arm to,
// at extra cost dc for extra gain dg.
type singleMove struct {
	customer, from, to int
	dc, dg             float64
}

// ratio is the move's gain per extra cost; a move that saves money comes
// first.
func (m singleMove) ratio() float64 {
	if m.dc <= 0 {
		return math.Inf(1)
	}
	return m.dg / m.dc
}

// fill spends what the greedy left on the best single moves still
// affordable, by gain per extra cost (a move that saves money and gains
// is taken first).
func (al *allocation) fill() {
	moves := al.singleMoves()
	slices.SortStableFunc(moves, func(x, y singleMove) int {
		if c := cmp.Compare(y.ratio(), x.ratio()); c != 0 {
			return c
		}
		return cmp.Compare(y.dg, x.dg)
	})
	for _, m := range moves {
		if al.assigned[m.customer] != m.from || m.dc > al.left || !al.capOK(m.to) {
			continue
		}
		al.move(m.customer, m.to, m.dc)
	}
}

// singleMoves lists every customer's moves to an eligible arm of higher
// gain than its current one.
func (al *allocation) singleMoves() []singleMove {
	p := al.p
	var moves []singleMove
	for i := range p.Customers {
		cur, curCost, curGain := al.assigned[i], 0.0, 0.0
		if cur >= 0 {
			curCost, curGain = p.Arms[cur].Cost, p.gain(i, cur)
		}
		for a := range p.Arms {
			if a == cur || !p.eligible(i, a) || p.gain(i, a) <= curGain {
				continue
			}
			moves = append(moves, singleMove{customer: i, from: cur, to: a, dc: p.Arms[a].Cost - curCost, dg: p.gain(i, a) - curGain})
		}
	}
	return moves
}

// plan turns the allocation into its assignments and report (without the
// baselines); bound is the LP optimum.
func (al *allocation) plan(bound float64) *Plan {
	p := al.p
	plan := &Plan{Report: Report{Budget: p.Budget, UpperBound: bound}}
	perArm := make([]ArmReport, len(p.Arms))
	for a, arm := range p.Arms {
		perArm[a].Arm = arm.Name
	}
	for i, a := range al.assigned {
		if a < 0 {
			continue
		}
		g := p.gain(i, a)
		plan.Assignments = append(plan.Assignments, Assignment{
			Customer: i, ID: p.Customers[i].ID, Arm: p.Arms[a].Name, Cost: p.Arms[a].Cost,
			Uplift: p.Customers[i].Uplift[a], Gain: g, Amount: p.amount(g),
		})
		plan.Report.add(*p, i, a)
		perArm[a].Offers++
		perArm[a].Spend += p.Arms[a].Cost
		perArm[a].Conversions += p.Customers[i].Uplift[a]
	}
	plan.Report.PerArm = perArm
	return plan
}

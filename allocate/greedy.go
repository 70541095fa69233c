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

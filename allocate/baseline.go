package allocate

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

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

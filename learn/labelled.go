package learn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// labelled holds the parsed target (and treatment) of a table's rows.
type labelled struct {
	rows    []int     // table rows with a non-empty target
	y       []float64 // 0/1 per labelled row
	arm     []int     // per labelled row: -1 control, else index into arms
	arms    []string  // treatment arms other than control, sorted
	control string
	treat   string // treatment column name, "" if none
}

// subset returns the labels of the labelled rows at positions pos.
func (lb *labelled) subset(pos []int) *labelled {
	out := &labelled{arms: lb.arms, control: lb.control, treat: lb.treat}
	for _, i := range pos {
		out.rows = append(out.rows, lb.rows[i])
		out.y = append(out.y, lb.y[i])
		if lb.arm != nil {
			out.arm = append(out.arm, lb.arm[i])
		}
	}
	return out
}

// strata returns a stratification key per labelled row: target, and arm
// when there is a treatment.
func (lb *labelled) strata() []string {
	s := make([]string, len(lb.y))
	for i, y := range lb.y {
		s[i] = fmt.Sprint(y)
		if lb.arm != nil {
			s[i] += "|" + fmt.Sprint(lb.arm[i])
		}
	}
	return s
}

// StratifiedSplit splits positions 0..len(groups)-1 into train and test so
// that each group (e.g. each target value) is split in the same proportion:
// round(frac·n_g) of a group's rows, chosen by a seeded shuffle, go to test.
// Both slices are sorted.
func StratifiedSplit(groups []string, frac float64, seed int64) (train, test []int) {
	byGroup := map[string][]int{}
	var keys []string
	for i, g := range groups {
		if _, ok := byGroup[g]; !ok {
			keys = append(keys, g)
		}
		byGroup[g] = append(byGroup[g], i)
	}
	slices.Sort(keys)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x70726f6d6f666c6f))
	for _, k := range keys {
		idx := byGroup[k]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		nt := int(math.Round(frac * float64(len(idx))))
		test = append(test, idx[:nt]...)
		train = append(train, idx[nt:]...)
	}
	slices.Sort(train)
	slices.Sort(test)
	return train, test
}

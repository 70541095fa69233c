package learn

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/promoflow/promoflow/schema"
)

// regionTest holds what deciding on a region needs: the labelled rows,
// the fewest rows a region must hold and the base rate of the target.
type regionTest struct {
	n, minN int
	p       float64
}

// leakRegion is a region of one feature's values on which the target is
// constant.
type leakRegion struct {
	desc      string // e.g. "spend > 0"
	positive  bool   // the target value on the region
	rows      int
	share     float64
	logChance float64 // log of the chance of so pure a region at the base rate
}

// targetLabels names the target's values for evidence lines.
type targetLabels struct{ name, pos string }

// evidence describes the region, e.g. `spend > 0 ⇒ visit = 1 on 578 rows (0.90%)`.
func (r *leakRegion) evidence(t targetLabels) string {
	val := "= " + t.pos
	if !r.positive {
		val = "≠ " + t.pos
		if t.pos == "1" {
			val = "= 0"
		}
	}
	return fmt.Sprintf("%s ⇒ %s %s on %d rows (%.2f%%)", r.desc, t.name, val, r.rows, 100*r.share)
}

// Where a candidate region lies.
const (
	regionValue = iota // one value or level
	regionAbove        // a tail above a cut
	regionBelow        // a tail below a cut
)

// candidate is a region of a column before the test: where it lies, the
// group it starts from (the first group above the cut, the last below it,
// or the value's own) and its counts.
type candidate struct {
	where, group int
	g            valueGroup
}

// best returns the determining region of column c with the smallest
// chance, or nil when no region passes the test. groups are the column's
// values ascending (numeric, flag) or its levels (categorical).
func (rt regionTest) best(c *schema.Column, groups []valueGroup, levels []string) *leakRegion {
	if rt.p == 0 || rt.p == 1 {
		return nil
	}
	// The tests made: every value held by enough rows, and a numeric
	// column's two tails whether pure or not.
	tries := 0
	for _, g := range groups {
		if g.n() >= rt.minN {
			tries++
		}
	}
	if c.Kind == schema.Numeric {
		tries += 2
	}
	var best *leakRegion
	var bestAt candidate
	for _, cd := range rt.candidates(c, groups) {
		n := cd.g.n()
		if n < rt.minN || (cd.g.n0 > 0 && cd.g.n1 > 0) {
			continue
		}
		r := &leakRegion{positive: cd.g.n1 > 0, rows: n, share: float64(n) / float64(rt.n)}
		if r.positive {
			r.logChance = float64(n) * math.Log(rt.p)
		} else {
			r.logChance = float64(n) * math.Log1p(-rt.p)
		}
		if r.logChance+math.Log(float64(tries)) >= math.Log(leakChance) {
			continue
		}
		if best == nil || r.logChance < best.logChance {
			best, bestAt = r, cd
		}
	}
	if best != nil {
		best.desc = describeRegion(c, groups, levels, bestAt)
	}
	return best
}

// candidates lists the regions tried on column c: every value or level,
// and for a numeric column its longest pure tails above and below a cut
// (a tail of one value is tried as that value).
func (rt regionTest) candidates(c *schema.Column, groups []valueGroup) []candidate {
	var out []candidate
	if c.Kind == schema.Numeric {
		if top, ok := pureTail(slices.Backward(groups)); ok && top.count > 1 {
			out = append(out, candidate{regionAbove, len(groups) - top.count, top.g})
		}
		if bottom, ok := pureTail(slices.All(groups)); ok && bottom.count > 1 && bottom.count < len(groups) {
			out = append(out, candidate{regionBelow, bottom.count - 1, bottom.g})
		}
	}
	for i, g := range groups {
		if g.n() >= rt.minN {
			out = append(out, candidate{regionValue, i, g})
		}
	}
	return out
}

// describeRegion names a candidate region of column c, e.g. "spend > 0",
// "recency ≤ 2", "newbie = 1" or `channel = "Web"`.
func describeRegion(c *schema.Column, groups []valueGroup, levels []string, cd candidate) string {
	switch {
	case cd.where == regionAbove && cd.group == 0:
		return c.Name + " not missing"
	case cd.where == regionAbove:
		return c.Name + " > " + formatValue(groups[cd.group-1].v)
	case cd.where == regionBelow:
		return c.Name + " ≤ " + formatValue(groups[cd.group].v)
	case c.Kind == schema.Categorical:
		return c.Name + " = " + strconv.Quote(levels[int(groups[cd.group].v)])
	}
	return c.Name + " = " + formatValue(groups[cd.group].v)
}

// tail is a run of groups from one end of a column's values.
type tail struct {
	count int        // groups in the run
	g     valueGroup // their summed counts
}

// pureTail returns the longest run of groups, in the order seq yields
// them, on which the target is constant; ok is false when the first group
// is already mixed.
func pureTail(seq func(yield func(int, valueGroup) bool)) (t tail, ok bool) {
	for _, g := range seq {
		if g.n0 > 0 && g.n1 > 0 {
			break
		}
		if (t.g.n0 > 0 && g.n1 > 0) || (t.g.n1 > 0 && g.n0 > 0) {
			break
		}
		t.count++
		t.g.n0 += g.n0
		t.g.n1 += g.n1
	}
	return t, t.count > 0
}

// formatValue prints a column value as short as it reads back.
func formatValue(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

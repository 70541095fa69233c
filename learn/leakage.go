package learn

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/schema"
)

// The rules by which ScreenLeakage suspects a feature.
const (
	LeakDetermines  = "determines"   // the feature fixes the target on a sizeable region
	LeakAUC         = "auc"          // the feature alone ranks the target almost perfectly
	LeakPostOutcome = "post_outcome" // the config declares the column known only after the outcome
)

// Defaults of LeakOptions.
const (
	DefaultLeakMinRegionShare = 0.005
	DefaultLeakMaxAUC         = 0.95
)

// leakChance is the largest chance, under independence of feature and
// target, of the evidence a rule accepts: a pure region must be less likely
// than this to arise from the base rate, and an AUC must lie further from
// 1/2 than its null distribution reaches with this chance.
const leakChance = 1e-9

// LeakOptions configures ScreenLeakage. Zero fields take the defaults.
type LeakOptions struct {
	// PostOutcome lists columns the config declares known only after the
	// outcome: they are always flagged.
	PostOutcome []string
	// MinRegionShare is the smallest share of the labelled rows a
	// determining region must hold (default 0.005).
	MinRegionShare float64
	// MaxAUC is the single-feature AUC, in either direction (the larger
	// of AUC and 1-AUC), at or above which a feature is flagged (default
	// 0.95).
	MaxAUC float64
}

// Leak is one feature the screen suspects.
type Leak struct {
	Column string `json:"column"`
	// Rule is the first rule that fired, in the order LeakPostOutcome,
	// LeakDetermines, LeakAUC.
	Rule string `json:"rule"`
	// Evidence is one line a person reads, e.g.
	// `spend > 0 ⇒ visit = 1 on 578 rows (0.90%)`; when several rules
	// fired it joins their evidence with "; ".
	Evidence string `json:"evidence"`
	// Share is the share of the labelled rows in the determining region.
	Share float64 `json:"share,omitempty"`
	// AUC is the single-feature AUC in its stronger direction.
	AUC float64 `json:"auc,omitempty"`
}

// withDefaults fills zero fields and checks the ranges.
func (o LeakOptions) withDefaults() (LeakOptions, error) {
	if o.MinRegionShare == 0 {
		o.MinRegionShare = DefaultLeakMinRegionShare
	}
	if o.MaxAUC == 0 {
		o.MaxAUC = DefaultLeakMaxAUC
	}
	if !(o.MinRegionShare > 0 && o.MinRegionShare <= 1) {
		return o, fmt.Errorf("leak screen: min region share %v not in (0, 1]", o.MinRegionShare)
	}
	if !(o.MaxAUC > 0.5 && o.MaxAUC <= 1) {
		return o, fmt.Errorf("leak screen: max AUC %v not in (0.5, 1]", o.MaxAUC)
	}
	return o, nil
}

// ScreenLeakage looks for features that give the target away, before a fit.
// Features are the schema's numeric, flag and categorical columns, read as
// training reads them, on the rows with a non-empty target; a missing cell
// belongs to no region and to no ranking.
//
// A feature determines the target when on one region of its values the
// target takes a single value, the region holds at least MinRegionShare of
// the labelled rows, and the chance that so many rows drawn at the base
// rate p are all positive (p^n) or all negative ((1-p)^n), multiplied by
// the number of regions tried (Bonferroni), is below 1e-9. The regions are,
// for a numeric column, the longest tail above a cut (x > t) and below a
// cut (x ≤ t) on which the target is constant, and every single value
// (x = v) held by enough rows; for a flag column its two values; for a
// categorical column every level held by enough rows. Tails above or below
// successive cuts are nested, so the longest pure tail is one test per
// direction however many cuts there are.
//
// A feature is also flagged when its single-feature AUC, in either
// direction, reaches MaxAUC and is further from 1/2 than chance reaches
// with probability 1e-9 (normal approximation of the Mann-Whitney
// statistic), so that a handful of positives raises no alarm. A
// categorical column is scored by its levels' target rates, with levels
// held by fewer rows than a region needs pooled into one.
//
// Columns listed in opt.PostOutcome are flagged whatever their data; each
// must be a column of the table. The result has at most one Leak per
// column, in schema order, then listed columns the schema lacks in table
// order.
func ScreenLeakage(tbl *dataset.Table, sch schema.Schema, opt LeakOptions) ([]Leak, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	tc := sch.OfKind(schema.Target)
	if len(tc) != 1 {
		return nil, fmt.Errorf("leak screen: schema: want exactly one target column, have %d", len(tc))
	}
	post, err := postOutcomeColumns(tbl, tc[0].Name, opt.PostOutcome)
	if err != nil {
		return nil, err
	}
	found, err := screenFeatures(tbl, sch, opt)
	if err != nil {
		return nil, err
	}
	target := targetLabels{name: tc[0].Name, pos: tc[0].PositiveLabel()}
	var out []Leak
	add := func(name string, f *featureFinding) {
		l := Leak{Column: name}
		var ev []string
		if post[name] {
			l.Rule = LeakPostOutcome
			ev = append(ev, name+" is declared known only after the outcome")
		}
		if f != nil && f.region != nil {
			l.Rule = cmp.Or(l.Rule, LeakDetermines)
			l.Share = f.region.share
			ev = append(ev, f.region.evidence(target))
		}
		if f != nil && f.aucFlag {
			l.Rule = cmp.Or(l.Rule, LeakAUC)
			ev = append(ev, f.aucEvidence(name))
		}
		if l.Rule == "" {
			return
		}
		if f != nil && !math.IsNaN(f.auc) {
			l.AUC = f.auc
		}
		l.Evidence = strings.Join(ev, "; ")
		out = append(out, l)
	}
	for _, c := range sch.Columns {
		f := found[c.Name]
		add(c.Name, f)
		delete(post, c.Name)
	}
	for _, name := range tbl.Header {
		if post[name] {
			add(name, nil)
		}
	}
	return out, nil
}

// postOutcomeColumns checks the declared post-outcome columns against the
// table and returns them as a set.
func postOutcomeColumns(tbl *dataset.Table, target string, names []string) (map[string]bool, error) {
	set := make(map[string]bool, len(names))
	for _, name := range names {
		if _, ok := tbl.Col(name); !ok {
			return nil, fmt.Errorf("leak screen: post-outcome column %q not in data", name)
		}
		if name == target {
			return nil, fmt.Errorf("leak screen: post-outcome column %q is the target", name)
		}
		set[name] = true
	}
	return set, nil
}

// featureFinding is what the screen found about one feature column.
type featureFinding struct {
	region   *leakRegion // the strongest determining region, nil when none
	auc      float64     // max(AUC, 1-AUC); NaN when a class is absent
	reversed bool        // low values go with positives
	aucRows  int         // non-missing labelled rows ranked
	aucFlag  bool
}

// aucEvidence describes the AUC finding of column name.
func (f *featureFinding) aucEvidence(name string) string {
	dir := ""
	if f.reversed {
		dir = ", low values positive"
	}
	return fmt.Sprintf("single-feature AUC of %s %.3f on %d rows%s", name, f.auc, f.aucRows, dir)
}

// screenFeatures runs the data rules on every feature column of sch,
// columns in parallel, and returns the findings by column name.
func screenFeatures(tbl *dataset.Table, sch schema.Schema, opt LeakOptions) (map[string]*featureFinding, error) {
	if !slices.ContainsFunc(sch.Columns, func(c schema.Column) bool { return c.Kind.IsFeature() }) {
		return nil, nil
	}
	sc, err := scanTable(tbl, sch, scanOptions{features: true})
	if err != nil {
		return nil, fmt.Errorf("leak screen: %w", err)
	}
	cols := sc.cols
	if cols.err != nil {
		return nil, fmt.Errorf("leak screen: %w", cols.err)
	}
	y := sc.lb.y
	var n1 int
	for _, v := range y {
		if v == 1 {
			n1++
		}
	}
	// The region's fewest rows, with a margin so that a share times the
	// rows that is an integer in exact arithmetic is not rounded up.
	rt := regionTest{
		n:    len(y),
		minN: max(1, int(math.Ceil(opt.MinRegionShare*float64(len(y))-1e-9))),
		p:    float64(n1) / float64(len(y)),
	}
	found := make([]*featureFinding, len(cols.cols))
	parallelFor(len(cols.cols), func(k int) {
		c := &cols.cols[k]
		var groups []valueGroup
		var scores []valueGroup
		switch c.Kind {
		case schema.Categorical:
			groups = levelGroups(cols.codes[k], cols.levels[k], y)
			scores = levelScores(groups, rt.minN)
		default:
			groups = numberGroups(cols.dense[k], y)
			scores = groups
		}
		f := &featureFinding{}
		f.region = rt.best(c, groups, cols.levels[k])
		f.auc, f.reversed, f.aucRows = groupAUC(scores)
		f.aucFlag = aucSignificant(scores, f.auc, opt.MaxAUC)
		found[k] = f
	})
	byName := make(map[string]*featureFinding, len(found))
	for k, f := range found {
		byName[cols.cols[k].Name] = f
	}
	return byName, nil
}

// valueGroup counts the labelled rows sharing one value of a column (for
// a categorical column, v is the level's code, or its score when ranking).
type valueGroup struct {
	v      float64
	n0, n1 int
}

func (g valueGroup) n() int { return g.n0 + g.n1 }

// numberGroups returns the distinct non-missing values of x, ascending,
// with the negatives and positives of y at each. The values of each class
// are sorted apart, as order-preserving integer keys by a radix sort, and
// merged.
func numberGroups(x, y []float64) []valueGroup {
	var n0, n1 int
	for i, v := range x {
		switch {
		case math.IsNaN(v):
		case y[i] == 1:
			n1++
		default:
			n0++
		}
	}
	keys := make([]uint64, n0+n1)
	neg, pos := keys[:0:n0], keys[n0:n0]
	for i, v := range x {
		switch {
		case math.IsNaN(v):
		case y[i] == 1:
			pos = append(pos, floatKey(v))
		default:
			neg = append(neg, floatKey(v))
		}
	}
	buf := make([]uint64, max(n0, n1))
	radixSort(neg, buf)
	radixSort(pos, buf)
	groups := 0
	mergeKeys(neg, pos, func(uint64, int, int) { groups++ })
	out := make([]valueGroup, 0, groups)
	mergeKeys(neg, pos, func(k uint64, c0, c1 int) {
		out = append(out, valueGroup{v: keyFloat(k), n0: c0, n1: c1})
	})
	return out
}

// mergeKeys walks the distinct keys of the sorted neg and pos, ascending,
// with how often each occurs in either.
func mergeKeys(neg, pos []uint64, at func(k uint64, n0, n1 int)) {
	i, j := 0, 0
	for i < len(neg) || j < len(pos) {
		k := pos[min(j, len(pos)-1)]
		if j == len(pos) || (i < len(neg) && neg[i] < k) {
			k = neg[i]
		}
		i0, j0 := i, j
		for i < len(neg) && neg[i] == k {
			i++
		}
		for j < len(pos) && pos[j] == k {
			j++
		}
		at(k, i-i0, j-j0)
	}
}

// floatKey maps a number (not NaN) to an integer of the same order; -0
// and 0 get the same key.
func floatKey(v float64) uint64 {
	if v == 0 {
		v = 0
	}
	b := math.Float64bits(v)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

// keyFloat inverts floatKey.
func keyFloat(k uint64) float64 {
	if k>>63 != 0 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}

// radixDigit is the width in bits of one pass of radixSort.
const radixDigit = 11

// radixSort sorts keys ascending with a least-significant-digit radix
// sort, using buf (at least as long) as scratch. A digit that all keys
// share is skipped, which for integer-valued columns is most of them.
func radixSort(keys, buf []uint64) {
	if len(keys) < 256 {
		slices.Sort(keys)
		return
	}
	const passes = (64 + radixDigit - 1) / radixDigit
	const mask = 1<<radixDigit - 1
	var counts [passes][1 << radixDigit]int
	for _, k := range keys {
		for p := range passes {
			counts[p][k>>(p*radixDigit)&mask]++
		}
	}
	src, dst := keys, buf[:len(keys)]
	for p := range passes {
		c := &counts[p]
		if c[src[0]>>(p*radixDigit)&mask] == len(src) {
			continue
		}
		sum := 0
		for d, n := range c {
			c[d] = sum
			sum += n
		}
		for _, k := range src {
			d := k >> (p * radixDigit) & mask
			dst[c[d]] = k
			c[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

// levelGroups counts the classes of y at every level of a categorical
// column, in level order; the empty level is missing and left out.
func levelGroups(codes []int32, levels []string, y []float64) []valueGroup {
	groups := make([]valueGroup, len(levels))
	for i, c := range codes {
		if y[i] == 1 {
			groups[c].n1++
		} else {
			groups[c].n0++
		}
	}
	out := groups[:0]
	for code, g := range groups {
		if levels[code] == "" {
			continue
		}
		g.v = float64(code)
		out = append(out, g)
	}
	return out
}

// levelScores scores the levels of a categorical column by their target
// rate, pooling the levels held by fewer than minN rows into one (so that
// a near-unique column cannot rank the target by memorising it), and
// returns the scores ascending with equal scores merged.
func levelScores(groups []valueGroup, minN int) []valueGroup {
	var out []valueGroup
	var small valueGroup
	for _, g := range groups {
		if g.n() < minN {
			small.n0 += g.n0
			small.n1 += g.n1
			continue
		}
		out = append(out, g)
	}
	if small.n() > 0 {
		out = append(out, small)
	}
	for i := range out {
		out[i].v = float64(out[i].n1) / float64(out[i].n())
	}
	slices.SortFunc(out, func(a, b valueGroup) int { return cmp.Compare(a.v, b.v) })
	merged := out[:0]
	for _, g := range out {
		if k := len(merged) - 1; k >= 0 && merged[k].v == g.v {
			merged[k].n0 += g.n0
			merged[k].n1 += g.n1
			continue
		}
		merged = append(merged, g)
	}
	return merged
}

// groupAUC returns the AUC of scores ascending by value (ties sharing
// their average rank, as ROCAUC), in its stronger direction, whether that
// is the reversed one, and the rows ranked. The AUC is NaN when a class
// is absent.
func groupAUC(groups []valueGroup) (auc float64, reversed bool, rows int) {
	var below0, sum, n0, n1 float64
	for _, g := range groups {
		sum += float64(g.n1) * (below0 + float64(g.n0)/2)
		below0 += float64(g.n0)
		n0 += float64(g.n0)
		n1 += float64(g.n1)
	}
	rows = int(n0 + n1)
	if n0 == 0 || n1 == 0 {
		return math.NaN(), false, rows
	}
	auc = sum / (n0 * n1)
	if auc < 0.5 {
		return 1 - auc, true, rows
	}
	return auc, false, rows
}

// aucSignificant reports whether auc (the stronger direction) reaches
// maxAUC and lies further from 1/2 than the null distribution of the
// Mann-Whitney statistic reaches with chance leakChance; its variance
// without ties, (n0+n1+1)/(12·n0·n1), bounds the variance with ties.
func aucSignificant(groups []valueGroup, auc, maxAUC float64) bool {
	if math.IsNaN(auc) || auc < maxAUC {
		return false
	}
	var n0, n1 float64
	for _, g := range groups {
		n0 += float64(g.n0)
		n1 += float64(g.n1)
	}
	sd := math.Sqrt((n0 + n1 + 1) / (12 * n0 * n1))
	z := math.Sqrt2 * math.Erfcinv(2*leakChance)
	return (auc-0.5)/sd > z
}

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

// RefusedLeaks returns the leaks whose column allow does not list: those a
// person has not looked at and accepted.
func RefusedLeaks(leaks []Leak, allow []string) []Leak {
	var out []Leak
	for _, l := range leaks {
		if !slices.Contains(allow, l.Column) {
			out = append(out, l)
		}
	}
	return out
}

// DescribeLeaks joins the leaks into one line naming each column and its
// evidence, ending with what a person can do about it.
func DescribeLeaks(leaks []Leak) string {
	parts := make([]string, len(leaks))
	for i, l := range leaks {
		parts[i] = fmt.Sprintf("possible leak: column %q: %s", l.Column, l.Evidence)
	}
	return strings.Join(parts, "; ") + " (drop the column, or list it under train.allow_features if it is known before the outcome)"
}

package learn

import (
	"cmp"
	"fmt"
	"math"
	"slices"
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

// String names the column and the evidence in one line.
func (l Leak) String() string {
	return fmt.Sprintf("possible leak: column %q: %s", l.Column, l.Evidence)
}

// DescribeLeaks joins the leaks into one line naming each column and its
// evidence, ending with what a person can do about it.
func DescribeLeaks(leaks []Leak) string {
	parts := make([]string, len(leaks))
	for i, l := range leaks {
		parts[i] = l.String()
	}
	return strings.Join(parts, "; ") + " (drop the column, or list it under train.allow_features if it is known before the outcome)"
}

package learn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/rank"
	"github.com/promoflow/promoflow/schema"
	"github.com/promoflow/promoflow/synth"
)

// leakCase is a hand-built table with the leaks the screen must report.
type leakCase struct {
	name string
	tbl  *dataset.Table
	sch  schema.Schema
	opt  LeakOptions
	want []Leak
}

// columnsTable builds a table from named columns of equal length.
func columnsTable(names []string, cols ...[]string) *dataset.Table {
	tbl := &dataset.Table{Header: names}
	for i := range cols[0] {
		row := make([]string, len(cols))
		for j := range cols {
			row[j] = cols[j][i]
		}
		tbl.Rows = append(tbl.Rows, row)
	}
	return tbl
}

// leakSchema declares target y and the given feature columns.
func leakSchema(features ...schema.Column) schema.Schema {
	return schema.Schema{Columns: append([]schema.Column{{Name: "y", Kind: schema.Target}}, features...)}
}

// bernoulli returns n labels "1" with probability p, else "0".
func bernoulli(rng *rand.Rand, n int, p float64) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "0"
		if rng.Float64() < p {
			out[i] = "1"
		}
	}
	return out
}

// count returns how many of v equal s.
func count(v []string, s string) int {
	n := 0
	for _, x := range v {
		if x == s {
			n++
		}
	}
	return n
}

// refAUC is ROCAUC of the rows of x that parse as numbers, in its
// stronger direction.
func refAUC(x, y []string) float64 {
	var ys, ps []float64
	for i, s := range x {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) {
			continue
		}
		ps = append(ps, v)
		ys = append(ys, map[bool]float64{true: 1}[y[i] == "1"])
	}
	a := ROCAUC(ys, ps)
	return math.Max(a, 1-a)
}

// normals returns n draws of N(0, sd) as strings.
func normals(rng *rand.Rand, n int, sd float64) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = formatValue(sd * rng.NormFloat64())
	}
	return out
}

// equalsTarget: x is y; z is noise.
func equalsTarget() leakCase {
	rng := rand.New(rand.NewPCG(1, 1))
	y := bernoulli(rng, 20000, 0.3)
	n1 := count(y, "1")
	return leakCase{
		name: "column equal to the target",
		tbl:  columnsTable([]string{"y", "x", "z"}, y, y, normals(rng, len(y), 1)),
		sch:  leakSchema(schema.Column{Name: "x", Kind: schema.Numeric}, schema.Column{Name: "z", Kind: schema.Numeric}),
		want: []Leak{{
			Column: "x", Rule: LeakDetermines, Share: float64(n1) / 20000, AUC: 1,
			Evidence: fmt.Sprintf("x = 1 ⇒ y = 1 on %d rows (%.2f%%); single-feature AUC of x 1.000 on 20000 rows", n1, float64(n1)/200),
		}},
	}
}

// positiveTail: x > 0 on the last k rows, all positive; elsewhere x is 0
// or missing and y random; some rows have no target.
func positiveTail(k int) leakCase {
	const n = 20000
	rng := rand.New(rand.NewPCG(2, uint64(k)))
	y := bernoulli(rng, n, 0.3)
	x := make([]string, n)
	for i := range x {
		switch {
		case i >= n-k:
			y[i], x[i] = "1", formatValue(1+math.Round(1000*rng.Float64())/100)
		case i%97 == 0:
			x[i] = ""
		case i%89 == 0:
			x[i] = "NaN"
		default:
			x[i] = "0"
		}
	}
	// Unlabelled rows with x > 0 and a negative-looking pattern must not
	// count: they are skipped.
	y = append(y, "", "")
	x = append(x, "5", "6")
	tc := leakCase{
		tbl: columnsTable([]string{"y", "x"}, y, x),
		sch: leakSchema(schema.Column{Name: "x", Kind: schema.Numeric}),
	}
	share := float64(k) / n
	tc.name = fmt.Sprintf("x > 0 determines y on %.1f%% of rows", 100*share)
	if share >= DefaultLeakMinRegionShare {
		tc.want = []Leak{{
			Column: "x", Rule: LeakDetermines, Share: share, AUC: refAUC(x[:n], y[:n]),
			Evidence: fmt.Sprintf("x > 0 ⇒ y = 1 on %d rows (%.2f%%)", k, 100*share),
		}}
	}
	return tc
}

// rareTarget: a base rate of 0.2% and a region of 2% of the rows without
// a positive, as chance makes it (0.998^2000 ≈ 0.02).
func rareTarget() leakCase {
	const n, k = 100000, 2000
	rng := rand.New(rand.NewPCG(3, 3))
	y := make([]string, n)
	x := make([]string, n)
	for i := range y {
		y[i], x[i] = "0", "0"
		if i < k {
			x[i] = formatValue(rng.Float64())
		}
	}
	for _, i := range rng.Perm(n - k)[:200] {
		y[k+i] = "1"
	}
	return leakCase{
		name: "rare target, region all negative by chance",
		tbl:  columnsTable([]string{"y", "x"}, y, x),
		sch:  leakSchema(schema.Column{Name: "x", Kind: schema.Numeric}),
	}
}

// fewPositives: x is y, but y has two positives in 1000 rows: neither the
// region (2 rows) nor the AUC (from two positives) is evidence.
func fewPositives() leakCase {
	y := make([]string, 1000)
	for i := range y {
		y[i] = "0"
	}
	y[10], y[500] = "1", "1"
	return leakCase{
		name: "column equal to a target with two positives",
		tbl:  columnsTable([]string{"y", "x"}, y, y),
		sch:  leakSchema(schema.Column{Name: "x", Kind: schema.Flag}),
	}
}

// categoricalLevel: the level "Leak" (2% of rows) is always positive;
// so is the missing value, which is no region; id-like names are unique
// per row and random.
func categoricalLevel() leakCase {
	const n = 20000
	rng := rand.New(rand.NewPCG(4, 4))
	y := bernoulli(rng, n, 0.3)
	ch := make([]string, n)
	names := make([]string, n)
	for i := range ch {
		ch[i] = []string{"Web", "Phone", "Multi channel"}[rng.IntN(3)]
		switch i % 50 {
		case 0:
			ch[i], y[i] = "Leak", "1"
		case 25:
			ch[i], y[i] = "", "1" // missing: no region
		}
		names[i] = "customer " + strconv.Itoa(i)
	}
	var score []string
	rate := map[string]float64{}
	for _, l := range []string{"Web", "Phone", "Multi channel", "Leak"} {
		var pos, all float64
		for i := range ch {
			if ch[i] == l {
				all++
				if y[i] == "1" {
					pos++
				}
			}
		}
		rate[l] = pos / all
	}
	for _, l := range ch {
		if l == "" {
			score = append(score, "")
			continue
		}
		score = append(score, formatValue(rate[l]))
	}
	return leakCase{
		name: "categorical level determines the target",
		tbl:  columnsTable([]string{"y", "channel", "name"}, y, ch, names),
		sch:  leakSchema(schema.Column{Name: "channel", Kind: schema.Categorical}, schema.Column{Name: "name", Kind: schema.Categorical}),
		want: []Leak{{
			Column: "channel", Rule: LeakDetermines, Share: 0.02, AUC: refAUC(score, y),
			Evidence: `channel = "Leak" ⇒ y = 1 on 400 rows (2.00%)`,
		}},
	}
}

// halfRate: a base rate of exactly 1/2 and x > 0 on k positive rows of
// 6000, so that the region's chance is 2^-k, tried on 3 regions (two tails
// and x = 0): 3·2^-30 = 2.8e-9 is no evidence, 3·2^-32 = 7.0e-10 is.
func halfRate(k int) leakCase {
	const n = 6000
	y := make([]string, n)
	x := make([]string, n)
	for i := range y {
		y[i], x[i] = "0", "0"
		if i < n/2 {
			y[i] = "1" // the first k of them in the region
		}
		if i < k {
			x[i] = strconv.Itoa(i + 1)
		}
	}
	tc := leakCase{
		name: fmt.Sprintf("base rate 1/2, %d pure rows", k),
		tbl:  columnsTable([]string{"y", "x"}, y, x),
		sch:  leakSchema(schema.Column{Name: "x", Kind: schema.Numeric}),
	}
	if math.Pow(2, -float64(k))*3 < 1e-9 {
		tc.want = []Leak{{
			Column: "x", Rule: LeakDetermines, Share: float64(k) / n, AUC: refAUC(x, y),
			Evidence: fmt.Sprintf("x > 0 ⇒ y = 1 on %d rows (%.2f%%)", k, 100*float64(k)/n),
		}}
	}
	return tc
}

// aucOnly: x separates the classes (AUC ≈ 0.98) but 3% of rows with a
// uniform x spoil every tail, so only the AUC rule fires.
func aucOnly() leakCase {
	const n = 20000
	rng := rand.New(rand.NewPCG(5, 5))
	y := bernoulli(rng, n, 0.3)
	x := make([]string, n)
	for i := range x {
		v := 2*rng.NormFloat64()*0.15 + map[bool]float64{true: 1}[y[i] == "1"]
		if rng.Float64() < 0.03 {
			v = 20*rng.Float64() - 10
		}
		x[i] = formatValue(v)
	}
	auc := refAUC(x, y)
	return leakCase{
		name: "single-feature AUC without a pure region",
		tbl:  columnsTable([]string{"y", "x"}, y, x),
		sch:  leakSchema(schema.Column{Name: "x", Kind: schema.Numeric}),
		want: []Leak{{
			Column: "x", Rule: LeakAUC, AUC: auc,
			Evidence: fmt.Sprintf("single-feature AUC of x %.3f on 20000 rows", auc),
		}},
	}
}

// postOutcome: a declared column is flagged whatever its data, also when
// the schema does not list it; the order follows the schema, then the
// table.
func postOutcome() leakCase {
	rng := rand.New(rand.NewPCG(6, 6))
	y := bernoulli(rng, 5000, 0.3)
	return leakCase{
		name: "declared post-outcome columns",
		tbl:  columnsTable([]string{"extra", "y", "z", "w"}, normals(rng, 5000, 1), y, normals(rng, 5000, 1), normals(rng, 5000, 1)),
		sch:  leakSchema(schema.Column{Name: "w", Kind: schema.Numeric}, schema.Column{Name: "z", Kind: schema.Numeric}),
		opt:  LeakOptions{PostOutcome: []string{"extra", "z"}},
		want: []Leak{
			{Column: "z", Rule: LeakPostOutcome, Evidence: "z is declared known only after the outcome"},
			{Column: "extra", Rule: LeakPostOutcome, Evidence: "extra is declared known only after the outcome"},
		},
	}
}

func TestScreenLeakage(t *testing.T) {
	cases := []leakCase{
		equalsTarget(), positiveTail(200), positiveTail(20), rareTarget(), fewPositives(),
		halfRate(30), halfRate(32), categoricalLevel(), aucOnly(), postOutcome(),
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ScreenLeakage(tc.tbl, tc.sch, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d leaks %+v, want %d %+v", len(got), got, len(tc.want), tc.want)
			}
			for i, g := range got {
				w := tc.want[i]
				if g.Column != w.Column || g.Rule != w.Rule || g.Evidence != w.Evidence {
					t.Errorf("leak %d: got %s %s %q, want %s %s %q", i, g.Column, g.Rule, g.Evidence, w.Column, w.Rule, w.Evidence)
				}
				if math.Abs(g.Share-w.Share) > 1e-12 {
					t.Errorf("leak %d: got share %v, want %v", i, g.Share, w.Share)
				}
				if w.Rule != LeakPostOutcome && math.Abs(g.AUC-w.AUC) > 1e-9 {
					t.Errorf("leak %d: got AUC %v, want %v", i, g.AUC, w.AUC)
				}
			}
		})
	}
}

func TestScreenLeakageErrors(t *testing.T) {
	tbl := columnsTable([]string{"y", "x"}, []string{"0", "1"}, []string{"0", "1"})
	sch := leakSchema(schema.Column{Name: "x", Kind: schema.Numeric})
	bad := columnsTable([]string{"y", "x"}, []string{"0", "1"}, []string{"0", "abc"})
	tests := []struct {
		name string
		tbl  *dataset.Table
		opt  LeakOptions
		want string
	}{
		{"unknown post-outcome column", tbl, LeakOptions{PostOutcome: []string{"spend"}}, `post-outcome column "spend" not in data`},
		{"target declared post-outcome", tbl, LeakOptions{PostOutcome: []string{"y"}}, `post-outcome column "y" is the target`},
		{"share above 1", tbl, LeakOptions{MinRegionShare: 2}, "min region share 2 not in (0, 1]"},
		{"AUC below 1/2", tbl, LeakOptions{MaxAUC: 0.4}, "max AUC 0.4 not in (0.5, 1]"},
		{"bad cell", bad, LeakOptions{}, `data row 2, column "x": "abc" is not a number`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ScreenLeakage(tc.tbl, sch, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestGroupAUC checks the AUC from value groups against ROCAUC on data
// with many ties, in both directions.
func TestGroupAUC(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, slope := range []float64{1, -1, 0} {
		x := make([]float64, 3000)
		y := make([]float64, len(x))
		for i := range x {
			x[i] = math.Round(4 * rng.NormFloat64())
			if rng.Float64() < 1/(1+math.Exp(-slope*x[i]/4)) {
				y[i] = 1
			}
		}
		got, reversed, rows := groupAUC(numberGroups(x, y))
		ref := ROCAUC(y, x)
		want := math.Max(ref, 1-ref)
		if math.Abs(got-want) > 1e-12 || reversed != (ref < 0.5) || rows != len(x) {
			t.Errorf("slope %v: got AUC %v reversed %v rows %d, want %v %v %d", slope, got, reversed, rows, want, ref < 0.5, len(x))
		}
	}
}

// TestNumberGroups checks the radix-sorted groups against a plain sort:
// negative, zero (and -0), integer and fractional values, missing cells.
func TestNumberGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{0, 7, 300, 20000} {
		x := make([]float64, n)
		y := make([]float64, n)
		for i := range x {
			switch rng.IntN(5) {
			case 0:
				x[i] = math.Round(10 * rng.NormFloat64())
			case 1:
				x[i] = 1e6 * rng.NormFloat64()
			case 2:
				x[i] = math.Copysign(0, -1)
			case 3:
				x[i] = math.NaN()
			default:
				x[i] = float64(rng.IntN(3))
			}
			y[i] = float64(rng.IntN(2))
		}
		var xs, ys []float64
		for i, v := range x {
			if !math.IsNaN(v) {
				xs, ys = append(xs, v), append(ys, y[i])
			}
		}
		var want []valueGroup
		for _, i := range rank.Ascending(xs) {
			if k := len(want) - 1; k < 0 || want[k].v != xs[i] {
				want = append(want, valueGroup{v: xs[i]})
			}
			if ys[i] == 1 {
				want[len(want)-1].n1++
			} else {
				want[len(want)-1].n0++
			}
		}
		if got := numberGroups(x, y); !slices.Equal(got, want) {
			t.Errorf("%d rows: got %d groups, want %d: %v", n, len(got), len(want), got[:min(5, len(got))])
		}
	}
}

// TestAUCSignificant checks the chance guard against hand values:
// sd = sqrt((n0+n1+1)/(12·n0·n1)) and the normal quantile of 1e-9,
// z = 5.9978 (Python's statistics.NormalDist().inv_cdf(1-1e-9)).
func TestAUCSignificant(t *testing.T) {
	tests := []struct {
		n0, n1 int
		auc    float64
		want   bool
	}{
		{998, 2, 1, false},      // sd 0.2044: z 2.45
		{9000, 50, 1, true},     // sd 0.0409: z 12.2
		{9000, 50, 0.94, false}, // below MaxAUC
		{9000, 12, 1, false},    // sd 0.0834: z 5.9957
		{9000, 13, 1, true},     // sd 0.0801: z 6.24
		{9000, 13, 0.98, false}, // z 5.99
	}
	for _, tc := range tests {
		groups := []valueGroup{{v: 0, n0: tc.n0}, {v: 1, n1: tc.n1}}
		if got := aucSignificant(groups, tc.auc, 0.95); got != tc.want {
			t.Errorf("n0 %d n1 %d AUC %v: got %v, want %v", tc.n0, tc.n1, tc.auc, got, tc.want)
		}
	}
}

// hillstromLeaks screens the Hillstrom data with the schema promoflow fit
// infers for target.
func hillstromLeaks(t *testing.T, tbl *dataset.Table, target string) []Leak {
	t.Helper()
	sch, err := InferSchema(tbl, InferOptions{Target: target, Treatment: "segment", Control: "No E-Mail"})
	if err != nil {
		t.Fatal(err)
	}
	leaks, err := ScreenLeakage(tbl, sch, LeakOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leaks {
		t.Logf("%s %s: %s (AUC %.4f)", l.Column, l.Rule, l.Evidence, l.AUC)
	}
	return leaks
}

func leakColumns(leaks []Leak) []string {
	var out []string
	for _, l := range leaks {
		out = append(out, l.Column)
	}
	return out
}

func TestScreenLeakageHillstrom(t *testing.T) {
	tbl, err := dataset.ReadFile(sharedData(t, "hillstrom.csv"), dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	visit, _ := tbl.Column("visit")
	spend, _ := tbl.Column("spend")
	var spent, spentVisit int
	for i, s := range spend {
		if v, _ := strconv.ParseFloat(s, 64); v > 0 {
			spent++
			if visit[i] == "1" {
				spentVisit++
			}
		}
	}
	if spent != spentVisit {
		t.Fatalf("data: %d rows spent, %d of them visited", spent, spentVisit)
	}

	t.Run("visit", func(t *testing.T) {
		leaks := hillstromLeaks(t, tbl, "visit")
		if got, want := leakColumns(leaks), []string{"conversion", "spend"}; !slices.Equal(got, want) {
			t.Fatalf("got leaks in %q, want %q", got, want)
		}
		sp := leaks[1]
		want := fmt.Sprintf("spend > 0 ⇒ visit = 1 on %d rows (%.2f%%)", spent, 100*float64(spent)/float64(len(tbl.Rows)))
		if sp.Rule != LeakDetermines || sp.Evidence != want {
			t.Errorf("got spend %s %q, want %s %q", sp.Rule, sp.Evidence, LeakDetermines, want)
		}
	})
	t.Run("conversion", func(t *testing.T) {
		leaks := hillstromLeaks(t, tbl, "conversion")
		got := leakColumns(leaks)
		if !slices.Contains(got, "spend") {
			t.Errorf("got leaks in %q, want spend among them", got)
		}
		for _, c := range []string{"recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie", "channel"} {
			if slices.Contains(got, c) {
				t.Errorf("legitimate feature %s flagged", c)
			}
		}
	})
}

func TestScreenLeakageSynth(t *testing.T) {
	for _, cfg := range []synth.Config{
		{Rows: 200000, Seed: 1},
		{Rows: 50000, Seed: 2, Days: 10, DriftFrom: 5, DriftShift: 2},
		{Rows: 5000, Seed: 3, Arms: []string{"none", "a", "b", "c"}},
	} {
		t.Run(fmt.Sprintf("rows %d seed %d", cfg.Rows, cfg.Seed), func(t *testing.T) {
			got, err := ScreenLeakage(synth.Generate(cfg), synth.SchemaFor(cfg), LeakOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Errorf("got leaks %+v, want none", got)
			}
		})
	}
}

// BenchmarkScreenLeakage screens 1M rows of 10 features: 7 numeric (some
// with few values), a flag and 2 categorical.
func BenchmarkScreenLeakage(b *testing.B) {
	const n = 1_000_000
	rng := rand.New(rand.NewPCG(8, 8))
	header := []string{"y", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "flag", "c1", "c2"}
	sch := leakSchema()
	for _, h := range header[1:] {
		kind := schema.Numeric
		switch {
		case h == "flag":
			kind = schema.Flag
		case h[0] == 'c':
			kind = schema.Categorical
		}
		sch.Columns = append(sch.Columns, schema.Column{Name: h, Kind: kind})
	}
	tbl := &dataset.Table{Header: header}
	for range n {
		x := rng.NormFloat64()
		row := []string{"0",
			strconv.FormatFloat(x, 'f', 4, 64),
			strconv.FormatFloat(100*rng.ExpFloat64(), 'f', 2, 64),
			strconv.Itoa(1 + rng.IntN(12)),
			strconv.FormatFloat(rng.Float64(), 'f', 6, 64),
			strconv.Itoa(rng.IntN(1000)),
			strconv.FormatFloat(rng.NormFloat64(), 'f', 3, 64),
			strconv.Itoa(rng.IntN(2) * rng.IntN(500)),
			strconv.Itoa(rng.IntN(2)),
			[]string{"Web", "Phone", "Multichannel"}[rng.IntN(3)],
			"z" + strconv.Itoa(rng.IntN(40)),
		}
		if rng.Float64() < 1/(1+math.Exp(2-x)) {
			row[0] = "1"
		}
		tbl.Rows = append(tbl.Rows, row)
	}
	for b.Loop() {
		if _, err := ScreenLeakage(tbl, sch, LeakOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

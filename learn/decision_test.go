package learn

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/schema"
	"gonum.org/v1/gonum/stat"
)

// levelTable has one categorical column whose levels respond at 10, 20
// and 40 %, exactly: 1000 rows per level.
func levelTable() (*dataset.Table, map[string]float64) {
	rates := map[string]float64{"a": 0.1, "b": 0.2, "c": 0.4}
	tbl := &dataset.Table{Header: []string{"c", "y"}}
	for _, l := range []string{"a", "b", "c"} {
		for i := 0; i < 1000; i++ {
			y := "0"
			if float64(i) < rates[l]*1000 {
				y = "1"
			}
			tbl.Rows = append(tbl.Rows, []string{l, y})
		}
	}
	return tbl, rates
}

var levelSchema = schema.Schema{Columns: []schema.Column{{Name: "c", Kind: schema.Categorical}, {Name: "y", Kind: schema.Target}}}

// TestPriorCorrection fits the saturated model of levelTable with class
// weights: each level's fitted odds are its weighted odds, and the prior
// correction must bring the probability back to the level's own rate.
func TestPriorCorrection(t *testing.T) {
	tbl, rates := levelTable()
	// 700 positives, 2300 negatives.
	n1, n0 := 700.0, 2300.0
	tests := []struct {
		cw             ClassWeight
		wantCorrection float64
	}{
		{ClassWeight{}, 0},
		// w1/w0 = (n/2n1)/(n/2n0) = n0/n1.
		{ClassWeight{Balanced: true}, math.Log(n0 / n1)},
		{ClassWeight{Positive: 5}, math.Log(5)},
	}
	for _, tc := range tests {
		cfg := TrainConfig{Cs: []float64{1e6}, ClassWeights: []ClassWeight{tc.cw}, SelectThresholds: []float64{0}, CorrLimit: 1,
			Threshold: FixedThreshold(0.5), Tol: 1e-10}
		m, err := Train(tbl, levelSchema, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Propensity.PriorCorrection; !near(got, tc.wantCorrection, 1e-12) {
			t.Errorf("%v: prior correction = %v, want %v", tc.cw, got, tc.wantCorrection)
		}
		for l, want := range rates {
			s, err := m.Score(map[string]string{"c": l})
			if err != nil {
				t.Fatal(err)
			}
			if !near(s.Propensity, want, 1e-4) {
				t.Errorf("%v: P(y | c=%s) = %.6f, want the level's rate %v", tc.cw, l, s.Propensity, want)
			}
		}
	}
}

// TestArmModelsUnweighted checks that class weights change the propensity
// model only: the uplift learner's response models are the unweighted ones.
func TestArmModelsUnweighted(t *testing.T) {
	tbl := smallTable(2000, 9)
	fitWith := func(cw ClassWeight) *Model {
		cfg := likeForLike
		cfg.ClassWeights = []ClassWeight{cw}
		m, err := Train(tbl, smallSchema(true), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	none, bal := fitWith(ClassWeight{}), fitWith(ClassWeight{Balanced: true})
	if bal.Propensity.PriorCorrection == 0 || bal.Propensity.Coef[0] == none.Propensity.Coef[0] {
		t.Errorf("balanced propensity model looks unweighted: %+v", bal.Propensity)
	}
	pairs := [][2]*LogReg{{none.Uplift.ControlModel, bal.Uplift.ControlModel}, {none.Uplift.Arms[0].Model, bal.Uplift.Arms[0].Model}}
	for i, pr := range pairs {
		if pr[1].PriorCorrection != 0 || pr[0].Intercept != pr[1].Intercept || fmt.Sprint(pr[0].Coef) != fmt.Sprint(pr[1].Coef) {
			t.Errorf("response model %d differs with balanced weights: %+v vs %+v", i, pr[1], pr[0])
		}
	}
}

// collinearTable has x1 driving y, x2 a near copy of x1 and x3 noise.
func collinearTable() *dataset.Table {
	rng := rand.New(rand.NewPCG(11, 2))
	tbl := &dataset.Table{Header: []string{"x1", "x2", "x3", "y"}}
	for i := 0; i < 3000; i++ {
		x1 := rng.NormFloat64()
		x2 := x1 + 0.05*rng.NormFloat64()
		x3 := rng.NormFloat64()
		y := "0"
		if rng.Float64() < 1/(1+math.Exp(-(-1+1.5*x1))) {
			y = "1"
		}
		f := func(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
		tbl.Rows = append(tbl.Rows, []string{f(x1), f(x2), f(x3), y})
	}
	return tbl
}

// column returns a column of tbl as numbers.
func column(t *testing.T, tbl *dataset.Table, j int) []float64 {
	t.Helper()
	out := make([]float64, len(tbl.Rows))
	for i, r := range tbl.Rows {
		v, err := strconv.ParseFloat(r[j], 64)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
	}
	return out
}

func TestDroppedFeatures(t *testing.T) {
	tbl := collinearTable()
	sch := schema.Schema{Columns: []schema.Column{{Name: "x1", Kind: schema.Numeric}, {Name: "x2", Kind: schema.Numeric},
		{Name: "x3", Kind: schema.Numeric}, {Name: "y", Kind: schema.Target}}}
	cfg := TrainConfig{Cs: []float64{1}, ClassWeights: []ClassWeight{{}}, SelectThresholds: []float64{0.05}, CorrLimit: 0.95,
		Threshold: FixedThreshold(0.5)}
	m, err := Train(tbl, sch, cfg)
	if err != nil {
		t.Fatal(err)
	}
	x1, x2, x3, y := column(t, tbl, 0), column(t, tbl, 1), column(t, tbl, 2), column(t, tbl, 3)
	r1, r2, r3 := stat.Correlation(x1, y, nil), stat.Correlation(x2, y, nil), stat.Correlation(x3, y, nil)
	if math.Abs(r3) >= 0.05 || math.Abs(r2) >= math.Abs(r1) {
		t.Fatalf("data does not make the intended case: r = %v, %v, %v", r1, r2, r3)
	}
	want := []DroppedFeature{
		{Feature: "x2", Reason: DropCollinear, TargetCorr: r2, With: "x1", PairCorr: stat.Correlation(x1, x2, nil)},
		{Feature: "x3", Reason: DropWeak, TargetCorr: r3},
	}
	if len(m.Dropped) != len(want) {
		t.Fatalf("dropped = %+v, want %+v", m.Dropped, want)
	}
	for i, got := range m.Dropped {
		w := want[i]
		if got.Feature != w.Feature || got.Reason != w.Reason || got.With != w.With ||
			!near(got.TargetCorr, w.TargetCorr, 1e-9) || !near(got.PairCorr, w.PairCorr, 1e-9) {
			t.Errorf("dropped[%d] = %+v, want %+v", i, got, w)
		}
	}
	for j, f := range m.Pipeline.Features {
		if dropped := f.Name != "x1"; f.Selected == dropped || (dropped && m.Propensity.Coef[j] != 0) {
			t.Errorf("feature %s: selected %v, coef %v", f.Name, f.Selected, m.Propensity.Coef[j])
		}
	}

	good, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Load(good)
	if err != nil || len(back.Dropped) != 2 || back.Dropped[0] != m.Dropped[0] {
		t.Errorf("round trip: %v, dropped %+v", err, back)
	}
	edit := func(f func(map[string]any)) []byte { return editJSON(t, good, f) }
	// A model file from before dropped_features existed still loads.
	if _, err := Load(edit(func(v map[string]any) { delete(v, "dropped_features") })); err != nil {
		t.Errorf("model file without dropped_features: %v", err)
	}
	first := func(v map[string]any) map[string]any { return v["dropped_features"].([]any)[0].(map[string]any) }
	rejects := []struct {
		name string
		data []byte
		want string
	}{
		{"unknown feature", edit(func(v map[string]any) { first(v)["feature"] = "x9" }), `dropped_features[0].feature "x9" is not`},
		{"selected feature", edit(func(v map[string]any) { first(v)["feature"] = "x1" }), "is selected"},
		{"bad reason", edit(func(v map[string]any) { first(v)["reason"] = "tired" }), `reason is "tired"`},
		{"bad with", edit(func(v map[string]any) { first(v)["with"] = "x9" }), `with "x9"`},
	}
	for _, tc := range rejects {
		if _, err := Load(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Load error = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// TestTrainThreshold checks when Train splits to choose the threshold and
// that it keeps the one it chose.
func TestTrainThreshold(t *testing.T) {
	tbl := smallTable(2000, 6)
	fixed, err := Train(tbl, smallSchema(true), likeForLike)
	if err != nil {
		t.Fatal(err)
	}
	if fixed.Metrics.On != "" || fixed.Search != nil || fixed.Settings.Threshold != 0.5 || fixed.Settings.ThresholdRule != "fixed(0.5)" {
		t.Errorf("fixed rule, one point: metrics on %q, %d results, threshold %v %q; want no split and 0.5",
			fixed.Metrics.On, len(fixed.Search), fixed.Settings.Threshold, fixed.Settings.ThresholdRule)
	}
	cfg := likeForLike
	cfg.Threshold = ThresholdRule{Rule: ThresholdTopFraction, TopFraction: 0.2}
	top, err := Train(tbl, smallSchema(true), cfg)
	if err != nil {
		t.Fatal(err)
	}
	met := top.Metrics
	if met.On != "validation" || len(top.Search) != 1 || top.Settings.ThresholdRule != "top_fraction(0.2)" {
		t.Fatalf("top fraction rule, one point: metrics on %q, %d results, rule %q; want a validation split",
			met.On, len(top.Search), top.Settings.ThresholdRule)
	}
	if met.AtThreshold.Threshold != top.Settings.Threshold || top.Search[0].Settings.Threshold != top.Settings.Threshold {
		t.Errorf("threshold %v, metrics at %v, search at %v: want one threshold", top.Settings.Threshold, met.AtThreshold.Threshold, top.Search[0].Settings.Threshold)
	}
	// The share called positive on validation is the top 20 % (the
	// scores are continuous, so no ties).
	if got := float64(met.AtThreshold.TP+met.AtThreshold.FP) / float64(met.Rows); !near(got, 0.2, 1.0/float64(met.Rows)) {
		t.Errorf("share called positive on validation = %v, want 0.2", got)
	}
	if met.TopK[1].Fraction != 0.2 || !near(met.TopK[1].Precision, met.AtThreshold.Precision, 0.01) {
		t.Errorf("top 20%%: %+v, at the top-20%% threshold %+v: want the same precision", met.TopK[1], met.AtThreshold)
	}
	cfg.Threshold = ThresholdRule{Rule: ThresholdCost}
	if _, err := Train(tbl, smallSchema(true), cfg); err == nil || !strings.Contains(err.Error(), "train config: threshold rule cost") {
		t.Errorf("cost rule without costs: err = %v", err)
	}
	cfg.Threshold, cfg.Metric = ThresholdRule{}, "recall_at_101"
	if _, err := Train(tbl, smallSchema(true), cfg); err == nil || !strings.Contains(err.Error(), `unknown metric "recall_at_101"`) {
		t.Errorf("bad metric: err = %v", err)
	}
}

package learn

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/schema"
)

// smallTable is a seeded data set with a numeric, a flag, a categorical
// and a constant column, a missing value, and a treatment.
func smallTable(n int, seed uint64) *dataset.Table {
	rng := rand.New(rand.NewPCG(seed, 1))
	t := &dataset.Table{Header: []string{"id", "x", "f", "c", "k", "arm", "y"}}
	for i := 0; i < n; i++ {
		x := rng.NormFloat64()
		c := []string{"a", "b", "c"}[rng.IntN(3)]
		f := rng.IntN(2)
		arm := []string{"ctl", "A"}[rng.IntN(2)]
		z := -0.5 + 1.2*x + 0.5*float64(f)
		if c == "b" {
			z += 0.7
		}
		if arm == "A" {
			z += 0.5
		}
		y := "0"
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			y = "1"
		}
		xs := fmt.Sprintf("%.4f", x)
		if i%50 == 0 {
			xs = ""
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(i), xs, fmt.Sprint(f), c, "7", arm, y})
	}
	return t
}

func smallSchema(uplift bool) schema.Schema {
	s := schema.Schema{Columns: []schema.Column{
		{Name: "id", Kind: schema.ID},
		{Name: "x", Kind: schema.Numeric},
		{Name: "f", Kind: schema.Flag},
		{Name: "c", Kind: schema.Categorical},
		{Name: "k", Kind: schema.Numeric},
		{Name: "arm", Kind: schema.Categorical},
		{Name: "y", Kind: schema.Target},
	}}
	if uplift {
		s.Columns[5] = schema.Column{Name: "arm", Kind: schema.Treatment, Control: "ctl"}
	}
	return s
}

func TestTrainScoreRoundTrip(t *testing.T) {
	tbl := smallTable(3000, 1)
	for _, uplift := range []bool{false, true} {
		t.Run(fmt.Sprintf("uplift=%v", uplift), func(t *testing.T) {
			m, err := Train(tbl, smallSchema(uplift), TrainConfig{Seed: 3, Cs: []float64{0.1, 1}, SelectThresholds: []float64{0, 0.05}})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Search) != 8 || m.Metrics.On != "validation" {
				t.Errorf("search has %d results, metrics on %q; want 8 and validation", len(m.Search), m.Metrics.On)
			}
			if (m.Uplift != nil) != uplift {
				t.Fatalf("uplift part = %v, want %v", m.Uplift != nil, uplift)
			}
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := Load(b)
			if err != nil {
				t.Fatal(err)
			}
			// The same rows score the same after the round trip, batch and
			// one by one.
			s1, err := m.ScoreTable(tbl)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := m2.ScoreTable(tbl)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(tbl.Rows); i += 97 {
				row := map[string]string{}
				for j, h := range tbl.Header {
					row[h] = tbl.Rows[i][j]
				}
				one, err := m2.Score(row)
				if err != nil {
					t.Fatal(err)
				}
				if s1[i].Propensity != s2[i].Propensity || !near(one.Propensity, s1[i].Propensity, 1e-12) {
					t.Fatalf("row %d: propensity %v, after load %v, one row %v", i, s1[i].Propensity, s2[i].Propensity, one.Propensity)
				}
				if uplift && !near(one.Uplift["A"], s1[i].Uplift["A"], 1e-12) {
					t.Fatalf("row %d: uplift %v, one row %v", i, s1[i].Uplift, one.Uplift)
				}
			}
			met, err := Evaluate(m2, tbl)
			if err != nil {
				t.Fatal(err)
			}
			if met.ROCAUC < 0.7 {
				t.Errorf("ROC-AUC %v, want > 0.7 on data with a strong signal", met.ROCAUC)
			}
			if uplift && (len(met.Uplift) != 1 || met.Uplift[0].Qini == 0) {
				t.Errorf("uplift metrics = %+v", met.Uplift)
			}
			// Deterministic for a seed.
			m3, err := Train(tbl, smallSchema(uplift), TrainConfig{Seed: 3, Cs: []float64{0.1, 1}, SelectThresholds: []float64{0, 0.05}})
			if err != nil {
				t.Fatal(err)
			}
			b3, _ := json.Marshal(m3)
			if string(b) != string(b3) {
				t.Error("two trainings with the same seed differ")
			}
		})
	}
}

func TestUnknownLevelAndMissing(t *testing.T) {
	tbl := smallTable(1000, 2)
	m, err := Train(tbl, smallSchema(false), likeForLike)
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"x": "0.5", "f": "1", "c": "a", "k": "7"}
	known, _ := m.Score(base)
	base["c"] = "never seen"
	unk, err := m.Score(base)
	if err != nil || unk.Propensity == known.Propensity {
		t.Errorf("unknown level: %v, %v (known level %v)", unk, err, known)
	}
	delete(base, "x")
	if _, err := m.Score(base); err != nil {
		t.Errorf("missing numeric should be imputed: %v", err)
	}
	base["x"] = "abc"
	if _, err := m.Score(base); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("bad number error = %v, want it to name column x", err)
	}
	// x had missing training values: a missing flag feature exists, the
	// constant column k has scale 1.
	names := m.Pipeline.featureNames()
	if names[1] != "x[missing]" {
		t.Errorf("features = %q, want x[missing] second", names)
	}
	for _, c := range m.Pipeline.Columns {
		if c.Name == "k" && c.Scale != 1 {
			t.Errorf("constant column scale = %v, want 1", c.Scale)
		}
	}
}

// TestSeparable checks that perfectly separable data gives finite
// coefficients (the L2 penalty bounds them) and no NaN.
func TestSeparable(t *testing.T) {
	tbl := &dataset.Table{Header: []string{"x", "y"}}
	for i := 0; i < 200; i++ {
		y := "0"
		if i >= 100 {
			y = "1"
		}
		tbl.Rows = append(tbl.Rows, []string{fmt.Sprint(i), y})
	}
	sch := schema.Schema{Columns: []schema.Column{{Name: "x", Kind: schema.Numeric}, {Name: "y", Kind: schema.Target}}}
	for _, solver := range []string{SolverNewton, SolverLBFGS} {
		cfg := likeForLike
		cfg.Solver = solver
		cfg.Cs = []float64{1e4}
		m, err := Train(tbl, sch, cfg)
		if err != nil {
			t.Fatalf("%s: %v", solver, err)
		}
		c := m.Propensity.Coef[0]
		if math.IsNaN(c) || math.IsInf(c, 0) || c <= 0 {
			t.Errorf("%s: coefficient %v, want finite and positive", solver, c)
		}
	}
}

// TestSolversAgree fits the same problem with Newton and L-BFGS.
func TestSolversAgree(t *testing.T) {
	tbl := smallTable(2000, 5)
	var coefs [][]float64
	for _, solver := range []string{SolverNewton, SolverLBFGS} {
		cfg := likeForLike
		cfg.Solver = solver
		cfg.Tol = 1e-9
		cfg.ClassWeights = []ClassWeight{{Balanced: true}}
		m, err := Train(tbl, smallSchema(false), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !m.Propensity.Solver.Converged {
			t.Errorf("%s did not converge: %+v", solver, m.Propensity.Solver)
		}
		coefs = append(coefs, append(m.Propensity.Coef, m.Propensity.Intercept))
	}
	for j := range coefs[0] {
		if !near(coefs[0][j], coefs[1][j], 1e-4) {
			t.Errorf("coef %d: newton %v, lbfgs %v", j, coefs[0][j], coefs[1][j])
		}
	}
}

func TestStratifiedSplit(t *testing.T) {
	groups := make([]string, 1000)
	for i := range groups {
		groups[i] = "neg"
		if i%10 == 0 {
			groups[i] = "pos"
		}
	}
	tr, te := StratifiedSplit(groups, 0.2, 7)
	if len(tr)+len(te) != 1000 || len(te) != 200 {
		t.Fatalf("split %d/%d, want 800/200", len(tr), len(te))
	}
	pos := 0
	for _, i := range te {
		if groups[i] == "pos" {
			pos++
		}
	}
	if pos != 20 {
		t.Errorf("test has %d positives, want 20", pos)
	}
	tr2, _ := StratifiedSplit(groups, 0.2, 7)
	for i := range tr {
		if tr[i] != tr2[i] {
			t.Fatal("same seed gave a different split")
		}
	}
}

func TestLoadRejects(t *testing.T) {
	m, err := Train(smallTable(500, 3), smallSchema(true), likeForLike)
	if err != nil {
		t.Fatal(err)
	}
	good, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(map[string]any)) []byte { return editJSON(t, good, f) }
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not json", []byte("{"), "unexpected EOF"},
		{"other format", edit(func(v map[string]any) { v["format"] = "onnx" }), "field format"},
		{"newer version", edit(func(v map[string]any) { v["format_version"] = 2 }), "field format_version is 2"},
		{"unknown field", edit(func(v map[string]any) { v["extra"] = 1 }), `unknown field "extra"`},
		{"short coef", edit(func(v map[string]any) {
			p := v["propensity"].(map[string]any)
			p["coef"] = p["coef"].([]any)[1:]
		}), "propensity.coef has"},
		{"arm coef", edit(func(v map[string]any) {
			a := v["uplift"].(map[string]any)["arms"].([]any)[0].(map[string]any)["model"].(map[string]any)
			a["coef"] = []any{}
		}), "uplift.arms[0].model.coef"},
		{"no pipeline", edit(func(v map[string]any) { delete(v, "pipeline") }), "field pipeline is missing"},
		{"bad scale", edit(func(v map[string]any) {
			v["pipeline"].(map[string]any)["columns"].([]any)[0].(map[string]any)["scale"] = -1
		}), "pipeline.columns[0].scale"},
		{"unsorted levels", edit(func(v map[string]any) {
			v["pipeline"].(map[string]any)["columns"].([]any)[2].(map[string]any)["levels"] = []any{"b", "a", "c"}
		}), "pipeline.columns[2].levels"},
		{"trailing data", append(append([]byte{}, good...), []byte(" {}")...), "trailing data"},
	}
	for _, tc := range tests {
		_, err := Load(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Load error = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	if _, err := Load(good); err != nil {
		t.Errorf("good model: %v", err)
	}
}

// FuzzLoad checks that Load never panics and that what it accepts scores
// a row and survives another round trip.
func FuzzLoad(f *testing.F) {
	m, err := Train(smallTable(300, 4), smallSchema(true), likeForLike)
	if err != nil {
		f.Fatal(err)
	}
	good, err := json.Marshal(m)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":"promoflow-model","format_version":1}`))
	f.Add([]byte(`null`))
	f.Add([]byte(strings.Replace(string(good), `"coef":[`, `"coef":[1e308,`, 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load(data)
		if err != nil {
			return
		}
		if _, err := m.Score(map[string]string{"x": "1", "f": "0", "c": "a", "k": "7"}); err != nil && !strings.Contains(err.Error(), "column") {
			t.Fatalf("Score on a loaded model: %v", err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := Load(b); err != nil {
			t.Fatalf("re-load: %v", err)
		}
	})
}

// editJSON decodes the JSON object data, lets f change it and encodes it
// again: a model file with one field edited.
func editJSON(t *testing.T, data []byte, f func(map[string]any)) []byte {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	f(v)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

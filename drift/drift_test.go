package drift

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPSICounts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ref, cur []int64
		want     float64
	}{
		{"identical", []int64{1, 2, 3}, []int64{2, 4, 6}, 0},
		// (0.75-0.5)ln(1.5) + (0.25-0.5)ln(0.5) = 0.25·0.405465 + 0.25·0.693147
		{"half shift", []int64{5, 5}, []int64{75, 25}, 0.25*math.Log(1.5) + 0.25*math.Log(2)},
		// empty current bin floored at 1e-4: (1e-4-0.5)ln(1e-4/0.5) + (1-0.5)ln(2)
		{"empty bin floored", []int64{1, 1}, []int64{0, 10}, (1e-4-0.5)*math.Log(1e-4/0.5) + 0.5*math.Log(2)},
	} {
		if got := PSICounts(tc.ref, tc.cur); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: got %.12g, want %.12g", tc.name, got, tc.want)
		}
	}
}

func TestJSDistance(t *testing.T) {
	for _, tc := range []struct {
		name string
		p, q []float64
		want float64
	}{
		{"same", []float64{1, 3}, []float64{2, 6}, 0},
		// disjoint supports: JS divergence = ln 2 (scipy jensenshannon([1,0],[0,1]) = 0.8325546111576977)
		{"disjoint", []float64{1, 0}, []float64{0, 1}, 0.8325546111576977},
		// scipy.spatial.distance.jensenshannon([0.5,0.5],[0.9,0.1]) = 0.31898154347735663
		{"skewed", []float64{0.5, 0.5}, []float64{0.9, 0.1}, 0.31898154347735663},
	} {
		if got := JSDistance(tc.p, tc.q); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: got %.16g, want %.16g", tc.name, got, tc.want)
		}
	}
}

func TestKolmogorovSF(t *testing.T) {
	// Values of scipy.stats.kstwobign.sf (scipy 1.x, /usr/bin/python3).
	for _, tc := range []struct{ z, want float64 }{
		{0.3, 0.9999906941986655},
		{0.5, 0.9639452436648751},
		{0.9, 0.3927307079406543},
		{1.0, 0.26999967167735456},
		{1.36, 0.049485876755377876},
		{2.0, 0.0006709252557796953},
	} {
		if got := KolmogorovSF(tc.z); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("KolmogorovSF(%g): got %.16g, want %.16g", tc.z, got, tc.want)
		}
	}
}

func TestKSExactSmall(t *testing.T) {
	// scipy.stats.ks_2samp([1,2,3,4,5],[6,7,8,9,10]) → D=1, p=0.007936507936507936 (2/252)
	// scipy.stats.ks_2samp([1,2,3],[2.5,4,5,6]) → D=0.75, p=0.22857142857142862 (8/35)
	for _, tc := range []struct {
		name string
		a, b []float64
		d, p float64
	}{
		{"disjoint equal n", []float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, 1, 2.0 / 252},
		{"unequal n", []float64{1, 2, 3}, []float64{2.5, 4, 5, 6}, 0.75, 8.0 / 35},
		{"identical", []float64{1, 2, 3}, []float64{1, 2, 3}, 0, 1},
	} {
		got := KS(tc.a, tc.b)
		if math.Abs(got.Statistic-tc.d) > 1e-12 || math.Abs(got.PValue-tc.p) > 1e-12 || got.Method != KSExact {
			t.Errorf("%s: got %+v, want D=%g p=%g exact", tc.name, got, tc.d, tc.p)
		}
	}
}

func TestQuantileEdges(t *testing.T) {
	// numpy.unique(numpy.quantile([1,2,3,4,5,6,7,8,9,10], linspace(.1,.9,9)))
	// = [1.9, 2.8, 3.7, 4.6, 5.5, 6.4, 7.3, 8.2, 9.1]; ties collapse.
	for _, tc := range []struct {
		name string
		in   []float64
		want []float64
	}{
		{"1..10", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []float64{1.9, 2.8, 3.7, 4.6, 5.5, 6.4, 7.3, 8.2, 9.1}},
		{"constant", []float64{3, 3, 3}, []float64{3}},
		{"two values", []float64{0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, []float64{0, 0.5, 1}},
	} {
		got := QuantileEdges(tc.in)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: got %v, want %v", tc.name, got, tc.want)
		}
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-12 {
				t.Errorf("%s edge %d: got %v, want %v", tc.name, i, got[i], tc.want[i])
			}
		}
	}
}

func TestCompareCategoricalAndSummary(t *testing.T) {
	cfg := DefaultConfig()
	ref := NewCategorical([]string{"a", "a", "b", "b", ""})
	same := CompareCategorical(cfg, "c", ref, []string{"a", "b"})
	if same.PSI != 0 || same.Drifted || same.Severity != SeverityOK {
		t.Errorf("same shares: got %+v, want PSI 0 and not drifted", same)
	}
	// new level c: shares ref (.5,.5,0→1e-4), cur (0→1e-4, .5, .5)
	moved := CompareCategorical(cfg, "c", ref, []string{"b", "c"})
	want := (1e-4-0.5)*math.Log(1e-4/0.5) + (0.5-1e-4)*math.Log(0.5/1e-4)
	if math.Abs(moved.PSI-want) > 1e-12 || !moved.Drifted || moved.Severity != SeverityAct {
		t.Errorf("moved shares: got PSI %g drifted %v %s, want %g, drifted, act", moved.PSI, moved.Drifted, moved.Severity, want)
	}
	if got, want := moved.Levels, []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("levels: got %v, want %v", got, want)
	}
	score := Result{Kind: KindScore, Drifted: true}
	s := Summarise(cfg, []Result{same, moved, score})
	if s.Features != 2 || s.Drifted != 1 || s.DriftedShare != 0.5 || !s.DatasetDrift {
		t.Errorf("summary: got %+v, want 1 of 2 drifted, data set drift at share 0.5", s)
	}
}

func TestKSLargeSampleGuard(t *testing.T) {
	// A 0.03 sd shift over 200k rows is "significant" but below the
	// minimum effect: KS must not flag it.
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := make([]float64, 200000), make([]float64, 200000)
	for i := range a {
		a[i], b[i] = rng.NormFloat64(), rng.NormFloat64()+0.03
	}
	r := CompareNumeric(DefaultConfig(), "x", NewNumeric(a), b)
	if r.KS.PValue >= 0.05 {
		t.Fatalf("p-value %g: want a significant shift", r.KS.PValue)
	}
	if r.KSFlag || r.Drifted {
		t.Errorf("tiny shift flagged: %+v", r)
	}
}

func TestSortFloats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	xs := make([]float64, 50000)
	for i := range xs {
		xs[i] = rng.NormFloat64() * 1e3
	}
	xs[0], xs[1], xs[2] = math.Inf(-1), math.Inf(1), 0
	want := slices.Clone(xs)
	slices.Sort(want)
	sortFloats(xs)
	if !slices.Equal(xs, want) {
		t.Error("radix sort differs from slices.Sort")
	}
}

func TestConfigValidate(t *testing.T) {
	bad := DefaultConfig()
	bad.PSIWarn = 0.3
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"default", DefaultConfig(), true},
		{"warn above act", bad, false},
		{"zero", Config{}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: got err %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

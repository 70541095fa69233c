package synth

import (
	"bytes"
	"github.com/promoflow/promoflow/schema"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/learn"
)

func TestGenerateDeterministic(t *testing.T) {
	cfg := Config{Rows: 500, Seed: 7, Days: 3, BadRowFraction: 0.1, DriftFrom: 2}
	a, fa := GenerateWithFaults(cfg)
	b, fb := GenerateWithFaults(cfg)
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(fa, fb) {
		t.Fatal("same config gave different rows")
	}
	c := Generate(Config{Rows: 500, Seed: 8, Days: 3})
	if reflect.DeepEqual(a.Rows, c.Rows) {
		t.Fatal("different seeds gave the same rows")
	}
}

func TestSchemaMatchesHeader(t *testing.T) {
	cfg := Config{Rows: 10, Arms: []string{"ctl", "A", "B", "C"}}
	sch := SchemaFor(cfg)
	if err := sch.Validate(); err != nil {
		t.Fatal(err)
	}
	tbl := Generate(cfg)
	if !reflect.DeepEqual(tbl.Header, sch.Names()) {
		t.Errorf("header %q, schema %q", tbl.Header, sch.Names())
	}
	if got, want := Schema().Names(), SchemaFor(Config{}).Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("Schema() = %q, want %q", got, want)
	}
}

// TestCleanRowsRespectSchema checks ranges, levels and truth columns.
func TestCleanRowsRespectSchema(t *testing.T) {
	cfg := Config{Rows: 3000, Seed: 3, Days: 4, Start: time.Date(2026, 1, 30, 0, 0, 0, 0, time.UTC)}
	tbl := Generate(cfg)
	sch := SchemaFor(cfg)
	days := map[string]int{}
	var sumP, visits float64
	for i, r := range tbl.Rows {
		for j, c := range sch.Columns {
			v := r[j]
			if c.Required && v == "" {
				t.Fatalf("row %d: required %s empty", i, c.Name)
			}
			if c.Min != nil {
				x, err := strconv.ParseFloat(v, 64)
				if err != nil || x < *c.Min || x > *c.Max {
					t.Fatalf("row %d: %s = %q outside [%v, %v]", i, c.Name, v, *c.Min, *c.Max)
				}
			}
			if len(c.Levels) > 0 {
				found := false
				for _, l := range c.Levels {
					found = found || l == v
				}
				if !found {
					t.Fatalf("row %d: %s = %q not in %q", i, c.Name, v, c.Levels)
				}
			}
		}
		days[r[1]]++
		p, _ := strconv.ParseFloat(r[9], 64)
		sumP += p
		if r[8] == "1" {
			visits++
		}
	}
	want := map[string]int{"2026-01-30": 750, "2026-01-31": 750, "2026-02-01": 750, "2026-02-02": 750}
	if !reflect.DeepEqual(days, want) {
		t.Errorf("rows per day = %v, want %v", days, want)
	}
	// Visits are Bernoulli(true_propensity): their count is within 4 sd.
	n := float64(len(tbl.Rows))
	if sd := math.Sqrt(sumP * (1 - sumP/n)); math.Abs(visits-sumP) > 4*sd {
		t.Errorf("visits %v, expected %v ± %v", visits, sumP, 4*sd)
	}
}

func TestFaults(t *testing.T) {
	tbl, faults := GenerateWithFaults(Config{Rows: 2000, Seed: 11, Days: 2, BadRowFraction: 0.05})
	count := map[string]int{}
	for _, f := range faults {
		count[f]++
	}
	bad := len(faults) - count[""]
	if bad < 80 || bad > 100 {
		t.Errorf("%d bad rows, want about 100", bad)
	}
	for _, k := range []string{FaultWrongType, FaultOutOfRange, FaultNaN, FaultMissing, FaultScalper, FaultBadLevel} {
		if count[k] == 0 {
			t.Errorf("no %s fault in %v", k, count)
		}
	}
	// A faulty row must actually break a rule of the schema or of the
	// customer/day key.
	seen := map[[2]string]int{}
	for i, r := range tbl.Rows {
		key := [2]string{r[0], r[1]}
		seen[key]++
		if faults[i] == FaultDuplicate || faults[i] == FaultScalper {
			if seen[key] < 2 {
				t.Errorf("row %d: %s fault but key %v first seen", i, faults[i], key)
			}
		}
	}
}

func TestDriftShiftsFeatures(t *testing.T) {
	tbl := Generate(Config{Rows: 20000, Seed: 5, Days: 2, DriftFrom: 1, DriftShift: 1})
	var rec [2]float64
	var n [2]float64
	for _, r := range tbl.Rows {
		d := 0
		if r[1] == "2026-11-02" {
			d = 1
		}
		x, _ := strconv.ParseFloat(r[2], 64)
		rec[d] += x
		n[d]++
	}
	before, after := rec[0]/n[0], rec[1]/n[1]
	if after > before-0.5 {
		t.Errorf("mean recency %v before drift, %v after; want a clear drop", before, after)
	}
}

func TestWriteDays(t *testing.T) {
	dir := t.TempDir()
	files, err := WriteDays(dir, Config{Rows: 90, Seed: 1, Days: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, "2026-11-01", "part-0.csv"),
		filepath.Join(dir, "2026-11-02", "part-0.csv"),
		filepath.Join(dir, "2026-11-03", "part-0.csv"),
	}
	if !reflect.DeepEqual(files, want) {
		t.Fatalf("files = %q, want %q", files, want)
	}
	tbl, err := dataset.ReadFile(files[1], dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tbl.Rows) != 30 {
		t.Errorf("%s has %d rows, want 30", files[1], len(tbl.Rows))
	}
	var buf bytes.Buffer
	if err := Write(&buf, Config{Rows: 90, Seed: 1, Days: 3}); err != nil {
		t.Fatal(err)
	}
	all, err := dataset.Read(&buf, dataset.Options{})
	if err != nil || !reflect.DeepEqual(all.Rows[30:60], tbl.Rows) {
		t.Errorf("day file differs from the matching rows of Write (err %v)", err)
	}
	_ = os.Remove(files[0])
}

// TestUpliftRecovered fits the T-learner on generated data and checks the
// predicted uplift against the generator's ground truth.
func TestUpliftRecovered(t *testing.T) {
	cfg := Config{Rows: 60000, Seed: 21}
	tbl := Generate(cfg)
	cfgT := learn.TrainConfig{Seed: 1, Cs: []float64{1}, ClassWeights: []learn.ClassWeight{{}}, SelectThresholds: []float64{0}, CorrLimit: 1}
	m, err := learn.Train(tbl, SchemaFor(cfg), cfgT)
	if err != nil {
		t.Fatal(err)
	}
	test := Generate(Config{Rows: 20000, Seed: 22})
	scores, err := m.ScoreTable(test)
	if err != nil {
		t.Fatal(err)
	}
	for k, arm := range cfg.withDefaults().Arms[1:] {
		truth, err := test.Column(schema.TrueUpliftColumn(arm))
		if err != nil {
			t.Fatal(err)
		}
		var se, st, mean float64
		for i, s := range scores {
			tu, _ := strconv.ParseFloat(truth[i], 64)
			se += (s.Uplift[arm] - tu) * (s.Uplift[arm] - tu)
			mean += tu
			_ = k
		}
		n := float64(len(scores))
		mean /= n
		for i := range scores {
			tu, _ := strconv.ParseFloat(truth[i], 64)
			st += (tu - mean) * (tu - mean)
		}
		rmse, sd := math.Sqrt(se/n), math.Sqrt(st/n)
		t.Logf("arm %s: uplift RMSE %.4f, true uplift mean %.4f sd %.4f", arm, rmse, mean, sd)
		if rmse > 0.02 {
			t.Errorf("arm %s: uplift RMSE %.4f > 0.02", arm, rmse)
		}
	}
	met, err := learn.Evaluate(m, test)
	if err != nil {
		t.Fatal(err)
	}
	for _, am := range met.Uplift {
		if am.Qini <= 0 {
			t.Errorf("arm %s: Qini %.4f, want positive", am.Arm, am.Qini)
		}
		t.Logf("arm %s: qini %.4f observed uplift %.4f predicted %.4f", am.Arm, am.Qini, am.ObservedUplift, am.PredictedUplift)
	}
}

// TestNoEffectArm checks an arm listed in NoEffect responds as control:
// its true uplift is 0 on every row, and its observed response rate is
// control's within sampling error, while the other arm keeps its effect.
func TestNoEffectArm(t *testing.T) {
	tbl := Generate(Config{Rows: 60000, Seed: 2, NoEffect: []string{"Womens E-Mail"}})
	seg, _ := tbl.Col(ColSegment)
	visit, _ := tbl.Col(ColVisit)
	truth, _ := tbl.Col(schema.TrueUpliftColumn("Womens E-Mail"))
	n, y := map[string]float64{}, map[string]float64{}
	for _, r := range tbl.Rows {
		if r[truth] != "0.000000" {
			t.Fatalf("no-effect arm has true uplift %s", r[truth])
		}
		n[r[seg]]++
		if r[visit] == "1" {
			y[r[seg]]++
		}
	}
	rate := func(arm string) float64 { return y[arm] / n[arm] }
	if d := rate("Womens E-Mail") - rate("No E-Mail"); math.Abs(d) > 0.015 {
		t.Errorf("no-effect arm's observed uplift %.4f, want about 0", d)
	}
	if d := rate("Mens E-Mail") - rate("No E-Mail"); d < 0.05 {
		t.Errorf("Mens E-Mail's observed uplift %.4f, want its effect kept", d)
	}
}

package learn

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/synth"
)

// checkFastFloat fails when fastFloat accepts s but disagrees with
// strconv.ParseFloat bit for bit.
func checkFastFloat(t *testing.T, s string) {
	t.Helper()
	if s == "" {
		return
	}
	got, ok := fastFloat(s)
	if !ok {
		return
	}
	want, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("fastFloat(%q) = %v, but strconv.ParseFloat fails: %v", s, got, err)
	}
	if math.Float64bits(got) != math.Float64bits(want) {
		t.Fatalf("fastFloat(%q) = %v (%#x), want %v (%#x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
	}
}

func TestFastFloatMatchesParseFloat(t *testing.T) {
	for _, s := range []string{"0", "-0", "+0", "1", "-1", "0.1", ".5", "5.", "-.5", "123.456", "999999999999999",
		"0.000000000000001", "123456789.012345", "-98765.4321", "00012.500", "1e5", "0x10", "1_000", ".", "-", "+.", "1.2.3"} {
		checkFastFloat(t, s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		// Plain decimals of up to 17 digits with the point anywhere.
		digits := 1 + rng.IntN(17)
		b := make([]byte, 0, digits+2)
		if rng.IntN(3) == 0 {
			b = append(b, "-+"[rng.IntN(2)])
		}
		point := rng.IntN(digits + 1)
		for i := range digits {
			if i == point {
				b = append(b, '.')
			}
			b = append(b, byte('0'+rng.IntN(10)))
		}
		checkFastFloat(t, string(b))
		// Values as printed by %g/%f, the common case in files.
		v := rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-4))
		checkFastFloat(t, strconv.FormatFloat(v, 'f', rng.IntN(10), 64))
	}
}

func FuzzFastFloat(f *testing.F) {
	for _, s := range []string{"0", "-1.5", "123.456", ".5", "5.", "999999999999999", "1e5"} {
		f.Add(s)
	}
	f.Fuzz(checkFastFloat)
}

// gappyTable is smallTable with every seventh target empty, so that a scan
// over several blocks leaves unlabelled gaps, as a shuffled subset.
func gappyTable(n int) *dataset.Table {
	tbl := smallTable(n, 9)
	for i := range tbl.Rows {
		if i%7 == 3 {
			tbl.Rows[i][6] = ""
		}
	}
	perm := rand.New(rand.NewPCG(3, 4)).Perm(n)
	return tbl.Subset(perm)
}

func TestScanMatchesCells(t *testing.T) {
	tbl := gappyTable(3*scanBlock + 1234)
	sch := smallSchema(true)
	sc, err := scanTable(tbl, sch, scanOptions{needArms: true, features: true, fingerprint: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sc.fingerprint, Fingerprint(tbl); got != want {
		t.Errorf("scan fingerprint %s, Fingerprint %s", got, want)
	}
	lb, cols := sc.lb, sc.cols
	var wantRows []int
	for r, row := range tbl.Rows {
		if row[6] != "" {
			wantRows = append(wantRows, r)
		}
	}
	if len(lb.rows) != len(wantRows) || cols.n != len(wantRows) {
		t.Fatalf("scan found %d labelled rows (columns %d), want %d", len(lb.rows), cols.n, len(wantRows))
	}
	// Feature columns of smallSchema(true): x, f, c, k.
	tableCol := []int{1, 2, 3, 4}
	for i, r := range wantRows {
		row := tbl.Rows[r]
		if lb.rows[i] != r {
			t.Fatalf("labelled row %d is table row %d, want %d", i, lb.rows[i], r)
		}
		if want := map[string]float64{"0": 0, "1": 1}[row[6]]; lb.y[i] != want {
			t.Fatalf("row %d: y %v, want %v", r, lb.y[i], want)
		}
		wantArm := -1
		if row[5] == "A" {
			wantArm = 0
		}
		if lb.arm[i] != wantArm {
			t.Fatalf("row %d: arm %d, want %d", r, lb.arm[i], wantArm)
		}
		for k, j := range tableCol {
			cell := row[j]
			if cols.codes[k] != nil {
				if got := cols.levels[k][cols.codes[k][i]]; got != cell {
					t.Fatalf("row %d column %d: level %q, want %q", r, j, got, cell)
				}
				continue
			}
			want := math.NaN()
			if cell != "" {
				want, _ = strconv.ParseFloat(cell, 64)
			}
			if got := cols.dense[k][i]; math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("row %d column %d: %v, want %v", r, j, got, want)
			}
		}
	}
	if got, want := fmt.Sprint(cols.levels[2]), "[a b c]"; got != want {
		t.Errorf("levels of c = %s, want %s", got, want)
	}
}

// TestDeterministicAcrossCores trains and scores with one and with four
// goroutines' worth of cores and wants identical bytes.
func TestDeterministicAcrossCores(t *testing.T) {
	tbl := gappyTable(2*scanBlock + 777)
	run := func(procs int) string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		m, err := Train(tbl, smallSchema(true), TrainConfig{Seed: 3, Cs: []float64{0.1, 1}})
		if err != nil {
			t.Fatal(err)
		}
		s, err := m.ScoreTable(tbl)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal([]any{m, s})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if run(1) != run(4) {
		t.Error("model and scores differ between GOMAXPROCS 1 and 4")
	}
}

// BenchmarkScanTable scans 500,000 generated rows as training does: labels,
// arms, feature columns and the fingerprint in one pass.
func BenchmarkScanTable(b *testing.B) {
	tbl := synth.Generate(synth.Config{Rows: 500_000, Seed: 1})
	sch := synth.Schema()
	for b.Loop() {
		if _, err := scanTable(tbl, sch, scanOptions{needArms: true, features: true, fingerprint: true}); err != nil {
			b.Fatal(err)
		}
	}
}

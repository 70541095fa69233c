package synth

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promoflow/promoflow/dataset"
)

func TestFromHillstrom(t *testing.T) {
	src, err := dataset.Read(strings.NewReader(`recency,history_segment,history,mens,womens,zip_code,newbie,channel,segment,visit,conversion,spend
10,"2) $100 - $200",142.44,1,0,Surburban,0,Phone,Womens E-Mail,0,0,0
6,"3) $200 - $350",329.08,1,1,Rural,1,Web,No E-Mail,0,0,0
7,"2) $100 - $200",180.65,0,1,Surburban,1,Web,Womens E-Mail,0,0,0
9,"5) $500 - $750",675.83,1,0,Rural,1,Web,Mens E-Mail,1,0,0
`), dataset.Options{Name: "hillstrom.csv"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := FromHillstrom(src, 2, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"H000001", "2026-11-01", "10", "142.44", "Phone", "Surburban", "0", "Womens E-Mail", "0"},
		{"H000004", "2026-11-02", "9", "675.83", "Web", "Rural", "1", "Mens E-Mail", "1"},
	}
	for k, i := range []int{0, 3} {
		if g := strings.Join(got.Rows[i][:9], "|"); g != strings.Join(want[k], "|") {
			t.Errorf("row %d = %s, want %s", i+1, g, strings.Join(want[k], "|"))
		}
	}
	if _, err := FromHillstrom(&dataset.Table{Header: []string{"recency"}}, 2, DefaultStart); err == nil {
		t.Error("a source without Hillstrom's columns was accepted")
	}
}

func TestInjectFaultsAndShift(t *testing.T) {
	tbl := Generate(Config{Rows: 2000, Seed: 1})
	faults := InjectFaults(tbl, 0.1, 2)
	n := 0
	for _, f := range faults {
		if f != "" {
			n++
		}
	}
	if n < 150 || n > 200 {
		t.Errorf("InjectFaults(0.1) faulted %d of 2000 rows, want about 200", n)
	}

	clean := Generate(Config{Rows: 2000, Seed: 1})
	before := meanOf(t, clean, ColHistory)
	if err := Shift(clean, 1, 3); err != nil {
		t.Fatal(err)
	}
	after := meanOf(t, clean, ColHistory)
	// history is multiplied by e^0.5 ≈ 1.6487.
	if r := after / before; r < 1.64 || r > 1.66 {
		t.Errorf("mean history grew %.4f×, want e^0.5 ≈ 1.6487×", r)
	}
	if err := Shift(tbl, 1, 3); err == nil {
		t.Error("Shift accepted rows with faulty recency")
	}
}

func meanOf(t *testing.T, tbl *dataset.Table, col string) float64 {
	t.Helper()
	j, _ := tbl.Col(col)
	var s float64
	for _, r := range tbl.Rows {
		v, err := strconv.ParseFloat(r[j], 64)
		if err != nil {
			t.Fatal(err)
		}
		s += v
	}
	return s / float64(len(tbl.Rows))
}

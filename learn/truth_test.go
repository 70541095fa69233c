package learn

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/schema"
)

// withTruth returns tbl with a truth column for arm A holding truth(i) per
// row ("" to leave a row out).
func withTruth(tbl *dataset.Table, truth func(i int) string) *dataset.Table {
	out := &dataset.Table{Header: append(append([]string(nil), tbl.Header...), schema.TrueUpliftColumn("A"))}
	for i, r := range tbl.Rows {
		out.Rows = append(out.Rows, append(append([]string(nil), r...), truth(i)))
	}
	return out
}

func TestCompareUpliftTruth(t *testing.T) {
	tbl := smallTable(1000, 8)
	m, err := Train(tbl, smallSchema(true), likeForLike)
	if err != nil {
		t.Fatal(err)
	}
	// Truth 0.1 on even rows, 0.3 on rows ≡ 1 mod 4, none on the rest.
	truth := func(i int) string {
		switch {
		case i%2 == 0:
			return "0.1"
		case i%4 == 1:
			return "0.3"
		}
		return ""
	}
	got, err := CompareUpliftTruth(m, withTruth(tbl, truth))
	if err != nil {
		t.Fatal(err)
	}
	// The same sums from row-by-row Score.
	var n, sp, st, sse float64
	for i, r := range tbl.Rows {
		if truth(i) == "" {
			continue
		}
		row := map[string]string{}
		for j, h := range tbl.Header {
			row[h] = r[j]
		}
		s, err := m.Score(row)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := strconv.ParseFloat(truth(i), 64)
		u := s.Uplift["A"]
		n++
		sp += u
		st += v
		sse += (u - v) * (u - v)
	}
	want := ArmTruth{Arm: "A", Column: "true_uplift_a", Rows: 750, PredictedMeanUplift: sp / n, TrueMeanUplift: st / n, RMSE: math.Sqrt(sse / n)}
	if len(got) != 1 {
		t.Fatalf("CompareUpliftTruth = %+v, want one arm", got)
	}
	g := got[0]
	if g.Arm != want.Arm || g.Column != want.Column || g.Rows != want.Rows || !near(g.PredictedMeanUplift, want.PredictedMeanUplift, 1e-12) ||
		!near(g.TrueMeanUplift, want.TrueMeanUplift, 1e-12) || !near(g.RMSE, want.RMSE, 1e-12) {
		t.Errorf("CompareUpliftTruth = %+v, want %+v", g, want)
	}
	// 500 rows at 0.1 and 250 at 0.3.
	if !near(g.TrueMeanUplift, (500*0.1+250*0.3)/750, 1e-12) {
		t.Errorf("true mean uplift = %v, want %v", g.TrueMeanUplift, (500*0.1+250*0.3)/750)
	}

	if got, err := CompareUpliftTruth(m, tbl); got != nil || err != nil {
		t.Errorf("no truth column: %+v, %v; want nil, nil", got, err)
	}
	_, err = CompareUpliftTruth(m, withTruth(tbl, func(i int) string { return "x" }))
	if err == nil || !strings.Contains(err.Error(), `data row 1, column true_uplift_a: true uplift "x"`) {
		t.Errorf("bad truth cell: err = %v", err)
	}
	plain, err := Train(tbl, smallSchema(false), likeForLike)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := CompareUpliftTruth(plain, withTruth(tbl, truth)); got != nil || err != nil {
		t.Errorf("model without uplift: %+v, %v; want nil, nil", got, err)
	}
}

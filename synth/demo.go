package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/schema"
)

// InjectFaults replaces round(fraction·rows) rows of tbl, which has synth's
// columns, by faulty ones as GenerateWithFaults does, and returns the fault
// of every row ("" for a clean one).
func InjectFaults(tbl *dataset.Table, fraction float64, seed int64) []string {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6661756c74))
	return injectFaults(tbl, Config{BadRowFraction: fraction}, rng)
}

// Shift moves the feature distributions of tbl (synth's columns) in place
// the way drift does for generated rows: recency falls, history grows and
// more customers come through the web. Labels are left alone.
func Shift(tbl *dataset.Table, shift float64, seed int64) error {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x7368696674))
	rj, _ := tbl.Col(ColRecency)
	hj, _ := tbl.Col(ColHistory)
	cj, _ := tbl.Col(ColChannel)
	for i, r := range tbl.Rows {
		rec, err := strconv.Atoi(r[rj])
		if err != nil {
			return fmt.Errorf("shift row %d: recency %q: %w", i+1, r[rj], err)
		}
		hist, err := strconv.ParseFloat(r[hj], 64)
		if err != nil {
			return fmt.Errorf("shift row %d: history %q: %w", i+1, r[hj], err)
		}
		if rng.Float64() < 0.4*math.Min(shift, 2) {
			rec = max(1, rec-int(math.Round(3*shift)))
		}
		r[rj] = strconv.Itoa(rec)
		r[hj] = strconv.FormatFloat(math.Round(hist*math.Exp(0.5*shift)*100)/100, 'f', 2, 64)
		if rng.Float64() < 0.2*math.Min(shift, 2) {
			r[cj] = "Web"
		}
	}
	return nil
}

// FromHillstrom reshapes Kevin Hillstrom's e-mail data (hillstrom.csv) into
// synth's columns, spread evenly over days from start: customer ids are
// "H" and the data row number, the ground-truth columns stay empty, and
// history_segment, mens, womens, conversion and spend are left out.
func FromHillstrom(src *dataset.Table, days int, start time.Time) (*dataset.Table, error) {
	if days < 1 {
		return nil, fmt.Errorf("hillstrom: days %d: want at least 1", days)
	}
	sch := Schema()
	out := &dataset.Table{Header: sch.Names(), Rows: make([][]string, len(src.Rows))}
	from := make([]int, len(out.Header))
	for k, name := range out.Header {
		from[k] = -1
		switch name {
		case ColCustomer, ColDay:
			continue
		}
		if j, ok := src.Col(name); ok {
			from[k] = j
		} else if k < len(sch.Columns) && sch.Columns[k].Kind != schema.Ignore {
			return nil, fmt.Errorf("hillstrom: column %q missing from the source (header %v)", name, src.Header)
		}
	}
	cj, _ := out.Col(ColCustomer)
	dj, _ := out.Col(ColDay)
	for i, r := range src.Rows {
		row := make([]string, len(out.Header))
		for k, j := range from {
			if j >= 0 {
				row[k] = r[j]
			}
		}
		row[cj] = fmt.Sprintf("H%06d", i+1)
		row[dj] = start.AddDate(0, 0, i*days/len(src.Rows)).Format(time.DateOnly)
		out.Rows[i] = row
	}
	return out, nil
}

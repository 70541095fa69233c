package score

import (
	"context"
	"math"
	"testing"

	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/synth"
)

// TestBatchPartitions scores a day in three partitions: together they
// cover every customer once, each score equals the model's, and a re-run
// of a partition changes nothing.
func TestBatchPartitions(t *testing.T) {
	f := newFixture(t)
	pool := stacktest.PGPool(t)
	st := store.New(pool)
	ctx := context.Background()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tbl := synth.Generate(synth.Config{Rows: 500, Seed: 9})
	day := synth.DefaultStart
	if _, err := pool.Exec(ctx, `INSERT INTO clean_runs (source, day, rows_in, clean, quarantined, header, inputs_sha256, config_sha256, duration_ms)
		VALUES ('web', $1, $2, $2, 0, $3, 'x', 'x', 0)`, day, len(tbl.Rows), tbl.Header); err != nil {
		t.Fatal(err)
	}
	idj, _ := tbl.Col(synth.ColCustomer)
	for i, r := range tbl.Rows {
		if _, err := pool.Exec(ctx, `INSERT INTO clean_rows (source, day, file, line, customer_id, fields) VALUES ('web', $1, 'f.csv', $2, $3, $4)`,
			day, i+2, r[idj], r); err != nil {
			t.Fatal(err)
		}
	}
	const parts = 3
	total := 0
	for p := 0; p < parts; p++ {
		for run := 0; run < 2; run++ { // the second run is a retry
			res, err := Batch(ctx, f.reg, st, BatchRequest{Model: modelName, Source: "web", Day: day, Partition: p, Partitions: parts})
			if err != nil {
				t.Fatal(err)
			}
			if res.Version != f.v1 || int64(res.Rows) != res.Written {
				t.Errorf("partition %d: %+v, want version %d and every row written", p, res, f.v1)
			}
			if run == 0 {
				total += res.Rows
			}
		}
	}
	if total != len(tbl.Rows) {
		t.Errorf("partitions read %d rows, the day has %d", total, len(tbl.Rows))
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM scores WHERE model = $1 AND source = 'web' AND day = $2`, modelName, day).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(tbl.Rows) {
		t.Errorf("scores has %d rows, want %d", n, len(tbl.Rows))
	}
	want, err := f.models[f.v1].ScoreTable(tbl)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 17, 499} {
		var p, u float64
		if err := pool.QueryRow(ctx, `SELECT propensity, (uplift->>'Mens E-Mail')::float8 FROM scores WHERE customer_id = $1`, tbl.Rows[i][idj]).Scan(&p, &u); err != nil {
			t.Fatal(err)
		}
		if math.Abs(p-want[i].Propensity) > 1e-12 || math.Abs(u-want[i].Uplift["Mens E-Mail"]) > 1e-12 {
			t.Errorf("row %d: stored %v / %v, model gives %v / %v", i, p, u, want[i].Propensity, want[i].Uplift["Mens E-Mail"])
		}
	}
	if _, err := Batch(ctx, f.reg, st, BatchRequest{Model: modelName, Source: "web", Day: day, Partition: 3, Partitions: parts}); err == nil {
		t.Error("partition 3 of 3 accepted")
	}
}

// Package bench holds Go benchmarks of the learner on generated data; the
// side-by-side comparison with scikit-learn is run.sh.
package bench

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/schema"
	"github.com/promoflow/promoflow/synth"
)

// propensitySchema is synth's schema with the treatment as a plain
// categorical feature, as the scikit-learn peer sees it.
func propensitySchema() schema.Schema {
	sch := synth.Schema()
	for i, c := range sch.Columns {
		if c.Kind == schema.Treatment {
			sch.Columns[i].Kind = schema.Categorical
		}
	}
	return sch
}

var likeForLike = learn.TrainConfig{Cs: []float64{1}, ClassWeights: []learn.ClassWeight{{}}, SelectThresholds: []float64{0}, CorrLimit: 1}

func benchData(b *testing.B, rows int) *dataset.Table {
	b.Helper()
	return synth.Generate(synth.Config{Rows: rows, Seed: 1})
}

func BenchmarkTrain200k(b *testing.B) {
	tbl := benchData(b, 200000)
	sch := propensitySchema()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := learn.Train(tbl, sch, likeForLike); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTrainUplift200k(b *testing.B) {
	tbl := benchData(b, 200000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := learn.Train(tbl, synth.Schema(), likeForLike); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScoreTable200k(b *testing.B) {
	tbl := benchData(b, 200000)
	m, err := learn.Train(tbl, propensitySchema(), likeForLike)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.ScoreTable(tbl); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(tbl.Rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// splitData is the CLI's view of a generated set: written as CSV and read
// back (one string per row, as dataset.Read builds it), inferred schema, and
// a seeded shuffled 80/20 split shared with the tables as row subsets, like
// `promoflow fit --split` with the scikit-learn peer's indexes.
func splitData(b *testing.B, rows int) (train, test *dataset.Table, sch schema.Schema) {
	b.Helper()
	var buf bytes.Buffer
	if err := synth.Generate(synth.Config{Rows: rows, Seed: 1}).Write(&buf, ','); err != nil {
		b.Fatal(err)
	}
	tbl, err := dataset.Read(&buf, dataset.Options{})
	if err != nil {
		b.Fatal(err)
	}
	sch, err = learn.InferSchema(tbl, learn.InferOptions{Target: "visit",
		Drop: []string{"customer_id", "day", "true_propensity", "true_uplift", "true_uplift_mens_e_mail", "true_uplift_womens_e_mail"}})
	if err != nil {
		b.Fatal(err)
	}
	perm := rand.New(rand.NewPCG(42, 0)).Perm(len(tbl.Rows))
	nt := len(perm) / 5
	return tbl.Subset(perm[nt:]), tbl.Subset(perm[:nt]), sch
}

func BenchmarkFitSplit1M(b *testing.B) {
	train, _, sch := splitData(b, 1000000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := learn.Train(train, sch, likeForLike); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScoreSplit1M(b *testing.B) {
	train, test, sch := splitData(b, 1000000)
	m, err := learn.Train(train, sch, likeForLike)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.ScoreTable(test); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(test.Rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

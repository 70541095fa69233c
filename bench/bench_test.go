// Package bench holds Go benchmarks of the learner on generated data; the
// side-by-side comparison with scikit-learn is run.sh.
package bench

import (
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

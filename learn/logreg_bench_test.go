package learn

import (
	"testing"

	"github.com/promoflow/promoflow/synth"
)

// BenchmarkFit fits the logistic regression of 200,000 generated rows with
// each solver, the features already transformed: the loss, gradient and
// Hessian loops alone.
func BenchmarkFit(b *testing.B) {
	tbl := synth.Generate(synth.Config{Rows: 200_000, Seed: 1})
	sc, err := scanTable(tbl, synth.Schema(), scanOptions{features: true})
	if err != nil {
		b.Fatal(err)
	}
	_, d, err := fitPipeline(sc.cols, nil, ImputeMedian)
	if err != nil {
		b.Fatal(err)
	}
	for _, solver := range []string{SolverNewton, SolverLBFGS} {
		b.Run(solver, func(b *testing.B) {
			for b.Loop() {
				if _, err := fit(d, sc.lb.y, nil, nil, 1, 1e-6, 100, solver); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

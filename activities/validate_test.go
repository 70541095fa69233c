package activities

import (
	"slices"
	"testing"

	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/synth"
)

// TestGateRowsPairsEveryArm checks that the gate gets every arm of an
// uplift model, with production's uplift when production predicts it.
func TestGateRowsPairsEveryArm(t *testing.T) {
	m, err := learn.Train(synth.Generate(synth.Config{Rows: 2000, Seed: 1}), synth.Schema(), learn.TrainConfig{Seed: 1, Cs: []float64{1}})
	if err != nil {
		t.Fatal(err)
	}
	holdout := synth.Generate(synth.Config{Rows: 600, Seed: 2})
	var wantArms []string
	for _, a := range m.Uplift.Arms {
		wantArms = append(wantArms, a.Arm)
	}
	slices.Sort(wantArms)
	for _, withProd := range []bool{false, true} {
		var prod *learn.Model
		if withProd {
			prod = m
		}
		p, err := gateRows(m, prod, holdout)
		if err != nil || p == nil {
			t.Fatalf("gateRows(production %t) = %v, %v", withProd, p, err)
		}
		var arms []string
		for _, a := range p.Arms {
			arms = append(arms, a.Arm)
			if got := a.ProductionUplift != nil; got != withProd {
				t.Errorf("production %t: arm %s has production uplift: %t", withProd, a.Arm, got)
			}
			if withProd && !slices.Equal(a.ProductionUplift, a.ChallengerUplift) {
				t.Errorf("arm %s: the same model's uplift differs as production", a.Arm)
			}
			treated := 0
			for _, tr := range a.Treated {
				if tr == 1 {
					treated++
				}
			}
			if treated == 0 || treated == len(a.Treated) {
				t.Errorf("arm %s: %d of %d rows treated", a.Arm, treated, len(a.Treated))
			}
		}
		if !slices.Equal(arms, wantArms) || len(wantArms) < 2 {
			t.Errorf("production %t: paired arms %q, want every arm %q", withProd, arms, wantArms)
		}
	}
}

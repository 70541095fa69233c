package learn_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/synth"
)

// Bounds of the calibration acceptance test. The response models see
// about 6700 rows per arm, so the mean of an arm's predicted uplift has a
// sampling error near 0.006; ECE over deciles of 20000 rows has a floor
// near 0.005 from the outcomes alone.
const (
	upliftTolerance = 0.01
	maxECE          = 0.03
)

// TestCalibratedWhateverTheGrid fits every setting of the default grid
// alone on generated data and checks, on fresh rows from another seed,
// that each arm's mean predicted uplift is within upliftTolerance of the
// generator's true mean uplift and that the propensity is calibrated.
// Class weights must not bias the probabilities.
func TestCalibratedWhateverTheGrid(t *testing.T) {
	train := synth.Generate(synth.Config{Rows: 20000, Seed: 3})
	fresh := synth.Generate(synth.Config{Rows: 20000, Seed: 4})
	for _, c := range []float64{0.01, 0.1, 1, 10} {
		for _, cw := range []learn.ClassWeight{{}, {Balanced: true}} {
			for _, sel := range []float64{0, 0.01} {
				name := fmt.Sprintf("C=%g/%v/select=%g", c, cw, sel)
				t.Run(name, func(t *testing.T) {
					cfg := learn.TrainConfig{Seed: 1, Cs: []float64{c}, ClassWeights: []learn.ClassWeight{cw}, SelectThresholds: []float64{sel}}
					m, err := learn.Train(train, synth.Schema(), cfg)
					if err != nil {
						t.Fatal(err)
					}
					truth, err := learn.CompareUpliftTruth(m, fresh)
					if err != nil {
						t.Fatal(err)
					}
					if len(truth) != len(synth.DefaultArms)-1 {
						t.Fatalf("truth for %d arms, want %d", len(truth), len(synth.DefaultArms)-1)
					}
					for _, at := range truth {
						if d := math.Abs(at.PredictedMeanUplift - at.TrueMeanUplift); d > upliftTolerance {
							t.Errorf("%s: predicted mean uplift %.4f, true %.4f (diff %.4f > %v)", at.Arm, at.PredictedMeanUplift, at.TrueMeanUplift, d, upliftTolerance)
						}
					}
					met, err := learn.Evaluate(m, fresh)
					if err != nil {
						t.Fatal(err)
					}
					if met.ECE > maxECE {
						t.Errorf("ECE = %.4f, want <= %v", met.ECE, maxECE)
					}
					t.Logf("ECE %.4f; uplift %+v", met.ECE, truth)
				})
			}
		}
	}
}

// TestThresholdChosenOnValidation checks that the default grid and rule
// choose a threshold other than 0.5 on data with a 15 % positive rate,
// where 0.5 calls nobody positive, and that its decisions find positives.
func TestThresholdChosenOnValidation(t *testing.T) {
	train := synth.Generate(synth.Config{Rows: 20000, Seed: 3})
	fresh := synth.Generate(synth.Config{Rows: 20000, Seed: 4})
	m, err := learn.Train(train, synth.Schema(), learn.TrainConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if m.Settings.Threshold == 0.5 || m.Settings.ThresholdRule != learn.ThresholdF1 {
		t.Errorf("threshold %v by rule %q, want one chosen by f1", m.Settings.Threshold, m.Settings.ThresholdRule)
	}
	met, err := learn.Evaluate(m, fresh)
	if err != nil {
		t.Fatal(err)
	}
	if a := met.AtThreshold; a.Threshold != m.Settings.Threshold || !(a.Precision > 0) || !(a.Recall > 0) {
		t.Errorf("at the chosen threshold: %+v, want it at %v with positive precision and recall", a, m.Settings.Threshold)
	}
	t.Logf("settings %+v; at threshold %+v; top-k %+v", m.Settings, met.AtThreshold, met.TopK)
}

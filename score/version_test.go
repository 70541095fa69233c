package score

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/synth"
)

func TestWithoutArms(t *testing.T) {
	m := stacktest.TrainUplift(t, 1)
	all := stacktest.ArmNames(m)
	if len(all) < 2 {
		t.Fatalf("fixture model has arms %q, want at least two", all)
	}
	tests := []struct {
		name        string
		off         []string
		wantArms    []string
		wantRemoved []string
	}{
		{"no verdict", nil, all, nil},
		{"one arm off", []string{all[0]}, all[1:], all[:1]},
		{"every arm off", all, nil, slices.Sorted(slices.Values(all))},
		{"an arm the model lacks", []string{"Kids E-Mail"}, all, nil},
	}
	rows := synth.Generate(synth.Config{Rows: 5, Seed: 3})
	full, err := m.ScoreTable(rows)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, removed := WithoutArms(m, tt.off)
			if gotArms := stacktest.ArmNames(got); !slices.Equal(gotArms, tt.wantArms) || !slices.Equal(removed, tt.wantRemoved) {
				t.Errorf("WithoutArms(%q) = arms %q, removed %q; want %q, removed %q", tt.off, gotArms, removed, tt.wantArms, tt.wantRemoved)
			}
			if !slices.Equal(stacktest.ArmNames(m), all) {
				t.Errorf("WithoutArms changed the loaded model: arms %q", stacktest.ArmNames(m))
			}
			scores, err := got.ScoreTable(rows)
			if err != nil {
				t.Fatal(err)
			}
			for i, sc := range scores {
				if sc.Propensity != full[i].Propensity {
					t.Errorf("row %d: propensity %g, want %g", i, sc.Propensity, full[i].Propensity)
				}
				var offered []string
				for arm, u := range sc.Uplift {
					offered = append(offered, arm)
					if u != full[i].Uplift[arm] {
						t.Errorf("row %d arm %s: uplift %g, want %g", i, arm, u, full[i].Uplift[arm])
					}
				}
				if want := slices.Sorted(slices.Values(tt.wantArms)); !slices.Equal(slices.Sorted(slices.Values(offered)), want) {
					t.Errorf("row %d: scored arms %q, want %q", i, offered, want)
				}
			}
		})
	}
}

// TestLoadVersionReadsVerdict stores a verdict disabling an arm with a
// version and checks LoadVersion drops it, while a version without a
// verdict keeps every arm.
func TestLoadVersionReadsVerdict(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	off := stacktest.ArmNames(f.models[f.v2])[0]
	v := gate.Verdict{Model: modelName, Version: f.v2, Pass: true, DisabledArms: []string{off},
		Checks: []gate.Check{{Name: "qini_positive[" + off + "]", Arm: off, Op: ">"}}}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.reg.AddArtifact(ctx, modelName, f.v2, registry.VerdictArtifact, data); err != nil {
		t.Fatal(err)
	}
	m, disabled, err := LoadVersion(ctx, f.reg, modelName, f.v2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(disabled, []string{off}) || slices.Contains(stacktest.ArmNames(m), off) {
		t.Errorf("LoadVersion v%d = arms %q, disabled %q; want %s dropped", f.v2, stacktest.ArmNames(m), disabled, off)
	}
	m, disabled, err = LoadVersion(ctx, f.reg, modelName, f.v1)
	if err != nil || disabled != nil || !slices.Equal(stacktest.ArmNames(m), stacktest.ArmNames(f.models[f.v1])) {
		t.Errorf("LoadVersion v%d without verdict = arms %q, disabled %q, %v; want every arm", f.v1, stacktest.ArmNames(m), disabled, err)
	}
	if _, _, err := LoadVersion(ctx, f.reg, modelName, 99); err == nil {
		t.Error("LoadVersion of a missing version: no error")
	}
}

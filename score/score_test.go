package score

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/synth"
)

const modelName = "hillstrom"

// trainUplift trains a small uplift model on generated rows.
func trainUplift(t *testing.T, seed int64) *learn.Model {
	t.Helper()
	cfg := learn.TrainConfig{Seed: seed, Cs: []float64{1}, ClassWeights: []learn.ClassWeight{{}}, SelectThresholds: []float64{0}, CorrLimit: 1}
	m, err := learn.Train(synth.Generate(synth.Config{Rows: 3000, Seed: seed}), synth.Schema(), cfg)
	if err != nil {
		t.Fatalf("train: %v", err)
	}
	return m
}

func armNames(m *learn.Model) []string {
	var out []string
	for _, a := range m.Uplift.Arms {
		out = append(out, a.Arm)
	}
	return out
}

// fixture is a registry on the real MinIO holding two trained versions of
// modelName, production at the first.
type fixture struct {
	reg    *registry.Registry
	models map[int]*learn.Model // by version
	v1, v2 int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	mc := stacktest.MinIO(t)
	f := &fixture{reg: registry.New(mc, stacktest.Bucket(t, mc)), models: map[int]*learn.Model{}}
	for i, v := range []*int{&f.v1, &f.v2} {
		m := trainUplift(t, int64(i+1))
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		man, err := f.reg.Register(ctx, registry.RegisterRequest{
			Model: modelName, RunID: fmt.Sprintf("run-%d", i), Schema: m.Schema,
			Artifacts: map[string][]byte{registry.ModelArtifact: data},
		})
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		f.models[man.Version], *v = m, man.Version
	}
	if _, err := f.reg.Promote(ctx, registry.MoveRequest{Model: modelName, To: f.v1, Actor: "test", Reason: "fixture"}); err != nil {
		t.Fatalf("promote v%d: %v", f.v1, err)
	}
	return f
}

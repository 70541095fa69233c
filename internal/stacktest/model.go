package stacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/synth"
)

// ModelConfig is the configuration of a model fed by the source of the
// same name with synth's schema, a three-day window and gate limits that
// synth's data passes; approval makes promotions wait for a person.
func ModelConfig(model string, approval bool) map[string]any {
	cfg := map[string]any{
		"name": model, "source": model, "window_days": 3,
		"clean": map[string]any{"schema": synth.Schema(), "max_rows_per_customer_day": 5},
		"train": map[string]any{"seed": 7, "c": []float64{0.1, 1}, "balanced": []bool{false}},
		// Each arm is judged alone: a test day's holdout (a few hundred rows
		// per arm) cannot show an arm's Qini above zero with 95 %
		// confidence, so the tests disable a weak arm rather than fail
		// the version, and ask only for a Qini lower bound above -1.
		"gate": map[string]any{"min_rows": 200, "min_auc": 0.55, "max_calibration_error": 0.1, "arms": "any", "min_qini": -1},
	}
	if approval {
		cfg["approval"] = map[string]any{"required": true, "timeout": "10m"}
	}
	return cfg
}

// WriteModelConfig writes dir/<model>.yaml with ModelConfig.
func WriteModelConfig(t testing.TB, dir, model string, approval bool) {
	t.Helper()
	WriteConfig(t, dir, model, ModelConfig(model, approval))
}

// WriteConfig writes cfg as dir/<model>.yaml.
func WriteConfig(t testing.TB, dir, model string, cfg map[string]any) {
	t.Helper()
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, model+".yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TrainUplift trains a small uplift model on 3,000 rows generated with seed
// (one grid point, every feature kept), for tests that need a real model.
func TrainUplift(t testing.TB, seed int64) *learn.Model {
	t.Helper()
	cfg := learn.TrainConfig{Seed: seed, Cs: []float64{1}, ClassWeights: []learn.ClassWeight{{}}, SelectThresholds: []float64{0}, CorrLimit: 1}
	m, err := learn.Train(synth.Generate(synth.Config{Rows: 3000, Seed: seed}), synth.Schema(), cfg)
	if err != nil {
		t.Fatalf("train: %v", err)
	}
	return m
}

// ArmNames lists the treatment arms of m's uplift part, in order.
func ArmNames(m *learn.Model) []string {
	var out []string
	for _, a := range m.Uplift.Arms {
		out = append(out, a.Arm)
	}
	return out
}

// Versions is a registry on the real MinIO holding two versions of one
// model, trained by TrainUplift with seeds 1 and 2.
type Versions struct {
	Registry *registry.Registry
	Models   map[int]*learn.Model // by version
	V1, V2   int
}

// TwoVersions registers two trained versions of model in a bucket of its
// own; no alias points at them yet.
func TwoVersions(t testing.TB, model string) *Versions {
	t.Helper()
	ctx := context.Background()
	mc := MinIO(t)
	v := &Versions{Registry: registry.New(mc, Bucket(t, mc)), Models: map[int]*learn.Model{}}
	for i, n := range []*int{&v.V1, &v.V2} {
		m := TrainUplift(t, int64(i+1))
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		man, err := v.Registry.Register(ctx, registry.RegisterRequest{
			Model: model, RunID: fmt.Sprintf("run-%d", i), Schema: m.Schema,
			Artifacts: map[string][]byte{registry.ModelArtifact: data},
		})
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		v.Models[man.Version], *n = m, man.Version
	}
	return v
}

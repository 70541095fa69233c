package score

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
)

const modelName = "hillstrom"

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
		m := stacktest.TrainUplift(t, int64(i+1))
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

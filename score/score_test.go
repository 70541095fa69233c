package score

import (
	"context"
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
	v := stacktest.TwoVersions(t, modelName)
	if _, err := v.Registry.Promote(context.Background(), registry.MoveRequest{Model: modelName, To: v.V1, Actor: "test", Reason: "fixture"}); err != nil {
		t.Fatalf("promote v%d: %v", v.V1, err)
	}
	return &fixture{reg: v.Registry, models: v.Models, v1: v.V1, v2: v.V2}
}

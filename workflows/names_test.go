package workflows

import (
	"testing"

	"github.com/promoflow/promoflow/registry"
)

// TestProductionAliasIsTheRegistrys keeps the alias workflows move the one
// the registry and the scoring service follow.
func TestProductionAliasIsTheRegistrys(t *testing.T) {
	if got, want := ProductionAlias, registry.Production; got != want {
		t.Errorf("ProductionAlias = %q, want registry.Production %q", got, want)
	}
}

package score

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
)

// LoadVersion loads a verified version of model for scoring or
// allocation: its model.json without the uplift arms its gate verdict
// (verdict.json, the version's first) disabled, so they are never
// offered. disabled lists the arms removed, sorted; a version without a
// verdict keeps every arm. Every path that scores or allocates with a
// registered version loads it here.
func LoadVersion(ctx context.Context, reg *registry.Registry, model string, version int) (m *learn.Model, disabled []string, err error) {
	_, arts, err := reg.Load(ctx, model, version)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s v%d: %w", model, version, err)
	}
	m, err = learn.Load(arts[registry.ModelArtifact])
	if err != nil {
		return nil, nil, fmt.Errorf("load %s v%d: %w", model, version, err)
	}
	verdict, ok := arts[registry.VerdictArtifact]
	if !ok {
		verdict, err = reg.Artifact(ctx, model, version, registry.VerdictArtifact)
		if errors.Is(err, registry.ErrNotFound) {
			return m, nil, nil
		}
		if err != nil {
			// Without the verdict nobody knows which arms may be offered.
			return nil, nil, fmt.Errorf("load %s v%d: %w", model, version, err)
		}
	}
	var v gate.Verdict
	if err := json.Unmarshal(verdict, &v); err != nil {
		return nil, nil, fmt.Errorf("load %s v%d: %s: %w", model, version, registry.VerdictArtifact, err)
	}
	m, disabled = WithoutArms(m, v.DisabledArms)
	return m, disabled, nil
}

// WithoutArms returns m without the uplift arms named in off, and the
// arms it removed, sorted. m itself is not changed.
func WithoutArms(m *learn.Model, off []string) (*learn.Model, []string) {
	if m.Uplift == nil || len(off) == 0 {
		return m, nil
	}
	u := *m.Uplift
	u.Arms = nil
	var removed []string
	for _, a := range m.Uplift.Arms {
		if slices.Contains(off, a.Arm) {
			removed = append(removed, a.Arm)
		} else {
			u.Arms = append(u.Arms, a)
		}
	}
	if removed == nil {
		return m, nil
	}
	slices.Sort(removed)
	out := *m
	out.Uplift = &u
	return &out, removed
}

package registry

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/promoflow/promoflow/schema"
)

// CoefficientsFunc extracts a model's coefficients by name from its
// model.json. The format belongs to the training code, so Diff's caller
// supplies it.
type CoefficientsFunc func(modelJSON []byte) (map[string]float64, error)

// Delta compares one named number between version A and version B. A or B
// is nil when the name is absent from that version; Delta is B-A when both
// are present.
type Delta struct {
	Name  string   `json:"name"`
	A     *float64 `json:"a"`
	B     *float64 `json:"b"`
	Delta *float64 `json:"delta"`
}

// ColumnChange is a schema column present in both versions but declared
// differently.
type ColumnChange struct {
	Name string        `json:"name"`
	A    schema.Column `json:"a"`
	B    schema.Column `json:"b"`
}

// SchemaDiff lists the column differences from version A to version B.
type SchemaDiff struct {
	Added   []schema.Column `json:"added,omitempty"`
	Removed []schema.Column `json:"removed,omitempty"`
	Changed []ColumnChange  `json:"changed,omitempty"`
}

// Empty reports whether the schemas are the same.
func (d SchemaDiff) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0
}

// VersionDiff compares two versions of a model.
type VersionDiff struct {
	Model    string     `json:"model"`
	A        Manifest   `json:"-"`
	B        Manifest   `json:"-"`
	VersionA int        `json:"version_a"`
	VersionB int        `json:"version_b"`
	Metrics  []Delta    `json:"metrics"`
	Schema   SchemaDiff `json:"schema"`
	// Coefficients is nil when Diff was given no CoefficientsFunc.
	Coefficients []Delta `json:"coefficients,omitempty"`
}

// Diff compares versions a and b of a model: metrics, schema columns and,
// when coef is not nil, the coefficients it extracts from each model.json
// (loaded with checksums verified).
func (r *Registry) Diff(ctx context.Context, model string, a, b int, coef CoefficientsFunc) (*VersionDiff, error) {
	ma, err := r.Manifest(ctx, model, a)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	mb, err := r.Manifest(ctx, model, b)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	d := &VersionDiff{
		Model:    model,
		A:        *ma,
		B:        *mb,
		VersionA: a,
		VersionB: b,
		Metrics:  deltas(ma.Metrics, mb.Metrics),
		Schema:   diffSchema(ma.Schema, mb.Schema),
	}
	if coef == nil {
		return d, nil
	}
	ca, err := r.coefficients(ctx, model, a, coef)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	cb, err := r.coefficients(ctx, model, b, coef)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	d.Coefficients = deltas(ca, cb)
	return d, nil
}

func (r *Registry) coefficients(ctx context.Context, model string, v int, coef CoefficientsFunc) (map[string]float64, error) {
	data, err := r.Artifact(ctx, model, v, ModelArtifact)
	if err != nil {
		return nil, err
	}
	c, err := coef(data)
	if err != nil {
		return nil, fmt.Errorf("coefficients of model %s v%d: %w", model, v, err)
	}
	return c, nil
}

// deltas compares two named sets of numbers, sorted by name.
func deltas(a, b map[string]float64) []Delta {
	names := map[string]bool{}
	for k := range a {
		names[k] = true
	}
	for k := range b {
		names[k] = true
	}
	out := make([]Delta, 0, len(names))
	for _, n := range slices.Sorted(maps.Keys(names)) {
		d := Delta{Name: n}
		if v, ok := a[n]; ok {
			d.A = &v
		}
		if v, ok := b[n]; ok {
			d.B = &v
		}
		if d.A != nil && d.B != nil {
			x := *d.B - *d.A
			d.Delta = &x
		}
		out = append(out, d)
	}
	return out
}

func diffSchema(a, b schema.Schema) SchemaDiff {
	inA := make(map[string]schema.Column, len(a.Columns))
	for _, c := range a.Columns {
		inA[c.Name] = c
	}
	inB := make(map[string]bool, len(b.Columns))
	var d SchemaDiff
	for _, c := range b.Columns {
		inB[c.Name] = true
		old, ok := inA[c.Name]
		switch {
		case !ok:
			d.Added = append(d.Added, c)
		case !reflect.DeepEqual(old, c):
			d.Changed = append(d.Changed, ColumnChange{Name: c.Name, A: old, B: c})
		}
	}
	for _, c := range a.Columns {
		if !inB[c.Name] {
			d.Removed = append(d.Removed, c)
		}
	}
	return d
}

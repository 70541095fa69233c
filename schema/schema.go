// Package schema declares the columns of a model's data set: what each column
// is for (feature, target, treatment, id) and what values it may hold. The
// training pipeline reads the kinds; the cleaning step enforces the ranges.
package schema

import (
	"fmt"
	"math"
	"strings"
)

// Kind says what a column is used for.
type Kind string

// The column kinds a schema may declare.
const (
	Numeric     Kind = "numeric"     // a real-valued feature
	Categorical Kind = "categorical" // a feature with named levels
	Flag        Kind = "flag"        // a 0/1 feature
	Target      Kind = "target"      // the label to predict
	Treatment   Kind = "treatment"   // the offer arm a customer received
	ID          Kind = "id"          // a customer key, never a feature
	Ignore      Kind = "ignore"      // carried but unused
)

// Column declares one column of the data.
type Column struct {
	Name string `json:"name" yaml:"name"`
	Kind Kind   `json:"kind" yaml:"kind"`
	// Required columns may not be empty in a clean row.
	Required bool `json:"required,omitempty" yaml:"required,omitempty"`
	// Min and Max bound numeric and flag values when set.
	Min *float64 `json:"min,omitempty" yaml:"min,omitempty"`
	Max *float64 `json:"max,omitempty" yaml:"max,omitempty"`
	// Levels, when set, lists the allowed values of a categorical,
	// target or treatment column.
	Levels []string `json:"levels,omitempty" yaml:"levels,omitempty"`
	// Positive is the target value counted as 1 (default "1").
	Positive string `json:"positive,omitempty" yaml:"positive,omitempty"`
	// Control is the treatment value of the control arm.
	Control string `json:"control,omitempty" yaml:"control,omitempty"`
}

// PositiveLabel is the target value counted as 1: Positive, or "1" when
// none is declared.
func (c Column) PositiveLabel() string {
	if c.Positive == "" {
		return "1"
	}
	return c.Positive
}

// Schema is the ordered list of a data set's columns.
type Schema struct {
	Columns []Column `json:"columns" yaml:"columns"`
}

// Validate checks that the schema is usable: unique names, known kinds,
// exactly one target, at most one treatment and one id, Min <= Max.
func (s Schema) Validate() error {
	seen := make(map[string]bool, len(s.Columns))
	counts := map[Kind]int{}
	for i, c := range s.Columns {
		if strings.TrimSpace(c.Name) == "" {
			return fmt.Errorf("schema column %d: empty name", i+1)
		}
		if seen[c.Name] {
			return fmt.Errorf("schema column %q: declared twice", c.Name)
		}
		seen[c.Name] = true
		switch c.Kind {
		case Numeric, Categorical, Flag, Target, Treatment, ID, Ignore:
		default:
			return fmt.Errorf("schema column %q: unknown kind %q", c.Name, c.Kind)
		}
		counts[c.Kind]++
		if c.Min != nil && c.Max != nil && (math.IsNaN(*c.Min) || math.IsNaN(*c.Max) || *c.Min > *c.Max) {
			return fmt.Errorf("schema column %q: min %v above max %v", c.Name, *c.Min, *c.Max)
		}
	}
	if counts[Target] != 1 {
		return fmt.Errorf("schema: want exactly one target column, have %d", counts[Target])
	}
	if counts[Treatment] > 1 {
		return fmt.Errorf("schema: want at most one treatment column, have %d", counts[Treatment])
	}
	if counts[ID] > 1 {
		return fmt.Errorf("schema: want at most one id column, have %d", counts[ID])
	}
	return nil
}

// Lookup returns the column with the given name.
func (s Schema) Lookup(name string) (Column, bool) {
	for _, c := range s.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Names returns the column names in declared order.
func (s Schema) Names() []string {
	out := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		out[i] = c.Name
	}
	return out
}

// OfKind returns the columns of one kind in declared order.
func (s Schema) OfKind(k Kind) []Column {
	var out []Column
	for _, c := range s.Columns {
		if c.Kind == k {
			out = append(out, c)
		}
	}
	return out
}

// IsFeature reports whether columns of kind k feed the model.
func (k Kind) IsFeature() bool {
	return k == Numeric || k == Categorical || k == Flag
}

package learn

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/schema"
)

// InferOptions names the roles of columns for InferSchema.
type InferOptions struct {
	Target string
	// Positive is the target value counted as 1; empty means "yes" or
	// "true" when the target holds only those words and their opposites
	// (any case), else "1".
	Positive  string
	Treatment string // optional treatment column
	Control   string // control value of the treatment column
	ID        string // optional id column
	Drop      []string
}

// InferSchema declares a schema for tbl: the named target, treatment and id
// columns, dropped columns as ignore, and every other column numeric when
// each non-empty value parses as a number, else categorical.
func InferSchema(tbl *dataset.Table, opts InferOptions) (schema.Schema, error) {
	named := map[string]string{opts.Target: "target"}
	if opts.Treatment != "" {
		named[opts.Treatment] = "treatment"
		if opts.Control == "" {
			return schema.Schema{}, fmt.Errorf("infer schema: treatment column %q needs a control value", opts.Treatment)
		}
	}
	if opts.ID != "" {
		named[opts.ID] = "id"
	}
	for _, d := range opts.Drop {
		named[d] = "dropped"
	}
	for name, role := range named {
		if _, ok := tbl.Col(name); !ok {
			return schema.Schema{}, fmt.Errorf("infer schema: %s column %q not in header %q", role, name, tbl.Header)
		}
	}
	var sch schema.Schema
	for j, name := range tbl.Header {
		c := schema.Column{Name: name}
		switch {
		case name == opts.Target:
			c.Kind, c.Positive = schema.Target, opts.Positive
			if c.Positive == "" {
				c.Positive = guessPositive(tbl, j)
			}
		case name == opts.Treatment:
			c.Kind, c.Control = schema.Treatment, opts.Control
		case name == opts.ID:
			c.Kind = schema.ID
		case slices.Contains(opts.Drop, name):
			c.Kind = schema.Ignore
		case numericColumn(tbl, j):
			c.Kind = schema.Numeric
		default:
			c.Kind = schema.Categorical
		}
		sch.Columns = append(sch.Columns, c)
	}
	if err := sch.Validate(); err != nil {
		return schema.Schema{}, fmt.Errorf("infer schema: %w", err)
	}
	return sch, nil
}

// numericColumn reports whether every non-empty value of column j parses
// as a float.
func numericColumn(tbl *dataset.Table, j int) bool {
	for _, r := range tbl.Rows {
		v := strings.TrimSpace(r[j])
		if v == "" {
			continue
		}
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return false
		}
	}
	return true
}

// guessPositive picks the positive label of a yes/no or true/false column
// (in the case used by the data), else "1".
func guessPositive(tbl *dataset.Table, j int) string {
	vals := map[string]string{}
	for _, r := range tbl.Rows {
		if v := strings.TrimSpace(r[j]); v != "" {
			vals[strings.ToLower(v)] = v
		}
	}
	for _, pair := range [][2]string{{"yes", "no"}, {"true", "false"}} {
		ok := len(vals) > 0
		for k := range vals {
			if k != pair[0] && k != pair[1] {
				ok = false
			}
		}
		if ok {
			if v, present := vals[pair[0]]; present {
				return v
			}
			return pair[0]
		}
	}
	return "1"
}

// Package clean holds promoflow's cleaning rules: what a day's rows are
// checked against, the rule that quarantines a row and why, and the
// per-column statistics of a checked day. It is pure; store applies it to
// the ingested rows inside one transaction.
package clean

import (
	"errors"
	"fmt"

	"github.com/promoflow/promoflow/schema"
)

// Rule names the cleaning rule that quarantined a row.
type Rule string

// The cleaning rules, in the order they are tried: a row is quarantined by
// the first one that fails.
const (
	RuleType      Rule = "type"      // not a number, or a flag other than 0/1
	RuleNaN       Rule = "nan"       // NaN or ±Inf
	RuleRequired  Rule = "required"  // a required column (or the customer id) is empty
	RuleRange     Rule = "range"     // outside the column's Min/Max
	RuleLevel     Rule = "level"     // not one of the column's Levels
	RuleScalper   Rule = "scalper"   // over a configured limit: a column value or rows per customer and day
	RuleDuplicate Rule = "duplicate" // a second row of the same customer on the same day
)

// Rules lists every rule in the order they are tried.
var Rules = []Rule{RuleType, RuleNaN, RuleRequired, RuleRange, RuleLevel, RuleScalper, RuleDuplicate}

// Limit is a scalper rule on one column: a value above Max (say, orders or
// redemptions of one customer in a day) quarantines the row.
type Limit struct {
	Column string  `json:"column" yaml:"column"`
	Max    float64 `json:"max" yaml:"max"`
}

// Config is what a day's rows are checked against.
type Config struct {
	// Schema declares the columns, their kinds, Required, Min/Max and Levels.
	Schema schema.Schema `json:"schema" yaml:"schema"`
	// CustomerColumn keys duplicates and per-customer limits; empty means
	// the schema's id column.
	CustomerColumn string `json:"customer_column" yaml:"customer_column"`
	// MaxRowsPerCustomerDay, when positive, quarantines every row of a
	// customer with more rows than this in one day as a scalper; below it,
	// rows after the customer's first clean row are duplicates.
	MaxRowsPerCustomerDay int `json:"max_rows_per_customer_day" yaml:"max_rows_per_customer_day"`
	// Limits are per-column scalper limits.
	Limits []Limit `json:"limits,omitempty" yaml:"limits,omitempty"`
}

// ErrBadConfig marks a Config that cannot be applied.
var ErrBadConfig = errors.New("bad clean config")

// Customer checks the configuration and returns the name of the customer
// column: CustomerColumn, or the schema's id column when it is empty.
func (c Config) Customer() (string, error) {
	if err := c.Schema.Validate(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	name := c.CustomerColumn
	if name == "" {
		ids := c.Schema.OfKind(schema.ID)
		if len(ids) == 0 {
			return "", fmt.Errorf("%w: no customer column and the schema has no id column", ErrBadConfig)
		}
		name = ids[0].Name
	}
	if _, ok := c.Schema.Lookup(name); !ok {
		return "", fmt.Errorf("%w: customer column %q is not in the schema", ErrBadConfig, name)
	}
	for _, l := range c.Limits {
		if _, ok := c.Schema.Lookup(l.Column); !ok {
			return "", fmt.Errorf("%w: limit on %q: not in the schema", ErrBadConfig, l.Column)
		}
	}
	return name, nil
}

// columnLimits returns the lowest scalper limit of each limited column.
func (c Config) columnLimits() map[string]float64 {
	out := map[string]float64{}
	for _, l := range c.Limits {
		if m, ok := out[l.Column]; !ok || l.Max < m {
			out[l.Column] = l.Max
		}
	}
	return out
}

package clean

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/promoflow/promoflow/schema"
)

func ptr(v float64) *float64 { return &v }

var shop = Config{
	Schema: schema.Schema{Columns: []schema.Column{
		{Name: "customer_id", Kind: schema.ID},
		{Name: "age", Kind: schema.Numeric, Required: true, Min: ptr(18), Max: ptr(100)},
		{Name: "orders", Kind: schema.Numeric, Min: ptr(0)},
		{Name: "member", Kind: schema.Flag},
		{Name: "segment", Kind: schema.Categorical, Levels: []string{"new", "loyal"}},
		{Name: "converted", Kind: schema.Target},
	}},
	MaxRowsPerCustomerDay: 3,
	Limits:                []Limit{{Column: "orders", Max: 20}, {Column: "orders", Max: 30}},
}

func TestCheckRules(t *testing.T) {
	tests := []struct {
		name     string
		row      string
		wantRule Rule
		wantCol  string
	}{
		{"clean", "c1,30,1,0,new,1", "", ""},
		{"empty optional values", "c1,30,,,,0", "", ""},
		{"not a number", "c1,abc,1,0,new,0", RuleType, "age"},
		{"flag other than 0/1", "c1,30,1,2,new,0", RuleType, "member"},
		{"NaN", "c1,NaN,1,0,new,0", RuleNaN, "age"},
		{"infinity", "c1,30,+Inf,0,new,0", RuleNaN, "orders"},
		{"required empty", "c1,,1,0,new,0", RuleRequired, "age"},
		{"customer empty", ",30,1,0,new,0", RuleRequired, "customer_id"},
		{"below min", "c1,17.5,1,0,new,0", RuleRange, "age"},
		{"above max", "c1,101,1,0,new,0", RuleRange, "age"},
		{"unknown level", "c1,30,1,0,vip,0", RuleLevel, "segment"},
		{"target not 0/1", "c1,30,1,0,new,yes", RuleLevel, "converted"},
		{"over the lowest column limit", "c1,30,25,0,new,0", RuleScalper, "orders"},
		{"the first failing column wins", "c1,abc,-1,5,vip,0", RuleType, "age"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewChecker(shop, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, ok := c.Check(strings.Split(tt.row, ","))
			if r.Rule != tt.wantRule || r.Column != tt.wantCol || ok != (tt.wantRule == "") {
				t.Errorf("Check(%s) = %+v, %v; want rule %q on %q", tt.row, r, ok, tt.wantRule, tt.wantCol)
			}
			if !ok && r.Detail == "" {
				t.Errorf("Check(%s): no detail", tt.row)
			}
		})
	}
}

// TestCheckCustomers checks a day with c1 twice (a duplicate after its
// first clean row), c9 four times (over the limit of 3: every row a
// scalper) and c2 once.
func TestCheckCustomers(t *testing.T) {
	c, err := NewChecker(shop, map[string]int{"c1": 3, "c9": 4})
	if err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		row  string
		want Rule
	}{
		{"c1,10,1,0,new,0", RuleRange}, // not clean, so c1's next row may be
		{"c1,30,1,0,new,0", ""},
		{"c9,30,1,0,new,0", RuleScalper},
		{"c2,40,3,1,loyal,1", ""},
		{"c1,31,1,0,new,0", RuleDuplicate},
		{"c9,30,1,0,new,0", RuleScalper},
	}
	for i, r := range rows {
		got, ok := c.Check(strings.Split(r.row, ","))
		if got.Rule != r.want || ok != (r.want == "") {
			t.Errorf("row %d (%s): %+v, %v; want rule %q", i, r.row, got, ok, r.want)
		}
	}
	in, clean := c.Rows()
	if in != 6 || clean != 2 {
		t.Errorf("Rows() = %d, %d; want 6, 2", in, clean)
	}
}

// TestColumns checks the summary against hand counts: nulls over every
// row, min, max and mean over the clean rows of numeric and flag columns.
func TestColumns(t *testing.T) {
	c, err := NewChecker(shop, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{"a,30,1,1,new,1", "b,50,,0,,0", "c,40,4,1,new,0", "d,,2,0,new,0"} {
		c.Check(strings.Split(row, ","))
	}
	cols := c.Columns()
	if len(cols) != len(shop.Schema.Columns) {
		t.Fatalf("%d columns, want %d", len(cols), len(shop.Schema.Columns))
	}
	// Clean rows a, b, c: age 30, 50, 40; orders 1, 4 (b empty); member 1, 0, 1.
	tests := []struct {
		i              int
		nulls, count   int64
		nullShare      float64
		min, max, mean float64
		wantStats      bool
	}{
		{0, 0, 0, 0, 0, 0, 0, false},
		{1, 1, 3, 0.25, 30, 50, 40, true},
		{2, 1, 2, 0.25, 1, 4, 2.5, true},
		{3, 0, 3, 0, 0, 1, 2.0 / 3, true},
		{4, 1, 0, 0.25, 0, 0, 0, false},
	}
	for _, tt := range tests {
		got := cols[tt.i]
		if got.Nulls != tt.nulls || got.NullShare != tt.nullShare || got.Count != tt.count {
			t.Errorf("%s: nulls %d share %g count %d; want %d, %g, %d", got.Name, got.Nulls, got.NullShare, got.Count, tt.nulls, tt.nullShare, tt.count)
		}
		if (got.Mean != nil) != tt.wantStats {
			t.Fatalf("%s: stats %v, want %v", got.Name, got.Mean != nil, tt.wantStats)
		}
		if tt.wantStats && (*got.Min != tt.min || *got.Max != tt.max || math.Abs(*got.Mean-tt.mean) > 1e-15) {
			t.Errorf("%s: min %g max %g mean %g; want %g, %g, %g", got.Name, *got.Min, *got.Max, *got.Mean, tt.min, tt.max, tt.mean)
		}
	}
}

func TestCustomer(t *testing.T) {
	noID := schema.Schema{Columns: []schema.Column{{Name: "cust", Kind: schema.Ignore}, {Name: "y", Kind: schema.Target}}}
	tests := []struct {
		name    string
		cfg     Config
		want    string
		wantErr bool
	}{
		{"the id column", shop, "customer_id", false},
		{"a named column", Config{Schema: noID, CustomerColumn: "cust"}, "cust", false},
		{"no id column", Config{Schema: noID}, "", true},
		{"a column not in the schema", Config{Schema: noID, CustomerColumn: "nope"}, "", true},
		{"a limit on a column not in the schema", Config{Schema: shop.Schema, Limits: []Limit{{Column: "nope", Max: 1}}}, "", true},
		{"an invalid schema", Config{Schema: schema.Schema{Columns: []schema.Column{{Name: "x", Kind: schema.Numeric}}}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.Customer()
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("Customer() = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrBadConfig) {
				t.Errorf("error %v is not ErrBadConfig", err)
			}
		})
	}
}

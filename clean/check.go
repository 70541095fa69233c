package clean

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/promoflow/promoflow/schema"
)

// Reason says why a row was quarantined: the rule it failed, the column
// and a detail for people.
type Reason struct {
	Rule   Rule
	Column string
	Detail string
}

// Checker classifies the rows of one day, one row at a time, and keeps
// the day's column statistics.
type Checker struct {
	cfg    Config
	cust   int // schema index of the customer column
	limits map[string]float64
	// multi holds the customers with more than one row in the day and
	// their row counts; seen the ones among them already kept clean.
	multi map[string]int
	seen  map[string]bool

	rowsIn, clean int64
	nulls         []int64
	stats         []numStats
}

// numStats accumulates min, max and mean of one column.
type numStats struct {
	n             int64
	min, max, sum float64
}

// NewChecker checks cfg and returns a checker for one day. multi holds
// the row count of every customer with more than one row that day: the
// scalper limit and the duplicate rule need the whole day's counts before
// the first row is checked.
func NewChecker(cfg Config, multi map[string]int) (*Checker, error) {
	name, err := cfg.Customer()
	if err != nil {
		return nil, err
	}
	cust := slices.IndexFunc(cfg.Schema.Columns, func(c schema.Column) bool { return c.Name == name })
	return &Checker{
		cfg: cfg, cust: cust, limits: cfg.columnLimits(), multi: multi, seen: map[string]bool{},
		nulls: make([]int64, len(cfg.Schema.Columns)),
		stats: make([]numStats, len(cfg.Schema.Columns)),
	}, nil
}

// Check classifies one row, its values in schema order. It returns true
// when the row is clean; otherwise the reason of the first rule it fails.
func (c *Checker) Check(row []string) (Reason, bool) {
	c.rowsIn++
	for i, v := range row {
		if v == "" {
			c.nulls[i]++
		}
	}
	if r, bad := c.checkValues(row); bad {
		return r, false
	}
	if r, bad := c.checkCustomer(row[c.cust]); bad {
		return r, false
	}
	c.clean++
	c.addStats(row)
	return Reason{}, true
}

// checkValues applies the column rules and the column limits.
func (c *Checker) checkValues(row []string) (Reason, bool) {
	for i, col := range c.cfg.Schema.Columns {
		if rule, detail := checkValue(col, row[i], i == c.cust); rule != "" {
			return Reason{Rule: rule, Column: col.Name, Detail: detail}, true
		}
	}
	for i, col := range c.cfg.Schema.Columns {
		max, ok := c.limits[col.Name]
		if !ok || row[i] == "" {
			continue
		}
		if v, err := strconv.ParseFloat(row[i], 64); err == nil && v > max {
			return Reason{Rule: RuleScalper, Column: col.Name, Detail: fmt.Sprintf("%s %s above the limit %g", col.Name, row[i], max)}, true
		}
	}
	return Reason{}, false
}

// checkCustomer applies the rows-per-customer limit and the duplicate
// rule: of a customer with several rows (within the limit), only the
// first row that passes the other rules is clean.
func (c *Checker) checkCustomer(cust string) (Reason, bool) {
	n, many := c.multi[cust]
	if !many {
		return Reason{}, false
	}
	col := c.cfg.Schema.Columns[c.cust].Name
	if lim := c.cfg.MaxRowsPerCustomerDay; lim > 0 && n > lim {
		return Reason{Rule: RuleScalper, Column: col, Detail: fmt.Sprintf("customer %q has %d rows in the day, limit %d", cust, n, lim)}, true
	}
	if c.seen[cust] {
		return Reason{Rule: RuleDuplicate, Column: col, Detail: fmt.Sprintf("customer %q already has a clean row this day", cust)}, true
	}
	c.seen[cust] = true
	return Reason{}, false
}

// addStats adds a clean row to the numeric and flag columns' statistics.
func (c *Checker) addStats(row []string) {
	for i, col := range c.cfg.Schema.Columns {
		if col.Kind != schema.Numeric && col.Kind != schema.Flag || row[i] == "" {
			continue
		}
		v, _ := strconv.ParseFloat(row[i], 64)
		st := &c.stats[i]
		if st.n == 0 || v < st.min {
			st.min = v
		}
		if st.n == 0 || v > st.max {
			st.max = v
		}
		st.n++
		st.sum += v
	}
}

// checkValue applies the column rules to one value and returns the rule
// that failed with a detail, or "" when the value is fine.
func checkValue(col schema.Column, v string, isCustomer bool) (Rule, string) {
	if v == "" {
		if col.Required || isCustomer {
			return RuleRequired, col.Name + " is empty"
		}
		return "", ""
	}
	switch col.Kind {
	case schema.Numeric, schema.Flag:
		return checkNumber(col, v)
	case schema.Categorical, schema.Target, schema.Treatment:
		levels := col.Levels
		if len(levels) == 0 && col.Kind == schema.Target && col.PositiveLabel() == "1" {
			levels = []string{"0", "1"}
		}
		if len(levels) > 0 && !slices.Contains(levels, v) {
			return RuleLevel, fmt.Sprintf("%s %q is not one of %s", col.Name, v, strings.Join(levels, ", "))
		}
	}
	return "", ""
}

// checkNumber applies the rules of a numeric or flag column to a value.
func checkNumber(col schema.Column, v string) (Rule, string) {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return RuleType, fmt.Sprintf("%s %q is not a number", col.Name, v)
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return RuleNaN, fmt.Sprintf("%s is %s", col.Name, v)
	}
	if col.Kind == schema.Flag && x != 0 && x != 1 {
		return RuleType, fmt.Sprintf("flag %s is %s, want 0 or 1", col.Name, v)
	}
	if col.Min != nil && x < *col.Min {
		return RuleRange, fmt.Sprintf("%s %s below min %g", col.Name, v, *col.Min)
	}
	if col.Max != nil && x > *col.Max {
		return RuleRange, fmt.Sprintf("%s %s above max %g", col.Name, v, *col.Max)
	}
	return "", ""
}

// Rows returns how many rows were checked and how many of them are clean.
func (c *Checker) Rows() (in, clean int64) { return c.rowsIn, c.clean }

// ColumnSummary describes one column of a day: its empty values among all
// rows in, and for numeric and flag columns min, max and mean over the
// clean rows.
type ColumnSummary struct {
	Name      string   `json:"name"`
	Nulls     int64    `json:"nulls"`
	NullShare float64  `json:"null_share"`
	Count     int64    `json:"count,omitempty"`
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	Mean      *float64 `json:"mean,omitempty"`
}

// Columns summarises every schema column over the rows checked so far.
func (c *Checker) Columns() []ColumnSummary {
	var out []ColumnSummary
	for i, col := range c.cfg.Schema.Columns {
		cs := ColumnSummary{Name: col.Name, Nulls: c.nulls[i]}
		if c.rowsIn > 0 {
			cs.NullShare = float64(c.nulls[i]) / float64(c.rowsIn)
		}
		if st := c.stats[i]; st.n > 0 {
			mean := st.sum / float64(st.n)
			cs.Count, cs.Min, cs.Max, cs.Mean = st.n, &st.min, &st.max, &mean
		}
		out = append(out, cs)
	}
	return out
}

package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/promoflow/promoflow/dataset"
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

// CleanConfig is what a day's rows are checked against.
type CleanConfig struct {
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

// ErrBadConfig marks a CleanConfig that cannot be applied.
var ErrBadConfig = errors.New("bad clean config")

// customerColumn resolves and checks the configuration.
func (c CleanConfig) customerColumn() (string, error) {
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

// ErrNoFiles is returned by Clean for a day with no ingested file.
var ErrNoFiles = errors.New("no file ingested for this source and day")

// CleanResult reports one day's cleaning.
type CleanResult struct {
	Source      string
	Day         time.Time
	RowsIn      int64
	Clean       int64
	Quarantined int64
	// ByRule counts quarantined rows per rule.
	ByRule map[Rule]int64
	// Skipped is true when the same files were already cleaned with the
	// same configuration, and nothing was rewritten.
	Skipped  bool
	Duration time.Duration
}

// DQSummary is the data-quality summary stored per source and day.
type DQSummary struct {
	RowsIn      int64            `json:"rows_in"`
	Clean       int64            `json:"clean"`
	Quarantined int64            `json:"quarantined"`
	ByRule      map[Rule]int64   `json:"by_rule"`
	Columns     []ColumnSummary  `json:"columns"`
	Files       map[string]int64 `json:"files"`
}

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

// cleanFile is one ingested file of the day being cleaned.
type cleanFile struct {
	name   string
	sha    string
	rows   int64
	header []string
	idx    []int // schema column i is field idx[i] of the file
	cust   int   // field index of the customer column
}

// quarantined is one rejected row.
type quarantined struct {
	file   string
	line   int32
	rule   Rule
	col    string
	detail string
	raw    string
}

// Clean checks every raw row of (source, day) against cfg and rewrites the
// day's clean rows, quarantine, data-quality summary and clean run in one
// transaction. Rows in always equal clean plus quarantined (checked here
// and by a table constraint). Re-running with the same ingested files and
// configuration is a no-op; after a new file arrives it rewrites the day.
// progress, when not nil, is called with the rows checked so far every
// 10000 rows.
func (s *Store) Clean(ctx context.Context, source string, day time.Time, cfg CleanConfig, progress func(rows int64)) (CleanResult, error) {
	day = dayOf(day)
	start := time.Now()
	res := CleanResult{Source: source, Day: day, ByRule: map[Rule]int64{}}
	what := source + "/" + day.Format(time.DateOnly)
	custCol, err := cfg.customerColumn()
	if err != nil {
		return res, fmt.Errorf("clean %s: %w", what, err)
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return res, fmt.Errorf("clean %s: encode config: %w", what, err)
	}
	cfgSum := sha256.Sum256(cfgJSON)
	configSHA := hex.EncodeToString(cfgSum[:])

	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "promoflow.clean."+what); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		files, inputsSHA, err := dayFiles(ctx, tx, source, day, cfg.Schema, custCol)
		if err != nil {
			return err
		}
		var prevInputs, prevConfig string
		err = tx.QueryRow(ctx, `SELECT inputs_sha256, config_sha256, rows_in, clean, quarantined FROM clean_runs WHERE source = $1 AND day = $2`,
			source, day).Scan(&prevInputs, &prevConfig, &res.RowsIn, &res.Clean, &res.Quarantined)
		switch {
		case err == nil && prevInputs == inputsSHA && prevConfig == configSHA:
			res.Skipped = true
			return countRules(ctx, tx, source, day, res.ByRule)
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("look up clean run: %w", err)
		}
		for _, table := range []string{"clean_rows", "quarantine"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE source = $1 AND day = $2`, source, day); err != nil {
				return fmt.Errorf("clear %s: %w", table, err)
			}
		}
		c := newCleaner(cfg, custCol, files)
		c.progress = progress
		if err := c.countCustomers(ctx, tx, source, day); err != nil {
			return err
		}
		if err := s.copyClean(ctx, tx, source, day, c); err != nil {
			return err
		}
		q := c.quarantine
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"quarantine"}, []string{"source", "day", "file", "line", "rule", "col", "detail", "raw"},
			pgx.CopyFromSlice(len(q), func(i int) ([]any, error) {
				return []any{source, day, q[i].file, q[i].line, string(q[i].rule), q[i].col, q[i].detail, q[i].raw}, nil
			})); err != nil {
			return fmt.Errorf("write quarantine: %w", err)
		}
		var ingested int64
		for _, f := range files {
			ingested += f.rows
		}
		res.RowsIn, res.Clean, res.Quarantined = c.rowsIn, c.clean, int64(len(q))
		for _, r := range q {
			res.ByRule[r.rule]++
		}
		if res.RowsIn != ingested || res.RowsIn != res.Clean+res.Quarantined {
			return fmt.Errorf("rows do not balance: %d ingested, %d read, %d clean + %d quarantined", ingested, res.RowsIn, res.Clean, res.Quarantined)
		}
		sum, err := json.Marshal(c.summary(res))
		if err != nil {
			return fmt.Errorf("encode summary: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO dq_summary (source, day, summary) VALUES ($1, $2, $3)
			ON CONFLICT (source, day) DO UPDATE SET summary = EXCLUDED.summary`, source, day, sum); err != nil {
			return fmt.Errorf("write summary: %w", err)
		}
		res.Duration = time.Since(start)
		if _, err := tx.Exec(ctx, `INSERT INTO clean_runs (source, day, rows_in, clean, quarantined, header, inputs_sha256, config_sha256, duration_ms)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (source, day) DO UPDATE SET rows_in = EXCLUDED.rows_in, clean = EXCLUDED.clean,
				quarantined = EXCLUDED.quarantined, header = EXCLUDED.header, inputs_sha256 = EXCLUDED.inputs_sha256,
				config_sha256 = EXCLUDED.config_sha256, duration_ms = EXCLUDED.duration_ms, cleaned_at = now()`,
			source, day, res.RowsIn, res.Clean, res.Quarantined, cfg.Schema.Names(), inputsSHA, configSHA, res.Duration.Milliseconds()); err != nil {
			return fmt.Errorf("record clean run: %w", err)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("clean %s: %w", what, err)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// dayFiles lists the day's ingested files, maps their headers onto the
// schema and digests their checksums.
func dayFiles(ctx context.Context, tx pgx.Tx, source string, day time.Time, sch schema.Schema, custCol string) ([]*cleanFile, string, error) {
	rows, err := tx.Query(ctx, `SELECT file, sha256, rows, header FROM ingested_files WHERE source = $1 AND day = $2 ORDER BY file`, source, day)
	if err != nil {
		return nil, "", fmt.Errorf("list files: %w", err)
	}
	var files []*cleanFile
	h := sha256.New()
	for rows.Next() {
		f := &cleanFile{}
		if err := rows.Scan(&f.name, &f.sha, &f.rows, &f.header); err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("list files: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%s\n", f.name, f.sha)
		files = append(files, f)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list files: %w", err)
	}
	if len(files) == 0 {
		return nil, "", ErrNoFiles
	}
	for _, f := range files {
		pos := make(map[string]int, len(f.header))
		for i, name := range f.header {
			pos[name] = i
		}
		for _, col := range sch.Columns {
			i, ok := pos[col.Name]
			if !ok {
				return nil, "", &InputError{File: f.name, Line: 1, Err: fmt.Errorf("%w: missing %q", ErrHeader, col.Name)}
			}
			f.idx = append(f.idx, i)
		}
		f.cust = pos[custCol]
	}
	return files, hex.EncodeToString(h.Sum(nil)), nil
}

// countRules fills byRule from the stored quarantine of a day.
func countRules(ctx context.Context, tx pgx.Tx, source string, day time.Time, byRule map[Rule]int64) error {
	rows, err := tx.Query(ctx, `SELECT rule, count(*) FROM quarantine WHERE source = $1 AND day = $2 GROUP BY rule`, source, day)
	if err != nil {
		return fmt.Errorf("count quarantine: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r string
		var n int64
		if err := rows.Scan(&r, &n); err != nil {
			return fmt.Errorf("count quarantine: %w", err)
		}
		byRule[Rule(r)] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count quarantine: %w", err)
	}
	return nil
}

// cleaner classifies the rows of one day.
type cleaner struct {
	cfg     CleanConfig
	custCol string
	files   map[string]*cleanFile
	limits  map[string]float64
	// multi holds the customers with more than one row in the day and
	// their row counts; seen the ones among them already kept clean.
	multi map[string]int
	seen  map[string]bool

	rowsIn, clean int64
	quarantine    []quarantined
	progress      func(rows int64)
	nulls         []int64
	stats         []numStats
}

// numStats accumulates min, max and mean of one column.
type numStats struct {
	n             int64
	min, max, sum float64
}

func newCleaner(cfg CleanConfig, custCol string, files []*cleanFile) *cleaner {
	c := &cleaner{
		cfg: cfg, custCol: custCol,
		files:  make(map[string]*cleanFile, len(files)),
		limits: map[string]float64{},
		seen:   map[string]bool{},
		nulls:  make([]int64, len(cfg.Schema.Columns)),
		stats:  make([]numStats, len(cfg.Schema.Columns)),
	}
	for _, f := range files {
		c.files[f.name] = f
	}
	for _, l := range cfg.Limits {
		if m, ok := c.limits[l.Column]; !ok || l.Max < m {
			c.limits[l.Column] = l.Max
		}
	}
	return c
}

// countCustomers finds, in the database, the customers with more than one
// row in the day.
func (c *cleaner) countCustomers(ctx context.Context, tx pgx.Tx, source string, day time.Time) error {
	names := make([]string, 0, len(c.files))
	idx := make([]int32, 0, len(c.files))
	for _, f := range c.files {
		names = append(names, f.name)
		idx = append(idx, int32(f.cust+1))
	}
	rows, err := tx.Query(ctx, `SELECT r.fields[m.idx], count(*)
		FROM raw_rows r JOIN unnest($3::text[], $4::int[]) AS m(file, idx) ON m.file = r.file
		WHERE r.source = $1 AND r.day = $2 AND r.fields[m.idx] <> ''
		GROUP BY 1 HAVING count(*) > 1`, source, day, names, idx)
	if err != nil {
		return fmt.Errorf("count rows per customer: %w", err)
	}
	c.multi = map[string]int{}
	var id string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		c.multi[id] = n
		return nil
	})
	if err != nil {
		return fmt.Errorf("count rows per customer: %w", err)
	}
	return nil
}

// copyClean streams the day's raw rows from a second connection through
// the cleaner into clean_rows on tx; rejected rows collect in c.quarantine.
func (s *Store) copyClean(ctx context.Context, tx pgx.Tx, source string, day time.Time, c *cleaner) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire reader: %w", err)
	}
	defer conn.Release()
	names := make([]string, 0, len(c.files))
	for name := range c.files {
		names = append(names, name)
	}
	// Raw rows of an ingested file never change, so reading them outside
	// tx sees what tx would.
	rows, err := conn.Query(ctx, `SELECT file, line, fields FROM raw_rows
		WHERE source = $1 AND day = $2 AND file = ANY($3) ORDER BY file, line`, source, day, names)
	if err != nil {
		return fmt.Errorf("read raw rows: %w", err)
	}
	defer rows.Close()
	src := &cleanSource{c: c, rows: rows, vals: []any{source, day, "", int32(0), "", nil}}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"clean_rows"}, []string{"source", "day", "file", "line", "customer_id", "fields"}, src); err != nil {
		if src.err != nil {
			return src.err
		}
		return fmt.Errorf("write clean rows: %w", err)
	}
	return src.err
}

// cleanSource feeds clean rows to COPY.
type cleanSource struct {
	c    *cleaner
	rows pgx.Rows
	vals []any
	err  error
}

// Next classifies raw rows until it finds a clean one.
func (s *cleanSource) Next() bool {
	var (
		file   string
		line   int32
		fields []string
	)
	for s.rows.Next() {
		if err := s.rows.Scan(&file, &line, &fields); err != nil {
			s.err = fmt.Errorf("read raw rows: %w", err)
			return false
		}
		f := s.c.files[file]
		out, ok := s.c.check(f, line, fields)
		if !ok {
			continue
		}
		s.vals[2], s.vals[3], s.vals[4], s.vals[5] = file, line, fields[f.cust], out
		return true
	}
	if err := s.rows.Err(); err != nil {
		s.err = fmt.Errorf("read raw rows: %w", err)
	}
	return false
}

// Values returns the current clean row.
func (s *cleanSource) Values() ([]any, error) { return s.vals, nil }

// Err returns the read error that stopped the rows, if any.
func (s *cleanSource) Err() error { return s.err }

// check classifies one raw row. It returns the row's fields in schema
// order and true when the row is clean; otherwise it records the row in
// the quarantine.
func (c *cleaner) check(f *cleanFile, line int32, fields []string) ([]string, bool) {
	c.rowsIn++
	if c.progress != nil && c.rowsIn%10000 == 0 {
		c.progress(c.rowsIn)
	}
	out := make([]string, len(f.idx))
	for i, j := range f.idx {
		out[i] = fields[j]
		if fields[j] == "" {
			c.nulls[i]++
		}
	}
	reject := func(rule Rule, col, detail string) ([]string, bool) {
		c.quarantine = append(c.quarantine, quarantined{file: f.name, line: line, rule: rule, col: col, detail: detail, raw: rawLine(fields)})
		return nil, false
	}
	for i, col := range c.cfg.Schema.Columns {
		if rule, detail := checkValue(col, out[i], col.Name == c.custCol); rule != "" {
			return reject(rule, col.Name, detail)
		}
	}
	for i, col := range c.cfg.Schema.Columns {
		max, ok := c.limits[col.Name]
		if !ok || out[i] == "" {
			continue
		}
		if v, err := strconv.ParseFloat(out[i], 64); err == nil && v > max {
			return reject(RuleScalper, col.Name, fmt.Sprintf("%s %s above the limit %g", col.Name, out[i], max))
		}
	}
	cust := fields[f.cust]
	if n, many := c.multi[cust]; many {
		if lim := c.cfg.MaxRowsPerCustomerDay; lim > 0 && n > lim {
			return reject(RuleScalper, c.custCol, fmt.Sprintf("customer %q has %d rows in the day, limit %d", cust, n, lim))
		}
		if c.seen[cust] {
			return reject(RuleDuplicate, c.custCol, fmt.Sprintf("customer %q already has a clean row this day", cust))
		}
		c.seen[cust] = true
	}
	c.clean++
	for i, col := range c.cfg.Schema.Columns {
		if col.Kind != schema.Numeric && col.Kind != schema.Flag || out[i] == "" {
			continue
		}
		v, _ := strconv.ParseFloat(out[i], 64)
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
	return out, true
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
	case schema.Categorical, schema.Target, schema.Treatment:
		levels := col.Levels
		if len(levels) == 0 && col.Kind == schema.Target && (col.Positive == "" || col.Positive == "1") {
			levels = []string{"0", "1"}
		}
		if len(levels) > 0 && !contains(levels, v) {
			return RuleLevel, fmt.Sprintf("%s %q is not one of %s", col.Name, v, strings.Join(levels, ", "))
		}
	}
	return "", ""
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// rawLine renders fields as the CSV line they came from (modulo quoting).
func rawLine(fields []string) string {
	var b bytes.Buffer
	w := dataset.NewWriter(&b, ',')
	if w.Write(fields) != nil || w.Flush() != nil {
		return strings.Join(fields, ",")
	}
	return strings.TrimRight(b.String(), "\r\n")
}

// summary builds the day's data-quality summary.
func (c *cleaner) summary(res CleanResult) DQSummary {
	s := DQSummary{RowsIn: res.RowsIn, Clean: res.Clean, Quarantined: res.Quarantined, ByRule: res.ByRule, Files: map[string]int64{}}
	for _, f := range c.files {
		s.Files[f.name] = f.rows
	}
	for i, col := range c.cfg.Schema.Columns {
		cs := ColumnSummary{Name: col.Name, Nulls: c.nulls[i]}
		if res.RowsIn > 0 {
			cs.NullShare = float64(c.nulls[i]) / float64(res.RowsIn)
		}
		if st := c.stats[i]; st.n > 0 {
			mean := st.sum / float64(st.n)
			cs.Count, cs.Min, cs.Max, cs.Mean = st.n, &st.min, &st.max, &mean
		}
		s.Columns = append(s.Columns, cs)
	}
	return s
}

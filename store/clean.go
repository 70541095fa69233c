package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/schema"
)

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
	ByRule map[clean.Rule]int64
	// Skipped is true when the same files were already cleaned with the
	// same configuration, and nothing was rewritten.
	Skipped  bool
	Duration time.Duration
}

// DQSummary is the data-quality summary stored per source and day.
type DQSummary struct {
	RowsIn      int64                 `json:"rows_in"`
	Clean       int64                 `json:"clean"`
	Quarantined int64                 `json:"quarantined"`
	ByRule      map[clean.Rule]int64  `json:"by_rule"`
	Columns     []clean.ColumnSummary `json:"columns"`
	Files       map[string]int64      `json:"files"`
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
	reason clean.Reason
	raw    string
}

// cleanRun is what one Clean call works on.
type cleanRun struct {
	source    string
	day       time.Time
	cfg       clean.Config
	custCol   string
	configSHA string
	progress  func(rows int64)
	start     time.Time
}

// Clean checks every raw row of (source, day) against cfg and rewrites the
// day's clean rows, quarantine, data-quality summary and clean run in one
// transaction. Rows in always equal clean plus quarantined (checked here
// and by a table constraint). Re-running with the same ingested files and
// configuration is a no-op; after a new file arrives it rewrites the day.
// progress, when not nil, is called with the rows checked so far every
// 10000 rows.
func (s *Store) Clean(ctx context.Context, source string, day time.Time, cfg clean.Config, progress func(rows int64)) (CleanResult, error) {
	day = dayOf(day)
	run := &cleanRun{source: source, day: day, cfg: cfg, progress: progress, start: time.Now()}
	res := CleanResult{Source: source, Day: day, ByRule: map[clean.Rule]int64{}}
	what := source + "/" + day.Format(time.DateOnly)
	var err error
	if run.custCol, err = cfg.Customer(); err != nil {
		return res, fmt.Errorf("clean %s: %w", what, err)
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return res, fmt.Errorf("clean %s: encode config: %w", what, err)
	}
	cfgSum := sha256.Sum256(cfgJSON)
	run.configSHA = hex.EncodeToString(cfgSum[:])
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "promoflow.clean."+what); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		return s.cleanDay(ctx, tx, run, &res)
	})
	if err != nil {
		return res, fmt.Errorf("clean %s: %w", what, err)
	}
	res.Duration = time.Since(run.start)
	return res, nil
}

// cleanDay cleans the day of run on tx, unless its files and
// configuration are those of the day's last clean run.
func (s *Store) cleanDay(ctx context.Context, tx pgx.Tx, run *cleanRun, res *CleanResult) error {
	files, inputsSHA, err := dayFiles(ctx, tx, run.source, run.day, run.cfg.Schema, run.custCol)
	if err != nil {
		return err
	}
	if skip, err := unchanged(ctx, tx, run, inputsSHA, res); err != nil || skip {
		return err
	}
	for _, table := range []string{"clean_rows", "quarantine"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE source = $1 AND day = $2`, run.source, run.day); err != nil {
			return fmt.Errorf("clear %s: %w", table, err)
		}
	}
	multi, err := countCustomers(ctx, tx, run.source, run.day, files)
	if err != nil {
		return err
	}
	rules, err := clean.NewChecker(run.cfg, multi)
	if err != nil {
		return err
	}
	c := newCleaner(rules, files, run.progress)
	if err := s.copyClean(ctx, tx, run.source, run.day, c); err != nil {
		return err
	}
	if err := writeQuarantine(ctx, tx, run.source, run.day, c.quarantine); err != nil {
		return err
	}
	if err := c.balance(res, files); err != nil {
		return err
	}
	if err := writeSummary(ctx, tx, run, c.summary(*res)); err != nil {
		return err
	}
	res.Duration = time.Since(run.start)
	return recordCleanRun(ctx, tx, run, inputsSHA, *res)
}

// unchanged reports whether the day's last clean run read the same files
// with the same configuration; then it fills res from that run.
func unchanged(ctx context.Context, tx pgx.Tx, run *cleanRun, inputsSHA string, res *CleanResult) (bool, error) {
	var prevInputs, prevConfig string
	err := tx.QueryRow(ctx, `SELECT inputs_sha256, config_sha256, rows_in, clean, quarantined FROM clean_runs WHERE source = $1 AND day = $2`,
		run.source, run.day).Scan(&prevInputs, &prevConfig, &res.RowsIn, &res.Clean, &res.Quarantined)
	switch {
	case err == nil && prevInputs == inputsSHA && prevConfig == run.configSHA:
		res.Skipped = true
		return true, countRules(ctx, tx, run.source, run.day, res.ByRule)
	case err != nil && !errors.Is(err, pgx.ErrNoRows):
		return false, fmt.Errorf("look up clean run: %w", err)
	}
	return false, nil
}

// writeQuarantine copies the rejected rows into the quarantine table.
func writeQuarantine(ctx context.Context, tx pgx.Tx, source string, day time.Time, q []quarantined) error {
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"quarantine"}, []string{"source", "day", "file", "line", "rule", "col", "detail", "raw"},
		pgx.CopyFromSlice(len(q), func(i int) ([]any, error) {
			r := q[i].reason
			return []any{source, day, q[i].file, q[i].line, string(r.Rule), r.Column, r.Detail, q[i].raw}, nil
		})); err != nil {
		return fmt.Errorf("write quarantine: %w", err)
	}
	return nil
}

// writeSummary stores the day's data-quality summary.
func writeSummary(ctx context.Context, tx pgx.Tx, run *cleanRun, summary DQSummary) error {
	sum, err := json.Marshal(summary)
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO dq_summary (source, day, summary) VALUES ($1, $2, $3)
		ON CONFLICT (source, day) DO UPDATE SET summary = EXCLUDED.summary`, run.source, run.day, sum); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// recordCleanRun stores the day's clean run: its counts and the digests
// of the files and configuration it cleaned with.
func recordCleanRun(ctx context.Context, tx pgx.Tx, run *cleanRun, inputsSHA string, res CleanResult) error {
	if _, err := tx.Exec(ctx, `INSERT INTO clean_runs (source, day, rows_in, clean, quarantined, header, inputs_sha256, config_sha256, duration_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (source, day) DO UPDATE SET rows_in = EXCLUDED.rows_in, clean = EXCLUDED.clean,
			quarantined = EXCLUDED.quarantined, header = EXCLUDED.header, inputs_sha256 = EXCLUDED.inputs_sha256,
			config_sha256 = EXCLUDED.config_sha256, duration_ms = EXCLUDED.duration_ms, cleaned_at = now()`,
		run.source, run.day, res.RowsIn, res.Clean, res.Quarantined, run.cfg.Schema.Names(), inputsSHA, run.configSHA, res.Duration.Milliseconds()); err != nil {
		return fmt.Errorf("record clean run: %w", err)
	}
	return nil
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
func countRules(ctx context.Context, tx pgx.Tx, source string, day time.Time, byRule map[clean.Rule]int64) error {
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
		byRule[clean.Rule(r)] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count quarantine: %w", err)
	}
	return nil
}

// cleaner runs the cleaning rules over the raw rows of one day and
// collects the rejected ones.
type cleaner struct {
	rules      *clean.Checker
	files      map[string]*cleanFile
	quarantine []quarantined
	progress   func(rows int64)
}

func newCleaner(rules *clean.Checker, files []*cleanFile, progress func(rows int64)) *cleaner {
	c := &cleaner{rules: rules, files: make(map[string]*cleanFile, len(files)), progress: progress}
	for _, f := range files {
		c.files[f.name] = f
	}
	return c
}

// countCustomers finds, in the database, the customers with more than one
// row in the day and their row counts.
func countCustomers(ctx context.Context, tx pgx.Tx, source string, day time.Time, files []*cleanFile) (map[string]int, error) {
	names := make([]string, 0, len(files))
	idx := make([]int32, 0, len(files))
	for _, f := range files {
		names = append(names, f.name)
		idx = append(idx, int32(f.cust+1))
	}
	rows, err := tx.Query(ctx, `SELECT r.fields[m.idx], count(*)
		FROM raw_rows r JOIN unnest($3::text[], $4::int[]) AS m(file, idx) ON m.file = r.file
		WHERE r.source = $1 AND r.day = $2 AND r.fields[m.idx] <> ''
		GROUP BY 1 HAVING count(*) > 1`, source, day, names, idx)
	if err != nil {
		return nil, fmt.Errorf("count rows per customer: %w", err)
	}
	multi := map[string]int{}
	var id string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		multi[id] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count rows per customer: %w", err)
	}
	return multi, nil
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
	out := make([]string, len(f.idx))
	for i, j := range f.idx {
		out[i] = fields[j]
	}
	reason, ok := c.rules.Check(out)
	if in, _ := c.rules.Rows(); c.progress != nil && in%10000 == 0 {
		c.progress(in)
	}
	if !ok {
		c.quarantine = append(c.quarantine, quarantined{file: f.name, line: line, reason: reason, raw: rawLine(fields)})
		return nil, false
	}
	return out, true
}

// balance fills res's counts from the checked rows and checks that rows
// in equal the rows ingested and clean plus quarantined.
func (c *cleaner) balance(res *CleanResult, files []*cleanFile) error {
	var ingested int64
	for _, f := range files {
		ingested += f.rows
	}
	res.RowsIn, res.Clean = c.rules.Rows()
	res.Quarantined = int64(len(c.quarantine))
	for _, q := range c.quarantine {
		res.ByRule[q.reason.Rule]++
	}
	if res.RowsIn != ingested || res.RowsIn != res.Clean+res.Quarantined {
		return fmt.Errorf("rows do not balance: %d ingested, %d read, %d clean + %d quarantined", ingested, res.RowsIn, res.Clean, res.Quarantined)
	}
	return nil
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
	s := DQSummary{RowsIn: res.RowsIn, Clean: res.Clean, Quarantined: res.Quarantined, ByRule: res.ByRule,
		Columns: c.rules.Columns(), Files: map[string]int64{}}
	for _, f := range c.files {
		s.Files[f.name] = f.rows
	}
	return s
}

package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/promoflow/promoflow/dataset"
)

// FileKey names one ingested file: a day's file of a source. File is the
// file's base name, unique within (Source, Day).
type FileKey struct {
	Source string
	Day    time.Time
	File   string
}

// String returns source/yyyy-mm-dd/file.
func (k FileKey) String() string {
	return k.Source + "/" + k.Day.Format(time.DateOnly) + "/" + k.File
}

// InputError reports a file that cannot be ingested as it is: retrying will
// not help. Line and Column are 1-based; 0 means not known or the whole
// line or file.
type InputError struct {
	File   string
	Line   int
	Column int
	Err    error
}

// Error says which file, where and what is wrong.
func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Column > 0 {
		fmt.Fprintf(&b, ", column %d", e.Column)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

// Unwrap returns the problem.
func (e *InputError) Unwrap() error { return e.Err }

// ErrNoRows is the problem of a file with a header but no data rows.
var ErrNoRows = errors.New("no data rows after the header")

// ErrHeader is the problem of a header that does not match the schema.
var ErrHeader = errors.New("header does not match the schema")

// ChangedError reports a file whose content differs from the copy already
// ingested under the same key: ingest never replaces data silently.
type ChangedError struct {
	Key          FileKey
	Ingested     string // sha256 of the ingested copy
	Now          string // sha256 of the file offered now
	IngestedAt   time.Time
	IngestedRows int64
}

// Error names the file and both checksums.
func (e *ChangedError) Error() string {
	return fmt.Sprintf("file %s changed after it was ingested at %s (%d rows): sha256 %s, was %s",
		e.Key, e.IngestedAt.UTC().Format(time.RFC3339), e.IngestedRows, e.Now, e.Ingested)
}

// RowSource yields the data records of one file. Next returns the 1-based
// line on which a record starts and its fields, io.EOF after the last one.
// Digest is valid once Next has returned io.EOF.
type RowSource interface {
	Header() []string
	Next() (line int, fields []string, err error)
	Digest() (sha256hex string, bytes int64)
}

// CSVSource is a RowSource over a delimited file read with package dataset,
// hashing and counting the bytes as they stream by.
type CSVSource struct {
	name string
	rd   *dataset.Reader
	in   *digestReader
	rows int64
}

// NewCSVSource reads the header of r and checks it against columns (when
// columns is not empty): every column must be present, no other. name
// names the file in errors. Malformed input is an *InputError; an error
// reading r is returned as it is (it may be transient).
func NewCSVSource(r io.Reader, name string, columns []string) (*CSVSource, error) {
	in := &digestReader{r: r, h: sha256.New()}
	rd, err := dataset.NewReader(in, dataset.Options{Name: name})
	if err != nil {
		return nil, inputErr(name, in, err)
	}
	if err := checkHeader(name, rd.Header(), columns); err != nil {
		return nil, err
	}
	return &CSVSource{name: name, rd: rd, in: in}, nil
}

// checkHeader compares a file's header with the schema's columns as sets.
func checkHeader(name string, header, columns []string) error {
	if len(columns) == 0 {
		return nil
	}
	want := make(map[string]bool, len(columns))
	for _, c := range columns {
		want[c] = true
	}
	have := make(map[string]bool, len(header))
	var extra []string
	firstExtra := 0
	for i, h := range header {
		have[h] = true
		if !want[h] {
			if firstExtra == 0 {
				firstExtra = i + 1
			}
			extra = append(extra, fmt.Sprintf("%q", h))
		}
	}
	var missing []string
	for _, c := range columns {
		if !have[c] {
			missing = append(missing, fmt.Sprintf("%q", c))
		}
	}
	if len(extra) == 0 && len(missing) == 0 {
		return nil
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "unexpected "+strings.Join(extra, ", "))
	}
	return &InputError{File: name, Line: 1, Column: firstExtra,
		Err: fmt.Errorf("%w: %s", ErrHeader, strings.Join(parts, "; "))}
}

// Header returns the file's column names.
func (s *CSVSource) Header() []string { return s.rd.Header() }

// Next returns the next record.
func (s *CSVSource) Next() (int, []string, error) {
	rec, err := s.rd.Next()
	if err == io.EOF {
		if s.rows == 0 {
			return 0, nil, &InputError{File: s.name, Line: s.rd.Line() + 1, Err: ErrNoRows}
		}
		return 0, nil, io.EOF
	}
	if err != nil {
		return 0, nil, inputErr(s.name, s.in, err)
	}
	s.rows++
	return s.rd.Line(), rec, nil
}

// Digest returns the sha256 and size of the bytes read.
func (s *CSVSource) Digest() (string, int64) {
	return hex.EncodeToString(s.in.h.Sum(nil)), s.in.n
}

// inputErr turns the reader's parse errors into InputErrors, but leaves a
// failure to read the underlying stream (a network error) retryable.
func inputErr(name string, in *digestReader, err error) error {
	if in.err != nil {
		return fmt.Errorf("read %s: %w", name, in.err)
	}
	var pe *dataset.ParseError
	if errors.As(err, &pe) {
		return &InputError{File: name, Line: pe.Line, Column: pe.Column, Err: pe.Err}
	}
	return fmt.Errorf("read %s: %w", name, err)
}

// digestReader hashes and counts what passes through and remembers the
// first read error other than io.EOF.
type digestReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

// Read reads from the underlying reader, hashing and counting.
func (d *digestReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	if err != nil && err != io.EOF && d.err == nil {
		d.err = err
	}
	return n, err
}

// IngestOptions tunes one ingest.
type IngestOptions struct {
	// Progress, when set, is called with the rows copied so far every
	// ProgressEvery rows (default 10000); activities heartbeat from it.
	Progress      func(rows int64)
	ProgressEvery int64
}

// IngestStats describes one ingested file.
type IngestStats struct {
	Key      FileKey
	Rows     int64
	Bytes    int64
	SHA256   string
	Duration time.Duration
	// AlreadyIngested is true when the same content was ingested before
	// and this call wrote nothing.
	AlreadyIngested bool
}

// IngestCSV ingests a delimited file read from r whose header must hold
// exactly columns (any order; no check when columns is empty). See Ingest.
func (s *Store) IngestCSV(ctx context.Context, key FileKey, r io.Reader, columns []string, opt IngestOptions) (IngestStats, error) {
	src, err := NewCSVSource(r, key.File, columns)
	if err != nil {
		return IngestStats{Key: key}, fmt.Errorf("ingest %s: %w", key, err)
	}
	return s.Ingest(ctx, key, src, opt)
}

// Ingest copies every record of src into raw_rows and records the file in
// ingested_files, all in one transaction: a failure anywhere (bad input, a
// lost connection, a worker killed mid-COPY) leaves nothing behind, and the
// next attempt starts from the top. A file already ingested with the same
// sha256 is a no-op (AlreadyIngested); with another sha256 it is a
// *ChangedError. Concurrent ingests of one key are serialised by an
// advisory lock.
func (s *Store) Ingest(ctx context.Context, key FileKey, src RowSource, opt IngestOptions) (IngestStats, error) {
	key.Day = dayOf(key.Day)
	start := time.Now()
	st := IngestStats{Key: key}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "promoflow.ingest."+key.String()); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		var (
			prevSHA  string
			prevRows int64
			prevAt   time.Time
		)
		err := tx.QueryRow(ctx, `SELECT sha256, rows, ingested_at FROM ingested_files WHERE source = $1 AND day = $2 AND file = $3`,
			key.Source, key.Day, key.File).Scan(&prevSHA, &prevRows, &prevAt)
		switch {
		case err == nil:
			return compareIngested(key, src, opt, &st, prevSHA, prevRows, prevAt)
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("look up file: %w", err)
		}
		cs := &copySource{key: key, src: src, progress: opt.Progress, every: opt.ProgressEvery}
		if cs.every <= 0 {
			cs.every = 10000
		}
		cs.vals = []any{key.Source, key.Day, key.File, 0, nil}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"raw_rows"}, []string{"source", "day", "file", "line", "fields"}, cs)
		if cs.err != nil {
			// The server only saw the COPY fail; the cause is ours.
			return cs.err
		}
		if err != nil {
			return fmt.Errorf("copy rows: %w", err)
		}
		st.Rows = n
		st.SHA256, st.Bytes = src.Digest()
		st.Duration = time.Since(start)
		if _, err := tx.Exec(ctx, `INSERT INTO ingested_files (source, day, file, sha256, bytes, rows, header, duration_ms)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			key.Source, key.Day, key.File, st.SHA256, st.Bytes, st.Rows, src.Header(), st.Duration.Milliseconds()); err != nil {
			return fmt.Errorf("record file: %w", err)
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("ingest %s: %w", key, err)
	}
	st.Duration = time.Since(start)
	return st, nil
}

// compareIngested reads src to its end to learn its digest and compares it
// with the copy ingested before.
func compareIngested(key FileKey, src RowSource, opt IngestOptions, st *IngestStats, prevSHA string, prevRows int64, prevAt time.Time) error {
	every := opt.ProgressEvery
	if every <= 0 {
		every = 10000
	}
	for n := int64(1); ; n++ {
		_, _, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if opt.Progress != nil && n%every == 0 {
			opt.Progress(n)
		}
	}
	sha, n := src.Digest()
	if sha != prevSHA {
		return &ChangedError{Key: key, Ingested: prevSHA, Now: sha, IngestedAt: prevAt, IngestedRows: prevRows}
	}
	st.Rows, st.Bytes, st.SHA256, st.AlreadyIngested = prevRows, n, sha, true
	return nil
}

// copySource adapts a RowSource to pgx.CopyFromSource, reporting progress.
type copySource struct {
	key      FileKey
	src      RowSource
	vals     []any
	rows     int64
	err      error
	progress func(int64)
	every    int64
}

// Next advances to the source's next record.
func (c *copySource) Next() bool {
	line, fields, err := c.src.Next()
	if err == io.EOF {
		return false
	}
	if err != nil {
		c.err = err
		return false
	}
	c.vals[3], c.vals[4] = line, fields
	c.rows++
	if c.progress != nil && c.rows%c.every == 0 {
		c.progress(c.rows)
	}
	return true
}

// Values returns the current record as a raw_rows row.
func (c *copySource) Values() ([]any, error) { return c.vals, nil }

// Err returns the source's error that stopped the COPY, if any.
func (c *copySource) Err() error { return c.err }

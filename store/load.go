package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/dataset"
)

// Fingerprint is the hex sha256 of a table returned by LoadClean: equal
// fingerprints mean the trainer saw the same header and rows in the same
// order.
type Fingerprint string

// ErrNoCleanData is returned by LoadClean when no day of the window was
// cleaned.
var ErrNoCleanData = errors.New("no cleaned day in the window")

// LoadClean returns the clean rows of source for the days from..to (both
// included) ordered by day, file and line, with the schema's header, and
// the fingerprint of that table. Days cleaned under different schemas
// cannot be mixed and are an error.
func (s *Store) LoadClean(ctx context.Context, source string, from, to time.Time) (*dataset.Table, Fingerprint, error) {
	from, to = dayOf(from), dayOf(to)
	what := fmt.Sprintf("load clean %s %s..%s", source, from.Format(time.DateOnly), to.Format(time.DateOnly))
	var t *dataset.Table
	var fp Fingerprint
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT DISTINCT header FROM clean_runs WHERE source = $1 AND day BETWEEN $2 AND $3`, source, from, to)
		if err != nil {
			return fmt.Errorf("read headers: %w", err)
		}
		headers, err := pgx.CollectRows(rows, pgx.RowTo[[]string])
		if err != nil {
			return fmt.Errorf("read headers: %w", err)
		}
		switch len(headers) {
		case 0:
			return ErrNoCleanData
		case 1:
		default:
			return fmt.Errorf("days were cleaned under %d different schemas: %v", len(headers), headers)
		}
		t = &dataset.Table{Header: headers[0]}
		h := sha256.New()
		writeStrings(h, t.Header)
		rows, err = tx.Query(ctx, `SELECT fields FROM clean_rows WHERE source = $1 AND day BETWEEN $2 AND $3 ORDER BY day, file, line`, source, from, to)
		if err != nil {
			return fmt.Errorf("read rows: %w", err)
		}
		var fields []string
		_, err = pgx.ForEachRow(rows, []any{&fields}, func() error {
			if len(fields) != len(t.Header) {
				return fmt.Errorf("clean row has %d fields, header %d", len(fields), len(t.Header))
			}
			writeStrings(h, fields)
			t.Rows = append(t.Rows, slices.Clone(fields))
			return nil
		})
		if err != nil {
			return fmt.Errorf("read rows: %w", err)
		}
		fp = Fingerprint(hex.EncodeToString(h.Sum(nil)))
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	return t, fp, nil
}

// writeStrings hashes a record unambiguously: a count, then each string
// with its length.
func writeStrings(h hash.Hash, rec []string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(rec)))
	h.Write(n[:])
	for _, s := range rec {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
}

// DayStatus summarises one source and day of the data plane.
type DayStatus struct {
	Source     string
	Day        time.Time
	Files      int
	Rows       int64 // rows ingested
	Bytes      int64
	IngestedAt time.Time // last file
	// Cleaned is false until the day has a clean run; the counts below are
	// those of the last run.
	Cleaned     bool
	Clean       int64
	Quarantined int64
	ByRule      map[clean.Rule]int64
}

// Status lists the ingested days, newest first, of one source (all when
// source is empty), at most limit days (all when limit <= 0).
func (s *Store) Status(ctx context.Context, source string, limit int) ([]DayStatus, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, `
		SELECT f.source, f.day, f.files, f.rows, f.bytes, f.ingested_at,
			r.source IS NOT NULL, COALESCE(r.clean, 0), COALESCE(r.quarantined, 0),
			COALESCE((SELECT jsonb_object_agg(rule, n) FROM (
				SELECT q.rule, count(*) AS n FROM quarantine q WHERE q.source = f.source AND q.day = f.day GROUP BY q.rule) g), '{}')
		FROM (SELECT source, day, count(*) AS files, sum(rows)::bigint AS rows, sum(bytes)::bigint AS bytes, max(ingested_at) AS ingested_at
			FROM ingested_files WHERE $1 = '' OR source = $1 GROUP BY source, day) f
		LEFT JOIN clean_runs r ON r.source = f.source AND r.day = f.day
		ORDER BY f.day DESC, f.source
		LIMIT $2`, source, lim)
	if err != nil {
		return nil, fmt.Errorf("data status: %w", err)
	}
	var out []DayStatus
	var d DayStatus
	_, err = pgx.ForEachRow(rows, []any{&d.Source, &d.Day, &d.Files, &d.Rows, &d.Bytes, &d.IngestedAt, &d.Cleaned, &d.Clean, &d.Quarantined, &d.ByRule}, func() error {
		out = append(out, d)
		d.ByRule = nil
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("data status: %w", err)
	}
	return out, nil
}

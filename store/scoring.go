package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/promoflow/promoflow/dataset"
)

// ScoreLogRow is one scored customer of an online request, kept for drift
// monitoring.
type ScoreLogRow struct {
	At         time.Time
	Model      string
	Version    int
	RequestID  string
	CustomerID string
	// Features is the customer as sent, a JSON object.
	Features   json.RawMessage
	Propensity float64
	// Uplift maps arm to predicted uplift; nil for a model without uplift.
	Uplift map[string]float64
}

// InsertScoreLog appends rows to scoring_log with one COPY and returns how
// many were written.
func (s *Store) InsertScoreLog(ctx context.Context, rows []ScoreLogRow) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		r := rows[i]
		up, err := upliftJSON(r.Uplift)
		if err != nil {
			return nil, err
		}
		feats := r.Features
		if len(feats) == 0 {
			feats = json.RawMessage("{}")
		}
		return []any{r.At, r.Model, r.Version, r.RequestID, r.CustomerID, string(feats), r.Propensity, up}, nil
	})
	n, err := s.pool.CopyFrom(ctx, pgx.Identifier{"scoring_log"},
		[]string{"at", "model", "version", "request_id", "customer_id", "features", "propensity", "uplift"}, src)
	if err != nil {
		return n, fmt.Errorf("insert %d scoring log rows: %w", len(rows), err)
	}
	return n, nil
}

// upliftJSON encodes a per-arm uplift map for a jsonb column (nil stays
// NULL).
func upliftJSON(u map[string]float64) (*string, error) {
	if u == nil {
		return nil, nil
	}
	b, err := json.Marshal(u)
	if err != nil {
		return nil, fmt.Errorf("encode uplift: %w", err)
	}
	s := string(b)
	return &s, nil
}

// ErrBadPartition is returned for a partition outside 0..parts-1 or a
// non-positive number of parts.
var ErrBadPartition = errors.New("want 0 <= partition < partitions")

// partitionSQL is the partition of a customer out of n: a stable hash of
// the customer id modulo n, in PostgreSQL so each worker reads only its own
// rows.
const partitionSQL = `mod(mod(hashtextextended(customer_id, 0), $4::bigint) + $4::bigint, $4::bigint)`

// LoadCleanPartition returns the clean rows of source and day whose
// customer falls in partition part of parts (0 <= part < parts), ordered by
// file and line, with the day's header. Every customer of the day falls in
// exactly one partition, so parts workers together read the day once.
func (s *Store) LoadCleanPartition(ctx context.Context, source string, day time.Time, part, parts int) (*dataset.Table, error) {
	day = dayOf(day)
	what := fmt.Sprintf("load clean %s %s partition %d/%d", source, day.Format(time.DateOnly), part, parts)
	if parts < 1 || part < 0 || part >= parts {
		return nil, fmt.Errorf("%s: %w", what, ErrBadPartition)
	}
	var t *dataset.Table
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var header []string
		err := tx.QueryRow(ctx, `SELECT header FROM clean_runs WHERE source = $1 AND day = $2`, source, day).Scan(&header)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoCleanData
		}
		if err != nil {
			return fmt.Errorf("read header: %w", err)
		}
		t = &dataset.Table{Header: header}
		rows, err := tx.Query(ctx, `SELECT fields FROM clean_rows WHERE source = $1 AND day = $2 AND `+partitionSQL+` = $3 ORDER BY file, line`,
			source, day, part, parts)
		if err != nil {
			return fmt.Errorf("read rows: %w", err)
		}
		var fields []string
		_, err = pgx.ForEachRow(rows, []any{&fields}, func() error {
			if len(fields) != len(header) {
				return fmt.Errorf("clean row has %d fields, header %d", len(fields), len(header))
			}
			t.Rows = append(t.Rows, slices.Clone(fields))
			return nil
		})
		if err != nil {
			return fmt.Errorf("read rows: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return t, nil
}

// BatchScore is the score of one customer in the scores table.
type BatchScore struct {
	CustomerID string
	Propensity float64
	Uplift     map[string]float64
}

// SaveScores writes the scores of customers of source and day by model
// version: COPY into a staging table, then one upsert into scores, in one
// transaction. A customer appearing twice keeps its last score. It returns
// the number of customers written.
func (s *Store) SaveScores(ctx context.Context, model string, version int, source string, day time.Time, scores []BatchScore) (int64, error) {
	day = dayOf(day)
	what := fmt.Sprintf("save %d scores of %s v%d for %s %s", len(scores), model, version, source, day.Format(time.DateOnly))
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE scores_stage (
			seq int, customer_id text, propensity double precision, uplift jsonb) ON COMMIT DROP`); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
		src := pgx.CopyFromSlice(len(scores), func(i int) ([]any, error) {
			up, err := upliftJSON(scores[i].Uplift)
			if err != nil {
				return nil, err
			}
			return []any{i, scores[i].CustomerID, scores[i].Propensity, up}, nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"scores_stage"}, []string{"seq", "customer_id", "propensity", "uplift"}, src); err != nil {
			return fmt.Errorf("copy scores: %w", err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO scores (model, source, day, customer_id, version, propensity, uplift, scored_at)
			SELECT DISTINCT ON (customer_id) $1, $2, $3::date, customer_id, $4, propensity, uplift, now()
			FROM scores_stage ORDER BY customer_id, seq DESC
			ON CONFLICT (model, source, day, customer_id) DO UPDATE
			SET version = EXCLUDED.version, propensity = EXCLUDED.propensity, uplift = EXCLUDED.uplift, scored_at = EXCLUDED.scored_at`,
			model, source, day, version)
		if err != nil {
			return fmt.Errorf("upsert scores: %w", err)
		}
		n = tag.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return n, nil
}

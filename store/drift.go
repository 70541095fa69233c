package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DriftCheck is one monitored day of a model in the drift history.
type DriftCheck struct {
	Model        string
	Day          time.Time
	Version      int // the production version checked
	Rows         int64
	DriftedShare float64
	DatasetDrift bool
	// Realised holds the production version's metrics on the day's
	// labelled rows (JSON object); nil until labels arrive.
	Realised json.RawMessage
	// Breaches lists the checks over their rollback limit (JSON array).
	Breaches   json.RawMessage
	Breached   bool
	WorkflowID string
	CheckedAt  time.Time // set by the database
}

// DriftFeature is one feature's (or the score's) drift on a checked day.
type DriftFeature struct {
	Feature  string
	Kind     string // numeric, categorical, score
	PSI      float64
	KSStat   *float64 // numeric and score only
	KSP      *float64
	JS       float64
	Severity string // ok, warn, act
	Drifted  bool
	Detail   json.RawMessage // bins and counts
}

// RecordDrift stores a day's check and its features, replacing an earlier
// check of the same model and day, so a retried or re-run check is stored
// once.
func (s *Store) RecordDrift(ctx context.Context, c DriftCheck, features []DriftFeature) error {
	what := fmt.Sprintf("record drift %s %s", c.Model, c.Day.Format(time.DateOnly))
	breaches := c.Breaches
	if len(breaches) == 0 {
		breaches = json.RawMessage("[]")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM drift_checks WHERE model = $1 AND day = $2`, c.Model, dayOf(c.Day)); err != nil {
			return fmt.Errorf("replace check: %w", err)
		}
		var realised any
		if len(c.Realised) > 0 {
			realised = c.Realised
		}
		if _, err := tx.Exec(ctx, `INSERT INTO drift_checks (model, day, version, rows, drifted_share, dataset_drift, realised, breaches, breached, workflow_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			c.Model, dayOf(c.Day), c.Version, c.Rows, c.DriftedShare, c.DatasetDrift, realised, breaches, c.Breached, c.WorkflowID); err != nil {
			return fmt.Errorf("insert check: %w", err)
		}
		rows := make([][]any, len(features))
		for i, f := range features {
			detail := f.Detail
			if len(detail) == 0 {
				detail = json.RawMessage("{}")
			}
			rows[i] = []any{c.Model, dayOf(c.Day), f.Feature, f.Kind, f.PSI, f.KSStat, f.KSP, f.JS, f.Severity, f.Drifted, detail}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"drift_features"},
			[]string{"model", "day", "feature", "kind", "psi", "ks_stat", "ks_p", "js", "severity", "drifted", "detail"},
			pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("insert features: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// DriftStreak counts the consecutive breached checks of a model ending
// with its latest check on or before day (0 when that check passed or there
// is none). Days without a check do not break a streak: it counts checks,
// not calendar days.
func (s *Store) DriftStreak(ctx context.Context, model string, day time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FROM drift_checks
		WHERE model = $1 AND day <= $2 AND breached
		  AND day > COALESCE((SELECT max(day) FROM drift_checks WHERE model = $1 AND day <= $2 AND NOT breached), '-infinity'::date)`,
		model, dayOf(day)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("drift streak of %s up to %s: %w", model, day.Format(time.DateOnly), err)
	}
	return n, nil
}

// DriftChecks lists a model's checks, newest day first, at most limit (all
// when limit <= 0).
func (s *Store) DriftChecks(ctx context.Context, model string, limit int) ([]DriftCheck, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, `SELECT model, day, version, rows, drifted_share, dataset_drift, realised, breaches, breached, workflow_id, checked_at
		FROM drift_checks WHERE model = $1 ORDER BY day DESC LIMIT $2`, model, lim)
	if err != nil {
		return nil, fmt.Errorf("drift checks of %s: %w", model, err)
	}
	var out []DriftCheck
	var c DriftCheck
	_, err = pgx.ForEachRow(rows, []any{&c.Model, &c.Day, &c.Version, &c.Rows, &c.DriftedShare, &c.DatasetDrift, &c.Realised, &c.Breaches, &c.Breached, &c.WorkflowID, &c.CheckedAt}, func() error {
		out = append(out, c)
		c = DriftCheck{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("drift checks of %s: %w", model, err)
	}
	return out, nil
}

// DriftFeatures returns the per-feature results of a model's check on day,
// score last, features by name.
func (s *Store) DriftFeatures(ctx context.Context, model string, day time.Time) ([]DriftFeature, error) {
	rows, err := s.pool.Query(ctx, `SELECT feature, kind, psi, ks_stat, ks_p, js, severity, drifted, detail
		FROM drift_features WHERE model = $1 AND day = $2 ORDER BY kind = 'score', feature`, model, dayOf(day))
	if err != nil {
		return nil, fmt.Errorf("drift features of %s %s: %w", model, day.Format(time.DateOnly), err)
	}
	var out []DriftFeature
	var f DriftFeature
	_, err = pgx.ForEachRow(rows, []any{&f.Feature, &f.Kind, &f.PSI, &f.KSStat, &f.KSP, &f.JS, &f.Severity, &f.Drifted, &f.Detail}, func() error {
		out = append(out, f)
		f = DriftFeature{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("drift features of %s %s: %w", model, day.Format(time.DateOnly), err)
	}
	return out, nil
}

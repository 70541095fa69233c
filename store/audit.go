package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEntry is one change to a model recorded in the audit log: who moved
// which alias from which version to which, and why.
type AuditEntry struct {
	// ID is assigned by the database.
	ID     int64
	At     time.Time // zero means now
	Actor  string
	Action string // promote, approve, rollback, ...
	Model  string
	Alias  string
	// FromVersion and ToVersion are 0 when not applicable.
	FromVersion int
	ToVersion   int
	Reason      string
	WorkflowID  string
	// MoveID is the caller's idempotency key (say workflow ID + activity
	// ID): recording an entry whose MoveID exists already does nothing.
	MoveID string
	Detail json.RawMessage
}

// RecordAudit appends e to the audit log unless an entry with its MoveID
// exists. It reports whether e was inserted.
func (s *Store) RecordAudit(ctx context.Context, e AuditEntry) (bool, error) {
	if e.MoveID == "" {
		return false, fmt.Errorf("record audit %s %s: empty move id", e.Action, e.Model)
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	detail := e.Detail
	if len(detail) == 0 {
		detail = json.RawMessage("{}")
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO audit_log (at, actor, action, model, alias, from_version, to_version, reason, workflow_id, move_id, detail)
		VALUES ($1, $2, $3, $4, $5, NULLIF($6, 0), NULLIF($7, 0), $8, $9, $10, $11)
		ON CONFLICT (move_id) DO NOTHING`,
		e.At, e.Actor, e.Action, e.Model, e.Alias, e.FromVersion, e.ToVersion, e.Reason, e.WorkflowID, e.MoveID, detail)
	if err != nil {
		return false, fmt.Errorf("record audit %s %s (move %s): %w", e.Action, e.Model, e.MoveID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ListAudit returns the audit log of a model (every model when model is
// empty), oldest first.
func (s *Store) ListAudit(ctx context.Context, model string) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, action, model, alias, COALESCE(from_version, 0), COALESCE(to_version, 0),
			reason, workflow_id, move_id, detail
		FROM audit_log WHERE $1 = '' OR model = $1 ORDER BY at, id`, model)
	if err != nil {
		return nil, fmt.Errorf("list audit %s: %w", model, err)
	}
	var out []AuditEntry
	var e AuditEntry
	_, err = pgx.ForEachRow(rows, []any{&e.ID, &e.At, &e.Actor, &e.Action, &e.Model, &e.Alias, &e.FromVersion, &e.ToVersion,
		&e.Reason, &e.WorkflowID, &e.MoveID, &e.Detail}, func() error {
		e.Detail = append(json.RawMessage(nil), e.Detail...)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list audit %s: %w", model, err)
	}
	return out, nil
}

// Run is one pipeline run (a workflow execution) and its steps.
type Run struct {
	WorkflowID string
	RunID      string
	Model      string
	Day        time.Time
	Status     string
	// Version is the model version the run trained (0 if none).
	Version int
	// Steps is the caller's JSON description of the steps (an array).
	Steps      json.RawMessage
	StartedAt  time.Time
	FinishedAt time.Time // zero while running
}

// UpsertRun records r, replacing the stored status, steps and finish time
// of the same (WorkflowID, RunID).
func (s *Store) UpsertRun(ctx context.Context, r Run) error {
	if r.WorkflowID == "" || r.RunID == "" {
		return errors.New("upsert run: workflow id and run id are required")
	}
	steps := r.Steps
	if len(steps) == 0 {
		steps = json.RawMessage("[]")
	}
	var finished *time.Time
	if !r.FinishedAt.IsZero() {
		finished = &r.FinishedAt
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = time.Now()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO runs (workflow_id, run_id, model, day, status, version, steps, started_at, finished_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (workflow_id, run_id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version,
			steps = EXCLUDED.steps, finished_at = EXCLUDED.finished_at`,
		r.WorkflowID, r.RunID, r.Model, dayOf(r.Day), r.Status, r.Version, steps, r.StartedAt, finished)
	if err != nil {
		return fmt.Errorf("upsert run %s/%s: %w", r.WorkflowID, r.RunID, err)
	}
	return nil
}

// ListRuns returns the runs of a model (all models when model is empty),
// newest first, at most limit (all when limit <= 0).
func (s *Store) ListRuns(ctx context.Context, model string, limit int) ([]Run, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, `SELECT workflow_id, run_id, model, day, status, version, steps, started_at, finished_at
		FROM runs WHERE $1 = '' OR model = $1 ORDER BY started_at DESC, workflow_id, run_id LIMIT $2`, model, lim)
	if err != nil {
		return nil, fmt.Errorf("list runs %s: %w", model, err)
	}
	var out []Run
	var r Run
	var finished *time.Time
	_, err = pgx.ForEachRow(rows, []any{&r.WorkflowID, &r.RunID, &r.Model, &r.Day, &r.Status, &r.Version, &r.Steps, &r.StartedAt, &finished}, func() error {
		r.Steps = append(json.RawMessage(nil), r.Steps...)
		r.FinishedAt = time.Time{}
		if finished != nil {
			r.FinishedAt = *finished
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list runs %s: %w", model, err)
	}
	return out, nil
}

// FinishedRun returns the newest run of model for day that finished in a
// decision (not failed, not skipped), if any: a day's pipeline runs once
// however often a schedule or a person starts it.
func (s *Store) FinishedRun(ctx context.Context, model string, day time.Time) (Run, bool, error) {
	var r Run
	var finished *time.Time
	err := s.pool.QueryRow(ctx, `SELECT workflow_id, run_id, model, day, status, version, steps, started_at, finished_at
		FROM runs WHERE model = $1 AND day = $2 AND finished_at IS NOT NULL AND status NOT IN ('failed', 'skipped')
		ORDER BY finished_at DESC LIMIT 1`, model, dayOf(day)).
		Scan(&r.WorkflowID, &r.RunID, &r.Model, &r.Day, &r.Status, &r.Version, &r.Steps, &r.StartedAt, &finished)
	if errors.Is(err, pgx.ErrNoRows) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("finished run of %s on %s: %w", model, day.Format(time.DateOnly), err)
	}
	if finished != nil {
		r.FinishedAt = *finished
	}
	return r, true, nil
}

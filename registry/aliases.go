package registry

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// AliasMove is one move of an alias. The alias object holds the move that
// set it; the history holds every move.
type AliasMove struct {
	// MoveID identifies the move (idempotency key for retries and the
	// audit log).
	MoveID string `json:"move_id"`
	Model  string `json:"model"`
	Alias  string `json:"alias"`
	// Kind is how the alias moved: KindMove, KindPromote or KindRollback.
	Kind string `json:"kind"`
	// Seq is 1 for an alias's first move and one more for each later move.
	Seq int64 `json:"seq"`
	// Version is the version the alias points to after the move.
	Version int `json:"version"`
	// Previous is the version it pointed to before; 0 when it was unset.
	Previous   int       `json:"previous"`
	MovedAt    time.Time `json:"moved_at"`
	MovedBy    string    `json:"moved_by"`
	Reason     string    `json:"reason"`
	WorkflowID string    `json:"workflow_id,omitempty"`
}

// The kinds of alias move.
const (
	KindMove     = "move"     // MoveAlias, and `previous` following a promotion
	KindPromote  = "promote"  // Promote
	KindRollback = "rollback" // Rollback
)

// MoveRequest asks to point an alias at a version.
type MoveRequest struct {
	Model string
	Alias string
	To    int
	// ExpectVersion, when set, makes the move conditional on the alias
	// pointing at that version now (0: the alias is unset).
	ExpectVersion *int
	Actor         string // who moves it (user or workflow); required
	Reason        string // why; required
	WorkflowID    string
	// MoveID, when set, makes the move idempotent: if the alias already
	// holds the move with this id, it is returned and not repeated. Use the
	// workflow run id plus activity id. Empty means a random id. At most
	// 119 characters: Promote derives "<MoveID>-previous" from it.
	MoveID string
}

var moveIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

func (req *MoveRequest) validate() error {
	if err := validModel(req.Model); err != nil {
		return err
	}
	if err := validAlias(req.Alias); err != nil {
		return err
	}
	if err := validVersion(req.To); err != nil {
		return err
	}
	if strings.TrimSpace(req.Actor) == "" {
		return &ValidationError{Field: "actor", Value: req.Actor, Reason: "say who moves the alias"}
	}
	if strings.TrimSpace(req.Reason) == "" {
		return &ValidationError{Field: "reason", Value: req.Reason, Reason: "say why the alias moves"}
	}
	if req.MoveID != "" && !moveIDRE.MatchString(req.MoveID) {
		return &ValidationError{Field: "move id", Value: req.MoveID, Reason: "want letters, digits, '.', '_', ':' or '-', at most 128 characters"}
	}
	return nil
}

// MoveAlias points an alias at a version with a compare-and-swap on the
// alias object. The target's checksums are verified first; an
// *IntegrityError leaves the alias where it is. When another move wins the
// race, or ExpectVersion does not hold, the error is a *ConflictError. The
// move is then appended to the alias history and passed to the Auditor; if
// the Auditor fails, the committed move is returned together with the
// error, and a retry with the same MoveID completes the record.
func (r *Registry) MoveAlias(ctx context.Context, req MoveRequest) (AliasMove, error) {
	if err := req.validate(); err != nil {
		return AliasMove{}, fmt.Errorf("move alias: %w", err)
	}
	m, err := r.moveAlias(ctx, req, KindMove)
	if err != nil {
		return m, fmt.Errorf("move alias %s of model %s to v%d: %w", req.Alias, req.Model, req.To, err)
	}
	return m, nil
}

func (r *Registry) moveAlias(ctx context.Context, req MoveRequest, kind string) (AliasMove, error) {
	key := aliasKey(req.Model, req.Alias)
	var cur AliasMove
	etag, exists, err := r.getJSON(ctx, key, &cur)
	if err != nil {
		return AliasMove{}, err
	}
	if exists && req.MoveID != "" && cur.MoveID == req.MoveID {
		return cur, r.record(ctx, cur)
	}
	if req.ExpectVersion != nil && cur.Version != *req.ExpectVersion {
		return AliasMove{}, &ConflictError{Model: req.Model, Alias: req.Alias, Current: cur.Version, Expected: req.ExpectVersion}
	}
	if err := r.Verify(ctx, req.Model, req.To); err != nil {
		return AliasMove{}, err
	}
	if exists {
		// Write back the current move's history entry in case its mover
		// died between the swap and the history write.
		if err := r.appendHistory(ctx, cur); err != nil {
			return AliasMove{}, err
		}
	}
	move := AliasMove{
		MoveID:     req.MoveID,
		Model:      req.Model,
		Alias:      req.Alias,
		Kind:       kind,
		Seq:        cur.Seq + 1,
		Version:    req.To,
		Previous:   cur.Version,
		MovedAt:    r.Now().UTC(),
		MovedBy:    req.Actor,
		Reason:     req.Reason,
		WorkflowID: req.WorkflowID,
	}
	if move.MoveID == "" {
		move.MoveID = newMoveID()
	}
	if _, err := r.putJSON(ctx, key, move, !exists, etag); err != nil {
		// If-Match on an object deleted meanwhile answers NoSuchKey.
		if isPreconditionFailed(err) || isNoSuchKey(err) {
			var now AliasMove
			if _, _, rerr := r.getJSON(ctx, key, &now); rerr != nil {
				return AliasMove{}, errors.Join(&ConflictError{Model: req.Model, Alias: req.Alias, Expected: req.ExpectVersion}, rerr)
			}
			return AliasMove{}, &ConflictError{Model: req.Model, Alias: req.Alias, Current: now.Version, Expected: req.ExpectVersion}
		}
		return AliasMove{}, fmt.Errorf("write %s: %w", key, err)
	}
	return move, r.record(ctx, move)
}

// record appends a committed move to the history and the audit log; both
// writes are idempotent.
func (r *Registry) record(ctx context.Context, m AliasMove) error {
	if err := r.appendHistory(ctx, m); err != nil {
		return fmt.Errorf("alias moved but not recorded (retry with move id %s): %w", m.MoveID, err)
	}
	if r.auditor != nil {
		if err := r.auditor.RecordAliasMove(ctx, m); err != nil {
			return fmt.Errorf("alias moved but not audited (retry with move id %s): %w", m.MoveID, err)
		}
	}
	return nil
}

func (r *Registry) appendHistory(ctx context.Context, m AliasMove) error {
	key := historyKey(m)
	if _, err := r.putJSON(ctx, key, m, true, ""); err != nil && !isPreconditionFailed(err) {
		return fmt.Errorf("append history %s: %w", key, err)
	}
	return nil
}

// newMoveID returns a random move id (26 base32 characters).
func newMoveID() string { return rand.Text() }

// Promote moves `production` to req.To (req.Alias must be empty or
// "production") and then points `previous` at the version production held
// before. The production move is returned even when updating `previous`
// fails; the error then says so. `previous` is left alone when a later
// promotion has already moved production again.
func (r *Registry) Promote(ctx context.Context, req MoveRequest) (AliasMove, error) {
	if req.Alias == "" {
		req.Alias = Production
	}
	if req.Alias != Production {
		return AliasMove{}, fmt.Errorf("promote: %w", &ValidationError{Field: "alias", Value: req.Alias, Reason: "promote moves " + Production})
	}
	if err := req.validate(); err != nil {
		return AliasMove{}, fmt.Errorf("promote: %w", err)
	}
	move, err := r.moveAlias(ctx, req, KindPromote)
	if err != nil {
		return move, fmt.Errorf("promote model %s to v%d: %w", req.Model, req.To, err)
	}
	if move.Previous == 0 || move.Previous == move.Version {
		return move, nil
	}
	if err := r.followPrevious(ctx, move); err != nil {
		return move, fmt.Errorf("promote model %s: production moved to v%d but %s not updated: %w", req.Model, move.Version, Previous, err)
	}
	return move, nil
}

// followPrevious points `previous` at prod.Previous, retrying on conflicts
// as long as prod is still the current production move.
func (r *Registry) followPrevious(ctx context.Context, prod AliasMove) error {
	const attempts = 5
	var err error
	for range attempts {
		var now AliasMove
		if _, _, err = r.getJSON(ctx, aliasKey(prod.Model, Production), &now); err != nil {
			return err
		}
		if now.Seq != prod.Seq {
			return nil
		}
		var prev AliasMove
		if _, _, err = r.getJSON(ctx, aliasKey(prod.Model, Previous), &prev); err != nil {
			return err
		}
		_, err = r.MoveAlias(ctx, MoveRequest{
			Model:         prod.Model,
			Alias:         Previous,
			To:            prod.Previous,
			ExpectVersion: &prev.Version,
			Actor:         prod.MovedBy,
			Reason:        fmt.Sprintf("%s moved from v%d to v%d: %s", Production, prod.Previous, prod.Version, prod.Reason),
			WorkflowID:    prod.WorkflowID,
			MoveID:        prod.MoveID + "-previous",
		})
		var ce *ConflictError
		if !errors.As(err, &ce) {
			return err
		}
	}
	return err
}

// RollbackRequest asks to move `production` back.
type RollbackRequest struct {
	Model string
	// To, when set, is the version to roll back to. Otherwise Rollback
	// picks `previous`, or else the most recent earlier production version
	// whose checksums verify.
	To         *int
	Actor      string
	Reason     string
	WorkflowID string
	MoveID     string // as in MoveRequest
}

// Rollback moves `production` back to an earlier version: req.To, or
// `previous` when it is set, differs from production and verifies, or else
// the most recent version in production's history (other than the current
// one) whose checksums verify. Only versions that have been in production
// are chosen automatically, so a version that failed the gate is never
// rolled back to, and neither is a version production was rolled back from
// (until it is promoted again). `previous` is not changed. The move is conditional on
// production not having moved since Rollback read it.
func (r *Registry) Rollback(ctx context.Context, req RollbackRequest) (AliasMove, error) {
	if err := validModel(req.Model); err != nil {
		return AliasMove{}, fmt.Errorf("rollback: %w", err)
	}
	var cur AliasMove
	_, found, err := r.getJSON(ctx, aliasKey(req.Model, Production), &cur)
	if err != nil {
		return AliasMove{}, fmt.Errorf("rollback model %s: %w", req.Model, err)
	}
	if !found {
		return AliasMove{}, fmt.Errorf("rollback model %s: no %s alias: %w", req.Model, Production, ErrNotFound)
	}
	if req.MoveID != "" && cur.MoveID == req.MoveID {
		return cur, r.record(ctx, cur)
	}
	to, err := r.rollbackTarget(ctx, req, cur.Version)
	if err != nil {
		return AliasMove{}, fmt.Errorf("rollback model %s from v%d: %w", req.Model, cur.Version, err)
	}
	mreq := MoveRequest{
		Model:         req.Model,
		Alias:         Production,
		To:            to,
		ExpectVersion: &cur.Version,
		Actor:         req.Actor,
		Reason:        req.Reason,
		WorkflowID:    req.WorkflowID,
		MoveID:        req.MoveID,
	}
	if err := mreq.validate(); err != nil {
		return AliasMove{}, fmt.Errorf("rollback: %w", err)
	}
	move, err := r.moveAlias(ctx, mreq, KindRollback)
	if err != nil {
		return move, fmt.Errorf("rollback model %s from v%d to v%d: %w", req.Model, cur.Version, to, err)
	}
	return move, nil
}

func (r *Registry) rollbackTarget(ctx context.Context, req RollbackRequest, current int) (int, error) {
	if req.To != nil {
		return *req.To, nil
	}
	var candidates []int
	var prev AliasMove
	if _, found, err := r.getJSON(ctx, aliasKey(req.Model, Previous), &prev); err != nil {
		return 0, err
	} else if found {
		candidates = append(candidates, prev.Version)
	}
	hist, err := r.History(ctx, req.Model, Production)
	if err != nil {
		return 0, err
	}
	for _, h := range slices.Backward(hist) {
		candidates = append(candidates, h.Version)
	}
	// A version production was rolled back from is no candidate until it
	// is promoted again.
	tried := map[int]bool{current: true, 0: true}
	for _, h := range hist {
		if h.Kind == KindRollback {
			tried[h.Previous] = true
		} else if h.Version != current {
			tried[h.Version] = false
		}
	}
	tried[current] = true
	var skipped []string
	for _, v := range candidates {
		if tried[v] {
			continue
		}
		tried[v] = true
		err := r.Verify(ctx, req.Model, v)
		if err == nil {
			return v, nil
		}
		if !errorsAsIntegrity(err) && !errors.Is(err, ErrNotFound) {
			return 0, err
		}
		skipped = append(skipped, fmt.Sprintf("v%d (%v)", v, err))
	}
	return 0, fmt.Errorf("no earlier production version to roll back to (skipped: %s): %w", strings.Join(skipped, "; "), ErrNotFound)
}

// Aliases returns the current move of every alias of a model, sorted by
// alias name.
func (r *Registry) Aliases(ctx context.Context, model string) ([]AliasMove, error) {
	if err := validModel(model); err != nil {
		return nil, err
	}
	prefix := modelPrefix(model) + "aliases/"
	keys, err := r.list(ctx, prefix, false)
	if err != nil {
		return nil, err
	}
	var out []AliasMove
	for _, k := range keys {
		name, ok := strings.CutSuffix(strings.TrimPrefix(k, prefix), ".json")
		if !ok || !nameRE.MatchString(name) {
			continue
		}
		var m AliasMove
		if _, found, err := r.getJSON(ctx, k, &m); err != nil {
			return nil, err
		} else if found {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b AliasMove) int { return strings.Compare(a.Alias, b.Alias) })
	return out, nil
}

// Resolve returns the version an alias points to; the error wraps
// ErrNotFound when the alias is unset.
func (r *Registry) Resolve(ctx context.Context, model, alias string) (int, error) {
	if err := validModel(model); err != nil {
		return 0, err
	}
	if err := validAlias(alias); err != nil {
		return 0, err
	}
	var m AliasMove
	_, found, err := r.getJSON(ctx, aliasKey(model, alias), &m)
	if err != nil {
		return 0, fmt.Errorf("resolve %s@%s: %w", model, alias, err)
	}
	if !found {
		return 0, fmt.Errorf("resolve %s@%s: %w", model, alias, ErrNotFound)
	}
	return m.Version, nil
}

// LoadAlias resolves an alias and loads the version it points to, checking
// every artifact; the serving path uses it.
func (r *Registry) LoadAlias(ctx context.Context, model, alias string) (*Manifest, map[string][]byte, error) {
	v, err := r.Resolve(ctx, model, alias)
	if err != nil {
		return nil, nil, err
	}
	return r.Load(ctx, model, v)
}

// History returns every move of an alias, oldest first.
func (r *Registry) History(ctx context.Context, model, alias string) ([]AliasMove, error) {
	if err := validModel(model); err != nil {
		return nil, err
	}
	if err := validAlias(alias); err != nil {
		return nil, err
	}
	prefix := historyPrefix(model, alias)
	keys, err := r.list(ctx, prefix, true)
	if err != nil {
		return nil, fmt.Errorf("history of %s@%s: %w", model, alias, err)
	}
	seen := make(map[int64]bool, len(keys))
	out := make([]AliasMove, 0, len(keys)+1)
	for _, k := range keys {
		var m AliasMove
		if _, found, err := r.getJSON(ctx, k, &m); err != nil {
			return nil, fmt.Errorf("history of %s@%s: %w", model, alias, err)
		} else if found && !seen[m.Seq] {
			seen[m.Seq] = true
			out = append(out, m)
		}
	}
	var cur AliasMove
	if _, found, err := r.getJSON(ctx, aliasKey(model, alias), &cur); err != nil {
		return nil, fmt.Errorf("history of %s@%s: %w", model, alias, err)
	} else if found && !seen[cur.Seq] {
		out = append(out, cur)
	}
	slices.SortFunc(out, func(a, b AliasMove) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// At returns the version an alias pointed to at time t; ok is false when it
// was unset then.
func (r *Registry) At(ctx context.Context, model, alias string, t time.Time) (version int, ok bool, err error) {
	hist, err := r.History(ctx, model, alias)
	if err != nil {
		return 0, false, err
	}
	version = 0
	for _, m := range hist {
		if m.MovedAt.After(t) {
			break
		}
		version = m.Version
	}
	return version, version > 0, nil
}

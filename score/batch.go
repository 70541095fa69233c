// Package score scores customers with registered model versions outside
// the HTTP server: LoadVersion loads a verified version as every scoring
// path must see it, and Batch scores a partition of a day's clean
// customers into the scores table. The worker's batch scoring links this
// package, not serve.
package score

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/schema"
	"github.com/promoflow/promoflow/store"
)

// BatchRequest asks to score partition Partition of Partitions of a
// source's clean customers of one day.
type BatchRequest struct {
	Model string
	// Version is the version to score with; 0 resolves `production` (pass
	// the resolved version to every partition so they agree).
	Version    int
	Source     string
	Day        time.Time
	Partition  int
	Partitions int
}

// BatchResult says what one partition's scoring did.
type BatchResult struct {
	Model    string        `json:"model"`
	Version  int           `json:"version"`
	Rows     int           `json:"rows"`    // customers read
	Written  int64         `json:"written"` // rows upserted into scores
	Duration time.Duration `json:"duration"`
}

// ErrNoIDColumn is returned when a model's schema has no id column, so
// scores cannot be keyed by customer.
var ErrNoIDColumn = errors.New("model schema has no id column")

// Batch scores one partition of a day's clean customers with a verified
// model version (LoadVersion: without its disabled arms) and upserts the
// scores into the scores table.
// Partitions are disjoint by a hash of the customer id (see
// store.LoadCleanPartition), so n workers can each take one, and a re-run
// of a partition replaces its own rows.
func Batch(ctx context.Context, reg *registry.Registry, st *store.Store, req BatchRequest) (BatchResult, error) {
	start := time.Now()
	what := fmt.Sprintf("batch score %s %s %s partition %d/%d", req.Model, req.Source, req.Day.Format(time.DateOnly), req.Partition, req.Partitions)
	v := req.Version
	if v == 0 {
		var err error
		if v, err = reg.Resolve(ctx, req.Model, registry.Production); err != nil {
			return BatchResult{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	m, _, err := LoadVersion(ctx, reg, req.Model, v)
	if err != nil {
		return BatchResult{}, fmt.Errorf("%s: %w", what, err)
	}
	ids := m.Schema.OfKind(schema.ID)
	if len(ids) == 0 {
		return BatchResult{}, fmt.Errorf("%s: v%d: %w", what, v, ErrNoIDColumn)
	}
	tbl, err := st.LoadCleanPartition(ctx, req.Source, req.Day, req.Partition, req.Partitions)
	if err != nil {
		return BatchResult{}, fmt.Errorf("%s: %w", what, err)
	}
	res := BatchResult{Model: req.Model, Version: v, Rows: len(tbl.Rows)}
	if len(tbl.Rows) > 0 {
		idCol, err := tbl.Column(ids[0].Name)
		if err != nil {
			return BatchResult{}, fmt.Errorf("%s: %w", what, err)
		}
		scores, err := m.ScoreTable(tbl)
		if err != nil {
			return BatchResult{}, fmt.Errorf("%s: v%d: %w", what, v, err)
		}
		out := make([]store.BatchScore, len(scores))
		for i, s := range scores {
			out[i] = store.BatchScore{CustomerID: idCol[i], Propensity: s.Propensity, Uplift: s.Uplift}
		}
		if res.Written, err = st.SaveScores(ctx, req.Model, v, req.Source, req.Day, out); err != nil {
			return BatchResult{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

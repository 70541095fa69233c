package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"

	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/score"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/workflows"
)

// Scoring holds the batch scoring activity.
type Scoring struct {
	Store    *store.Store
	Registry *registry.Registry
}

// ScorePartition scores partition i of n of a source's clean customers of
// a day into the scores table. It is idempotent: a retry upserts the same
// rows. Bad input (day, partition, unknown model or version, a schema
// without id column, a corrupt version) is not retried.
func (s *Scoring) ScorePartition(ctx context.Context, in workflows.ScorePartitionInput) (workflows.PartitionResult, error) {
	day, err := store.ParseDay(in.Day)
	if err != nil {
		return workflows.PartitionResult{}, invalidInput(err)
	}
	if in.Partitions < 1 || in.Partition < 0 || in.Partition >= in.Partitions {
		return workflows.PartitionResult{}, invalidInput(fmt.Errorf("partition %d of %d: %w", in.Partition, in.Partitions, store.ErrBadPartition))
	}
	activity.RecordHeartbeat(ctx, in.Partition)
	res, err := score.Batch(ctx, s.Registry, s.Store, score.BatchRequest{
		Model: in.Model, Version: in.Version, Source: in.Source, Day: day, Partition: in.Partition, Partitions: in.Partitions,
	})
	if err != nil {
		var ie *registry.IntegrityError
		var ve *registry.ValidationError
		if errors.As(err, &ie) || errors.As(err, &ve) || errors.Is(err, registry.ErrNotFound) ||
			errors.Is(err, score.ErrNoIDColumn) || errors.Is(err, store.ErrNoCleanData) {
			return workflows.PartitionResult{}, invalidInput(err)
		}
		return workflows.PartitionResult{}, classify(err)
	}
	return workflows.PartitionResult{Version: res.Version, Rows: res.Rows, Written: res.Written}, nil
}

package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/workflows"
)

// Aliases holds the activities that read and move a model's aliases:
// promotion, rollback and resolving an alias to its version.
type Aliases struct {
	Registry *registry.Registry
}

// MoveAlias points an alias at a version; for production it keeps the old
// target as `previous`. The move id is the workflow and activity id, so a
// retried activity does not move twice.
func (a *Aliases) MoveAlias(ctx context.Context, in workflows.MoveInput) (workflows.MoveResult, error) {
	req := registry.MoveRequest{
		Model: in.Model, Alias: in.Alias, To: in.To, Actor: in.Actor, Reason: in.Reason,
		WorkflowID: in.WorkflowID, MoveID: moveID(ctx),
	}
	var mv registry.AliasMove
	var err error
	if in.KeepPrevious && in.Alias == registry.Production {
		mv, err = a.Registry.Promote(ctx, req)
	} else {
		mv, err = a.Registry.MoveAlias(ctx, req)
	}
	if err != nil {
		return workflows.MoveResult{}, nonRetryableIf(err)
	}
	return workflows.MoveResult{Alias: mv.Alias, From: mv.Previous, To: mv.Version}, nil
}

// RollbackAlias moves production back (see registry.Rollback).
func (a *Aliases) RollbackAlias(ctx context.Context, in workflows.RollbackInput) (workflows.MoveResult, error) {
	req := registry.RollbackRequest{Model: in.Model, Actor: in.Actor, Reason: in.Reason, WorkflowID: in.WorkflowID, MoveID: moveID(ctx)}
	if in.To > 0 {
		req.To = &in.To
	}
	mv, err := a.Registry.Rollback(ctx, req)
	if err != nil {
		return workflows.MoveResult{}, nonRetryableIf(err)
	}
	return workflows.MoveResult{Alias: mv.Alias, From: mv.Previous, To: mv.Version}, nil
}

// ResolveAlias returns the version an alias of a model points to.
func (a *Aliases) ResolveAlias(ctx context.Context, model, alias string) (int, error) {
	v, err := a.Registry.Resolve(ctx, model, alias)
	if err != nil {
		return 0, nonRetryableIf(err)
	}
	return v, nil
}

// moveID is an idempotency key for an alias move made by this activity.
func moveID(ctx context.Context) string {
	if !activity.IsActivity(ctx) {
		return ""
	}
	info := activity.GetInfo(ctx)
	return info.WorkflowExecution.RunID + ":" + info.ActivityID
}

package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"
)

// RollbackInput asks for production to go back to To, or to `previous`
// (or the last version that verifies) when To is 0.
type RollbackInput struct {
	Model      string
	To         int
	Actor      string
	Reason     string
	WorkflowID string
}

// Rollback moves production back to the requested version, or to
// `previous` (or the last version that verifies) when none is named.
func Rollback(ctx workflow.Context, in RollbackInput) (MoveResult, error) {
	if err := requireWho(in.Actor, in.Reason); err != nil {
		return MoveResult{}, err
	}
	in.WorkflowID = workflow.GetInfo(ctx).WorkflowExecution.ID
	short := workflow.WithActivityOptions(ctx, shortOpts())
	var mv MoveResult
	if err := workflow.ExecuteActivity(short, ActRollback, in).Get(ctx, &mv); err != nil {
		return mv, fmt.Errorf("roll back %s: %w", in.Model, err)
	}
	return mv, nil
}

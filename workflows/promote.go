package workflows

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/promoflow/promoflow/gate"
)

// PromoteInput is a person's request to put a version in production.
type PromoteInput struct {
	Model   string
	Version int
	Actor   string
	Reason  string
	// Force skips the gate; it still needs a reason, which the audit log keeps.
	Force bool
}

// PromoteResult says whether the version went to production and why.
type PromoteResult struct {
	Promoted bool
	Verdict  *gate.Verdict `json:",omitempty"`
	Move     *MoveResult   `json:",omitempty"`
}

// PromoteWorkflowID serialises promotions of one model: Temporal allows one
// running workflow per id, so a second concurrent promotion is refused.
// Manual rollbacks run under the same id.
func PromoteWorkflowID(model string) string { return "promote-" + model }

// Promote runs the gate on the version (unless forced) and moves production.
func Promote(ctx workflow.Context, in PromoteInput) (PromoteResult, error) {
	if err := requireWho(in.Actor, in.Reason); err != nil {
		return PromoteResult{}, err
	}
	short := workflow.WithActivityOptions(ctx, shortOpts())
	data := workflow.WithActivityOptions(ctx, dataOpts())
	var res PromoteResult
	reason := in.Reason
	if !in.Force {
		var v gate.Verdict
		if err := workflow.ExecuteActivity(data, ActValidate, ValidateInput{Model: in.Model, Version: in.Version}).Get(ctx, &v); err != nil {
			return res, fmt.Errorf("validate %s v%d: %w", in.Model, in.Version, err)
		}
		res.Verdict = &v
		if !v.Pass {
			return res, nil
		}
	} else {
		reason = "forced: " + reason
	}
	var mv MoveResult
	move := MoveInput{
		Model: in.Model, Alias: ProductionAlias, To: in.Version, Actor: in.Actor, Reason: reason,
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, KeepPrevious: true,
	}
	if err := workflow.ExecuteActivity(short, ActMoveAlias, move).Get(ctx, &mv); err != nil {
		return res, fmt.Errorf("move production of %s to v%d: %w", in.Model, in.Version, err)
	}
	res.Promoted, res.Move = true, &mv
	return res, nil
}

// requireWho refuses a manual change (a promotion or a rollback) without
// an actor and a reason.
func requireWho(actor, reason string) error {
	if strings.TrimSpace(actor) == "" {
		return temporal.NewNonRetryableApplicationError("an actor is required", "InvalidInput", errors.New("empty actor"))
	}
	if strings.TrimSpace(reason) == "" {
		return temporal.NewNonRetryableApplicationError("a reason is required", "InvalidInput", errors.New("empty reason"))
	}
	return nil
}

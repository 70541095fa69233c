package control

// The changes people make to production — promote, approve, roll back —
// go the same way whether they come from the CLI or the scoring service's
// API: through the Promote and Rollback workflows (one at a time per
// model) or the waiting run's approve update, with every refused attempt
// recorded in the audit log next to the moves that happened.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/workflows"
)

// Changer starts manual changes of a model's production alias.
type Changer struct {
	Temporal  client.Client
	TaskQueue string
	// Audit receives refused attempts; nil records none (the moves that
	// happen are audited by the registry either way).
	Audit *store.Store
}

// ErrBusy means another promotion or rollback of the model is running.
var ErrBusy = errors.New("another promotion or rollback is running")

// ErrInvalid means the request lacks what a manual change needs.
var ErrInvalid = errors.New("invalid request")

// GateError is a promotion the gate refused; Verdict says why.
type GateError struct{ Verdict gate.Verdict }

func (e *GateError) Error() string {
	return "gate refused the promotion: failed " + strings.Join(e.Verdict.Failed(), ", ")
}

func validate(model, actor, reason string) error {
	switch {
	case strings.TrimSpace(model) == "":
		return fmt.Errorf("%w: a model is required", ErrInvalid)
	case strings.TrimSpace(actor) == "":
		return fmt.Errorf("%w: an actor is required", ErrInvalid)
	case strings.TrimSpace(reason) == "":
		return fmt.Errorf("%w: a reason is required", ErrInvalid)
	}
	return nil
}

// Promote runs the Promote workflow (the gate unless in.Force) and waits.
// A refusal — busy, the gate, a failed move — is returned as an error and
// recorded in the audit log.
func (c *Changer) Promote(ctx context.Context, in workflows.PromoteInput) (workflows.PromoteResult, error) {
	var res workflows.PromoteResult
	if err := validate(in.Model, in.Actor, in.Reason); err != nil {
		return res, err
	}
	if in.Version <= 0 {
		return res, fmt.Errorf("%w: version %d", ErrInvalid, in.Version)
	}
	err := c.run(ctx, in.Model, workflows.PromoteWorkflow, in, &res)
	if err == nil && !res.Promoted && res.Verdict != nil {
		err = &GateError{Verdict: *res.Verdict}
	}
	if err != nil {
		err = c.refused(ctx, "promote", in.Model, in.Version, in.Actor, in.Reason, err)
	}
	return res, err
}

// Rollback runs the Rollback workflow and waits; a refusal is audited.
func (c *Changer) Rollback(ctx context.Context, in workflows.RollbackInput) (workflows.MoveResult, error) {
	var mv workflows.MoveResult
	if err := validate(in.Model, in.Actor, in.Reason); err != nil {
		return mv, err
	}
	err := c.run(ctx, in.Model, workflows.RollbackWorkflow, in, &mv)
	if err != nil {
		err = c.refused(ctx, "rollback", in.Model, in.To, in.Actor, in.Reason, err)
	}
	return mv, err
}

// run runs a manual workflow on the model's promote-<model> id and waits
// for its result; the start policy refuses it while another runs.
func (c *Changer) run(ctx context.Context, model, workflow string, in, out any) error {
	id := workflows.PromoteWorkflowID(model)
	err := Starter{Temporal: c.Temporal, TaskQueue: c.TaskQueue}.Run(ctx, workflow, id, in, out, nil)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return fmt.Errorf("%w for %s (workflow %s); they are serialised per model, try again when it ends", ErrBusy, model, id)
	}
	return err
}

// Approve approves the challenger a waiting DailyRetrain run holds; the
// run's validator refuses a wrong version or a missing reason.
func (c *Changer) Approve(ctx context.Context, workflowID string, req workflows.ApproveRequest) (int, error) {
	if strings.TrimSpace(workflowID) == "" || req.Version <= 0 {
		return 0, fmt.Errorf("%w: a run and a version are required", ErrInvalid)
	}
	h, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateName:   workflows.UpdateApprove,
		WaitForStage: client.WorkflowUpdateStageCompleted,
		Args:         []any{req},
	})
	if err != nil {
		return 0, fmt.Errorf("approve %s: %w", workflowID, err)
	}
	var v int
	if err := h.Get(ctx, &v); err != nil {
		return 0, fmt.Errorf("approve %s: %w", workflowID, err)
	}
	return v, nil
}

// refused records a refused attempt and returns why, saying so when the
// record itself failed.
func (c *Changer) refused(ctx context.Context, action, model string, version int, actor, reason string, why error) error {
	if c.Audit == nil {
		return why
	}
	detail, _ := json.Marshal(map[string]string{"refused": why.Error()})
	// The context may be the one that was cancelled; the record still goes.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := c.Audit.RecordAudit(rctx, store.AuditEntry{
		Actor: actor, Action: action + "-refused", Model: model, Alias: registry.Production, ToVersion: version,
		Reason: reason, MoveID: fmt.Sprintf("refused-%s-%s-%d", action, model, time.Now().UnixNano()), Detail: detail,
	})
	if err != nil {
		return fmt.Errorf("%w (the refusal is not in the audit log: %v)", why, err)
	}
	return why
}

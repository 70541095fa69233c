package workflows

import (
	"errors"
	"fmt"
	"github.com/promoflow/promoflow/gate"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// DailyInput starts the retrain of one model for one day.
type DailyInput struct {
	Model string
	Day   string // yyyy-mm-dd
	// NoCache retrains even when an identical training key already
	// produced a version.
	NoCache bool
}

// DailyResult names each step's outcome and what the run decided.
type DailyResult struct {
	Model    string
	Day      string
	Version  int
	Reused   bool
	Promoted bool
	Verdict  *gate.Verdict `json:",omitempty"`
	Steps    []StepOutcome
}

// Step returns the outcome of the named step.
func (r DailyResult) Step(name string) (StepOutcome, bool) {
	for _, s := range r.Steps {
		if s.Step == name {
			return s, true
		}
	}
	return StepOutcome{}, false
}

// Update and query names of DailyRetrain.
const (
	UpdateApprove = "approve"
	QueryStep     = "step"
)

// ApproveRequest is a person's approval of a waiting challenger.
type ApproveRequest struct {
	Version int
	Actor   string
	Reason  string
}

// DailyWorkflowID is the one workflow id of a model's day, so a day runs once.
func DailyWorkflowID(model, day string) string {
	return "daily-" + model + "-" + day
}

// activity option sets: quick bookkeeping, data steps, and training.
func shortOpts() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         retryPolicy(),
	}
}

func dataOpts() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    20 * time.Second, // activities heartbeat every few seconds; a dead worker is noticed fast
		RetryPolicy:         retryPolicy(),
	}
}

func retryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		MaximumAttempts:        20,
		NonRetryableErrorTypes: []string{"InvalidInput"},
	}
}

// DailyRetrain runs one model's day: ingest → clean → train → validate →
// gate → (approval) → promote. Every step is an activity with its own
// timeout and retry policy; bad input stops the run without retries.
func DailyRetrain(ctx workflow.Context, in DailyInput) (DailyResult, error) {
	if in.Day == "" {
		in.Day = scheduledDay(ctx)
		_ = workflow.UpsertTypedSearchAttributes(ctx, temporal.NewSearchAttributeKeyKeyword(SADay).ValueSet(in.Day))
	}
	res := DailyResult{Model: in.Model, Day: in.Day}
	step := "starting"
	if err := workflow.SetQueryHandler(ctx, QueryStep, func() (string, error) { return step, nil }); err != nil {
		return res, err
	}
	info := workflow.GetInfo(ctx)
	started := workflow.Now(ctx)
	record := func(status string) {
		rctx := workflow.WithActivityOptions(ctx, shortOpts())
		rec := RunRecord{
			WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
			Model: in.Model, Day: in.Day, Status: status, Version: res.Version, Steps: res.Steps,
			StartedAt: started, FinishedAt: workflow.Now(ctx),
		}
		if err := workflow.ExecuteActivity(rctx, ActRecordRun, rec).Get(rctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("record run", "err", err)
		}
	}
	done := func(name, status, detail string) {
		res.Steps = append(res.Steps, StepOutcome{Step: name, Status: status, Detail: detail})
	}
	fail := func(name string, err error) (DailyResult, error) {
		done(name, "failed", errorMessage(err))
		record("failed")
		return res, fmt.Errorf("%s: %w", name, err)
	}

	short := workflow.WithActivityOptions(ctx, shortOpts())
	data := workflow.WithActivityOptions(ctx, dataOpts())

	step = "plan"
	var plan Plan
	if err := workflow.ExecuteActivity(short, ActLoadPlan, in.Model).Get(ctx, &plan); err != nil {
		return fail(step, err)
	}

	// A day runs once: a schedule's backfill or catch-up of a day that
	// already ran must not retrain or move production again.
	var prior PriorRun
	if err := workflow.ExecuteActivity(short, ActFindRun, in.Model, in.Day).Get(ctx, &prior); err != nil {
		return fail(step, err)
	}
	if prior.Found {
		res.Version = prior.Version
		done("plan", "skipped", fmt.Sprintf("day already ran: workflow %s ended %s with version %d", prior.WorkflowID, prior.Status, prior.Version))
		record("skipped")
		return res, nil
	}
	record("running")

	step = "ingest"
	var keys []string
	if err := workflow.ExecuteActivity(short, ActListLanding, plan.Source, in.Day).Get(ctx, &keys); err != nil {
		return fail(step, err)
	}
	ing, err := ingestFiles(data, plan.Source, in.Day, keys)
	if err != nil {
		return fail(step, err)
	}
	done(step, "ok", ing.String())

	step = "clean"
	var cr CleanResult
	if err := workflow.ExecuteActivity(data, ActCleanDay, CleanInput{Model: in.Model, Source: plan.Source, Day: in.Day}).Get(ctx, &cr); err != nil {
		return fail(step, err)
	}
	done(step, "ok", fmt.Sprintf("%d in = %d clean + %d quarantined", cr.RowsIn, cr.Clean, cr.Quarantined))

	step = "train"
	var tr TrainResult
	tin := TrainInput{
		Model: in.Model, Source: plan.Source, Day: in.Day, WindowDays: plan.WindowDays,
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, NoCache: in.NoCache,
	}
	if err := workflow.ExecuteActivity(data, ActTrainModel, tin).Get(ctx, &tr); err != nil {
		return fail(step, err)
	}
	res.Version, res.Reused = tr.Version, tr.Reused
	_ = workflow.UpsertTypedSearchAttributes(ctx, temporal.NewSearchAttributeKeyInt64(SAVersion).ValueSet(int64(tr.Version)))
	if tr.Reused {
		done(step, "reused", fmt.Sprintf("version %d already trained on identical data and configuration (fingerprint %s)", tr.Version, short12(tr.Fingerprint)))
	} else {
		done(step, "ok", strings.TrimSuffix(fmt.Sprintf("version %d on %d rows; %s", tr.Version, tr.Rows, tr.Note), "; "))
	}

	step = "validate"
	var v gate.Verdict
	if err := workflow.ExecuteActivity(data, ActValidate, ValidateInput{Model: in.Model, Version: tr.Version, Day: in.Day}).Get(ctx, &v); err != nil {
		return fail(step, err)
	}
	res.Verdict = &v

	// The training report (metrics, curves, coefficients, data quality and
	// this verdict) goes next to the version. People read it; the decision
	// does not wait on it, so a report that cannot be written is noted and
	// the run goes on.
	step = "report"
	rctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	})
	var rep ReportResult
	if err := workflow.ExecuteActivity(rctx, ActWriteReport, ReportInput{Model: in.Model, Version: tr.Version}).Get(ctx, &rep); err != nil {
		done(step, "failed", "report not written: "+errorMessage(err))
	} else {
		done(step, "ok", fmt.Sprintf("%s of version %d", rep.Artifact, tr.Version))
	}
	step = "validate"
	if v.Production >= tr.Version {
		// Automatic runs only move production forward; going back is a
		// rollback, a person's or the monitor's decision.
		done(step, "skipped", fmt.Sprintf("version %d is not newer than production %d", tr.Version, v.Production))
		record("completed")
		return res, nil
	}
	if !v.Pass {
		done(step, "rejected", "failed checks: "+strings.Join(v.Failed(), ", "))
		record("rejected")
		return res, nil
	}
	if len(v.DisabledArms) > 0 {
		done(step, "ok", "passed; disabled arms, never offered: "+strings.Join(v.DisabledArms, ", "))
	} else {
		done(step, "ok", fmt.Sprintf("all %d checks passed", len(v.Checks)))
	}

	actor, reason := "schedule", fmt.Sprintf("daily retrain %s passed the gate", in.Day)
	if plan.RequireApproval {
		step = "approval"
		var approval *ApproveRequest
		if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateApprove,
			func(ctx workflow.Context, req ApproveRequest) (int, error) {
				approval = &req
				return tr.Version, nil
			},
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req ApproveRequest) error {
				return validateApproval(req, tr.Version, approval != nil)
			}},
		); err != nil {
			return fail(step, err)
		}
		ok, err := workflow.AwaitWithTimeout(ctx, plan.ApprovalTimeout, func() bool { return approval != nil })
		if err != nil {
			return fail(step, err)
		}
		if !ok {
			done(step, "timeout", fmt.Sprintf("no approval within %s; version %d stays unpromoted", plan.ApprovalTimeout, tr.Version))
			record("unapproved")
			return res, nil
		}
		actor, reason = approval.Actor, approval.Reason
		done(step, "ok", fmt.Sprintf("approved by %s: %s", actor, reason))
	}

	step = "promote"
	var mv MoveResult
	move := MoveInput{
		Model: in.Model, Alias: "production", To: tr.Version, Actor: actor, Reason: reason,
		WorkflowID: info.WorkflowExecution.ID, KeepPrevious: true,
	}
	if err := workflow.ExecuteActivity(short, ActMoveAlias, move).Get(ctx, &mv); err != nil {
		return fail(step, err)
	}
	res.Promoted = true
	done(step, "ok", fmt.Sprintf("production %d → %d", mv.From, mv.To))
	record("promoted")
	return res, nil
}

// scheduledDay is the UTC day a Temporal Schedule (or its backfill) meant
// this run for, or the workflow's own start day when it was not scheduled.
func scheduledDay(ctx workflow.Context) string {
	t := workflow.Now(ctx)
	key := temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")
	if st, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(key); ok {
		t = st
	}
	return t.UTC().Format(time.DateOnly)
}

// validateApproval rejects an approval for another version, one without a
// reason or an actor, and a second approval.
func validateApproval(req ApproveRequest, version int, already bool) error {
	switch {
	case already:
		return errors.New("already approved")
	case req.Version != version:
		return fmt.Errorf("run waits for approval of version %d, not %d", version, req.Version)
	case strings.TrimSpace(req.Reason) == "":
		return errors.New("an approval needs a reason")
	case strings.TrimSpace(req.Actor) == "":
		return errors.New("an approval needs an actor")
	}
	return nil
}

func short12(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// errorMessage unwraps Temporal's activity error to the cause people need.
func errorMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Error()
	}
	return err.Error()
}

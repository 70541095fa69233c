package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/promoflow/promoflow/gate"
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

// StepOutcome is what one step of a run did.
type StepOutcome struct {
	Step   string
	Status string // ok, skipped, failed, rejected, waiting
	Detail string
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

// PriorRun is an earlier run that already decided a model's day.
type PriorRun struct {
	Found      bool
	WorkflowID string
	RunID      string
	Status     string
	Version    int
}

// RunRecord is a run's row in PostgreSQL's run history.
type RunRecord struct {
	WorkflowID string
	RunID      string
	Model      string
	Day        string
	Status     string
	Version    int
	Steps      []StepOutcome
	StartedAt  time.Time
	FinishedAt time.Time
}

// TrainInput asks for a model trained on the window of clean days ending at Day.
type TrainInput struct {
	Model      string
	Source     string
	Day        string
	WindowDays int
	WorkflowID string
	RunID      string
	NoCache    bool
}

// TrainResult names the registered version and what it learned from.
type TrainResult struct {
	Version     int
	Rows        int
	Fingerprint string
	Metrics     map[string]float64
	// Reused is true when an identical training key had already produced
	// Version, so nothing was retrained.
	Reused bool
	// Note says what a person should know about the step, e.g. that the
	// training cache was bypassed because the code has no identity.
	Note string `json:",omitempty"`
}

// ReportInput asks for a version's training report.
type ReportInput struct {
	Model   string
	Version int
}

// ReportResult says where the report is.
type ReportResult struct {
	// Artifact is the report's name in the version (report.html).
	Artifact string
	Bytes    int
	// Existing is true when the version already had its report (a retry,
	// or a report rendered earlier from data that changed since).
	Existing bool
}

// DailyRetrain runs one model's day: plan → ingest → clean → train →
// validate → report → gate → (approval) → promote. Every step is an
// activity with its own timeout and retry policy; bad input stops the run
// without retries. Each step returns whether the run ends there.
func DailyRetrain(ctx workflow.Context, in DailyInput) (DailyResult, error) {
	r, err := startDaily(ctx, in)
	if err != nil {
		return r.res, err
	}
	for _, step := range []func() (bool, error){
		r.loadPlan, r.dayAlreadyRan, r.ingest, r.clean, r.train,
		r.validate, r.report, r.decide, r.approve, r.promote,
	} {
		if ended, err := step(); ended || err != nil {
			return r.res, err
		}
	}
	return r.res, nil
}

// dailyRun is one DailyRetrain run: its input, what its steps learned and
// the result they build. Its methods are the steps, in the order they run.
type dailyRun struct {
	ctx     workflow.Context
	short   workflow.Context // quick bookkeeping activities
	data    workflow.Context // activities over a day's data
	in      DailyInput
	run     workflow.Execution
	started time.Time
	current string // the step in progress, answered to QueryStep

	plan     Plan
	trained  TrainResult
	verdict  gate.Verdict
	approval *ApproveRequest // a person's approval, when the model needs one

	res DailyResult
}

// startDaily settles the run's day (the scheduled one when none is given)
// and answers QueryStep with the step in progress.
func startDaily(ctx workflow.Context, in DailyInput) (*dailyRun, error) {
	if in.Day == "" {
		in.Day = scheduledDay(ctx)
		_ = workflow.UpsertTypedSearchAttributes(ctx, temporal.NewSearchAttributeKeyKeyword(SADay).ValueSet(in.Day))
	}
	r := &dailyRun{
		ctx:     ctx,
		short:   workflow.WithActivityOptions(ctx, shortOpts()),
		data:    workflow.WithActivityOptions(ctx, dataOpts()),
		in:      in,
		run:     workflow.GetInfo(ctx).WorkflowExecution,
		started: workflow.Now(ctx),
		current: "starting",
		res:     DailyResult{Model: in.Model, Day: in.Day},
	}
	err := workflow.SetQueryHandler(ctx, QueryStep, func() (string, error) { return r.current, nil })
	return r, err
}

// loadPlan reads the part of the model's configuration that shapes the run.
func (r *dailyRun) loadPlan() (bool, error) {
	const step = "plan"
	r.current = step
	if err := workflow.ExecuteActivity(r.short, ActLoadPlan, r.in.Model).Get(r.ctx, &r.plan); err != nil {
		return r.fail(step, err)
	}
	return false, nil
}

// dayAlreadyRan ends the run when an earlier run decided the day: a
// schedule's backfill or catch-up of a day that already ran must not
// retrain or move production again. Otherwise the run is recorded running.
func (r *dailyRun) dayAlreadyRan() (bool, error) {
	const step = "plan"
	var prior PriorRun
	if err := workflow.ExecuteActivity(r.short, ActFindRun, r.in.Model, r.in.Day).Get(r.ctx, &prior); err != nil {
		return r.fail(step, err)
	}
	if !prior.Found {
		r.record("running")
		return false, nil
	}
	r.res.Version = prior.Version
	return r.end("skipped", step, "skipped",
		fmt.Sprintf("day already ran: workflow %s ended %s with version %d", prior.WorkflowID, prior.Status, prior.Version))
}

// ingest loads every file landed for the source and day into PostgreSQL.
func (r *dailyRun) ingest() (bool, error) {
	const step = "ingest"
	r.current = step
	var keys []string
	if err := workflow.ExecuteActivity(r.short, ActListLanding, r.plan.Source, r.in.Day).Get(r.ctx, &keys); err != nil {
		return r.fail(step, err)
	}
	sum, err := ingestFiles(r.data, r.plan.Source, r.in.Day, keys)
	if err != nil {
		return r.fail(step, err)
	}
	return r.ok(step, sum.String())
}

// clean splits the day into clean rows and quarantined ones.
func (r *dailyRun) clean() (bool, error) {
	const step = "clean"
	r.current = step
	var cr CleanResult
	in := CleanInput{Model: r.in.Model, Source: r.plan.Source, Day: r.in.Day}
	if err := workflow.ExecuteActivity(r.data, ActCleanDay, in).Get(r.ctx, &cr); err != nil {
		return r.fail(step, err)
	}
	return r.ok(step, fmt.Sprintf("%d in = %d clean + %d quarantined", cr.RowsIn, cr.Clean, cr.Quarantined))
}

// train registers a version trained on the window of clean days, or
// reuses the version identical data and configuration already produced.
func (r *dailyRun) train() (bool, error) {
	const step = "train"
	r.current = step
	in := TrainInput{
		Model: r.in.Model, Source: r.plan.Source, Day: r.in.Day, WindowDays: r.plan.WindowDays,
		WorkflowID: r.run.ID, RunID: r.run.RunID, NoCache: r.in.NoCache,
	}
	tr := &r.trained
	if err := workflow.ExecuteActivity(r.data, ActTrainModel, in).Get(r.ctx, tr); err != nil {
		return r.fail(step, err)
	}
	r.res.Version, r.res.Reused = tr.Version, tr.Reused
	_ = workflow.UpsertTypedSearchAttributes(r.ctx, temporal.NewSearchAttributeKeyInt64(SAVersion).ValueSet(int64(tr.Version)))
	if tr.Reused {
		r.note(step, "reused", fmt.Sprintf("version %d already trained on identical data and configuration (fingerprint %s)", tr.Version, short12(tr.Fingerprint)))
		return false, nil
	}
	return r.ok(step, strings.TrimSuffix(fmt.Sprintf("version %d on %d rows; %s", tr.Version, tr.Rows, tr.Note), "; "))
}

// validate judges the version against the gate and production.
func (r *dailyRun) validate() (bool, error) {
	const step = "validate"
	r.current = step
	in := ValidateInput{Model: r.in.Model, Version: r.trained.Version, Day: r.in.Day}
	if err := workflow.ExecuteActivity(r.data, ActValidate, in).Get(r.ctx, &r.verdict); err != nil {
		return r.fail(step, err)
	}
	r.res.Verdict = &r.verdict
	return false, nil
}

// report writes the training report (metrics, curves, coefficients, data
// quality and the verdict) next to the version. People read it; the
// decision does not wait on it, so a report that cannot be written is
// noted and the run goes on.
func (r *dailyRun) report() (bool, error) {
	const step = "report"
	r.current = step
	ctx := workflow.WithActivityOptions(r.ctx, reportOpts())
	var rep ReportResult
	in := ReportInput{Model: r.in.Model, Version: r.trained.Version}
	if err := workflow.ExecuteActivity(ctx, ActWriteReport, in).Get(r.ctx, &rep); err != nil {
		r.note(step, "failed", "report not written: "+errorMessage(err))
		return false, nil
	}
	return r.ok(step, fmt.Sprintf("%s of version %d", rep.Artifact, r.trained.Version))
}

// reportOpts give the report a few tries: it is read, not waited on.
func reportOpts() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	}
}

// decide reads the verdict, the outcome of the validate step: only a
// version that passed the gate goes on, and automatic runs only move
// production forward (going back is a rollback, a person's or the
// monitor's decision).
func (r *dailyRun) decide() (bool, error) {
	const step = "validate"
	r.current = step
	v, version := r.verdict, r.trained.Version
	switch {
	case v.Production >= version:
		return r.end("completed", step, "skipped", fmt.Sprintf("version %d is not newer than production %d", version, v.Production))
	case !v.Pass:
		return r.end("rejected", step, "rejected", "failed checks: "+strings.Join(v.Failed(), ", "))
	case len(v.DisabledArms) > 0:
		return r.ok(step, "passed; disabled arms, never offered: "+strings.Join(v.DisabledArms, ", "))
	}
	return r.ok(step, fmt.Sprintf("all %d checks passed", len(v.Checks)))
}

// approve waits, when the model needs a person's approval, for an
// UpdateApprove of the version until the plan's approval timeout.
func (r *dailyRun) approve() (bool, error) {
	if !r.plan.RequireApproval {
		return false, nil
	}
	const step = "approval"
	r.current = step
	version := r.trained.Version
	if err := workflow.SetUpdateHandlerWithOptions(r.ctx, UpdateApprove,
		func(ctx workflow.Context, req ApproveRequest) (int, error) {
			r.approval = &req
			return version, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req ApproveRequest) error {
			return validateApproval(req, version, r.approval != nil)
		}},
	); err != nil {
		return r.fail(step, err)
	}
	ok, err := workflow.AwaitWithTimeout(r.ctx, r.plan.ApprovalTimeout, func() bool { return r.approval != nil })
	if err != nil {
		return r.fail(step, err)
	}
	if !ok {
		return r.end("unapproved", step, "timeout", fmt.Sprintf("no approval within %s; version %d stays unpromoted", r.plan.ApprovalTimeout, version))
	}
	return r.ok(step, fmt.Sprintf("approved by %s: %s", r.approval.Actor, r.approval.Reason))
}

// promote moves production to the version, keeping the old one as
// previous, in the name of the approver or of the schedule.
func (r *dailyRun) promote() (bool, error) {
	const step = "promote"
	r.current = step
	actor, reason := "schedule", fmt.Sprintf("daily retrain %s passed the gate", r.in.Day)
	if a := r.approval; a != nil {
		actor, reason = a.Actor, a.Reason
	}
	move := MoveInput{
		Model: r.in.Model, Alias: ProductionAlias, To: r.trained.Version, Actor: actor, Reason: reason,
		WorkflowID: r.run.ID, KeepPrevious: true,
	}
	var mv MoveResult
	if err := workflow.ExecuteActivity(r.short, ActMoveAlias, move).Get(r.ctx, &mv); err != nil {
		return r.fail(step, err)
	}
	r.res.Promoted = true
	return r.end("promoted", step, "ok", fmt.Sprintf("production %d → %d", mv.From, mv.To))
}

// note adds a step's outcome to the result.
func (r *dailyRun) note(step, status, detail string) {
	r.res.Steps = append(r.res.Steps, StepOutcome{Step: step, Status: status, Detail: detail})
}

// ok notes a step that went well; the run goes on.
func (r *dailyRun) ok(step, detail string) (bool, error) {
	r.note(step, "ok", detail)
	return false, nil
}

// end notes a step's outcome and ends the run with runStatus in the run
// history.
func (r *dailyRun) end(runStatus, step, status, detail string) (bool, error) {
	r.note(step, status, detail)
	r.record(runStatus)
	return true, nil
}

// fail notes the step's error and ends the run as failed.
func (r *dailyRun) fail(step string, err error) (bool, error) {
	r.note(step, "failed", errorMessage(err))
	r.record("failed")
	return true, fmt.Errorf("%s: %w", step, err)
}

// record writes the run's row in the run history; a run whose record
// cannot be written still decides its day, so the failure is logged.
func (r *dailyRun) record(status string) {
	rec := RunRecord{
		WorkflowID: r.run.ID, RunID: r.run.RunID, Model: r.in.Model, Day: r.in.Day,
		Status: status, Version: r.res.Version, Steps: r.res.Steps,
		StartedAt: r.started, FinishedAt: workflow.Now(r.ctx),
	}
	if err := workflow.ExecuteActivity(r.short, ActRecordRun, rec).Get(r.short, nil); err != nil {
		workflow.GetLogger(r.ctx).Error("record run", "err", err)
	}
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

// short12 is the first 12 characters of a fingerprint, as people quote it.
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

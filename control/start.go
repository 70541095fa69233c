package control

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/workflows"
)

// Starter starts promoflow's workflows on a task queue and waits for them.
// What a start does when the workflow id is already taken is each
// workflow's policy in the policies table.
type Starter struct {
	Temporal  client.Client
	TaskQueue string
}

// policy is how a start treats a workflow id that is in use.
type policy struct {
	// whileRunning: USE_EXISTING joins the run going under the id; FAIL
	// refuses the start with *serviceerror.WorkflowExecutionAlreadyStarted.
	whileRunning enumspb.WorkflowIdConflictPolicy
	// afterClosed says whether a closed run's id may start a new run. When
	// it may not, the start joins the closed run and waits for its result.
	afterClosed enumspb.WorkflowIdReusePolicy
	// once: the run is not retried as a whole.
	once bool
	// labels, when set, name the model and day of an input, which the
	// run carries as search attributes.
	labels func(in any) (model, day string)
}

// policies is the start-or-join rule of every workflow people start:
//   - a model's day (DailyRetrain) is one run: a start joins the run going
//     or the completed one; only a failed day runs again;
//   - ingest, monitoring, scoring and the stack check join a run going
//     under the same id and otherwise start a new one;
//   - manual changes (Promote, Rollback) share one id per model and are
//     refused while one runs, so two people never both believe they moved
//     production; each runs once.
var policies = map[string]policy{
	workflows.DailyRetrainWorkflow: {
		whileRunning: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		afterClosed:  enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		labels: func(in any) (string, string) {
			d, _ := in.(workflows.DailyInput)
			return d.Model, d.Day
		},
	},
	workflows.IngestDayWorkflow:    joinRunning,
	workflows.MonitorDriftWorkflow: joinRunning,
	workflows.ScoreDayWorkflow:     joinRunning,
	workflows.StackCheckWorkflow:   joinRunning,
	workflows.PromoteWorkflow:      serialised,
	workflows.RollbackWorkflow:     serialised,
}

var (
	joinRunning = policy{
		whileRunning: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		afterClosed:  enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
	serialised = policy{
		whileRunning: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		afterClosed:  enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		once:         true,
	}
)

// options are the start options of workflow under id with input in, by
// the workflow's policy.
func (s Starter) options(workflow, id string, in any) (client.StartWorkflowOptions, error) {
	p, ok := policies[workflow]
	if !ok {
		return client.StartWorkflowOptions{}, fmt.Errorf("start %s %s: no start policy for workflow %s", workflow, id, workflow)
	}
	opts := client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                s.TaskQueue,
		WorkflowIDConflictPolicy: p.whileRunning,
		WorkflowIDReusePolicy:    p.afterClosed,
		// Joining a closed run is the SDK's answer to "already started";
		// a refused start must be an error instead.
		WorkflowExecutionErrorWhenAlreadyStarted: p.whileRunning == enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
	}
	if p.once {
		opts.RetryPolicy = &temporal.RetryPolicy{MaximumAttempts: 1}
	}
	if p.labels != nil {
		model, day := p.labels(in)
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(workflows.SAModel).ValueSet(model),
			temporal.NewSearchAttributeKeyKeyword(workflows.SADay).ValueSet(day),
		)
	}
	return opts, nil
}

// Start starts workflow under id with input in (nil: none) — or joins the
// run its policy says to — and returns the run without waiting for it.
func (s Starter) Start(ctx context.Context, workflow, id string, in any) (client.WorkflowRun, error) {
	opts, err := s.options(workflow, id, in)
	if err != nil {
		return nil, err
	}
	var args []any
	if in != nil {
		args = []any{in}
	}
	run, err := s.Temporal.ExecuteWorkflow(ctx, opts, workflow, args...)
	if err != nil {
		return nil, fmt.Errorf("start %s %s: %w", workflow, id, err)
	}
	return run, nil
}

// Run starts (or joins) workflow under id and waits for its result in
// out, reporting the running step to progress every second when progress
// is not nil.
func (s Starter) Run(ctx context.Context, workflow, id string, in, out any, progress Progress) error {
	run, err := s.Start(ctx, workflow, id, in)
	if err != nil {
		return err
	}
	if progress != nil {
		stop := s.watchStep(ctx, run, progress)
		defer stop()
	}
	if err := run.Get(ctx, out); err != nil {
		return fmt.Errorf("%s %s: %w", workflow, id, err)
	}
	return nil
}

// Progress receives a running workflow's step and the time since the wait
// began; a last call with an empty step ends the wait.
type Progress func(step string, elapsed time.Duration)

// RunDaily runs DailyRetrain for a model's day — or joins the run that
// already did that day — and waits for its result.
func (s Starter) RunDaily(ctx context.Context, in workflows.DailyInput, progress Progress) (workflows.DailyResult, error) {
	var res workflows.DailyResult
	err := s.Run(ctx, workflows.DailyRetrainWorkflow, workflows.DailyWorkflowID(in.Model, in.Day), in, &res, progress)
	return res, err
}

// IngestDay runs IngestDay for a model's day and waits for its result.
func (s Starter) IngestDay(ctx context.Context, in workflows.IngestDayInput) (workflows.IngestDayResult, error) {
	var res workflows.IngestDayResult
	err := s.Run(ctx, workflows.IngestDayWorkflow, workflows.IngestWorkflowID(in.Model, in.Day), in, &res, nil)
	return res, err
}

// MonitorDrift runs MonitorDrift for a model's day and waits for its result.
func (s Starter) MonitorDrift(ctx context.Context, in workflows.MonitorInput) (workflows.MonitorResult, error) {
	var res workflows.MonitorResult
	err := s.Run(ctx, workflows.MonitorDriftWorkflow, workflows.MonitorWorkflowID(in.Model, in.Day), in, &res, nil)
	return res, err
}

// ScoreDay runs ScoreDay for a model's day and waits for its result.
func (s Starter) ScoreDay(ctx context.Context, in workflows.ScoreDayInput) (workflows.ScoreDayResult, error) {
	var res workflows.ScoreDayResult
	err := s.Run(ctx, workflows.ScoreDayWorkflow, workflows.ScoreWorkflowID(in.Model, in.Day), in, &res, nil)
	return res, err
}

// StackCheck runs the StackCheck workflow under id and waits for its report.
func (s Starter) StackCheck(ctx context.Context, id string) (workflows.StackReport, error) {
	var rep workflows.StackReport
	err := s.Run(ctx, workflows.StackCheckWorkflow, id, nil, &rep, nil)
	return rep, err
}

// watchStep polls a workflow's step query until stopped.
func (s Starter) watchStep(ctx context.Context, run client.WorkflowRun, progress Progress) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				v, err := s.Temporal.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.QueryStep)
				if err != nil {
					continue
				}
				var step string
				if v.Get(&step) == nil {
					progress(step, time.Since(start))
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
		progress("", time.Since(start))
	}
}

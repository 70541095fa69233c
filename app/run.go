package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/workflows"
)

// DailyStartOptions are the start options of a model's day: one workflow id
// per (model, day), searchable by model and day; a failed day may run again,
// a completed one may not.
func DailyStartOptions(taskQueue string, in workflows.DailyInput) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                    workflows.DailyWorkflowID(in.Model, in.Day),
		TaskQueue:             taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(workflows.SAModel).ValueSet(in.Model),
			temporal.NewSearchAttributeKeyKeyword(workflows.SADay).ValueSet(in.Day),
		),
	}
}

// RunDaily starts DailyRetrain for a model's day — or attaches to the run
// that already did that day — and waits for its result, reporting the
// running step to progress every second when progress is not nil.
func RunDaily(ctx context.Context, tc client.Client, taskQueue string, in workflows.DailyInput, progress func(step string, elapsed time.Duration)) (workflows.DailyResult, error) {
	opts := DailyStartOptions(taskQueue, in)
	run, err := tc.ExecuteWorkflow(ctx, opts, "DailyRetrain", in)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if !errors.As(err, &started) {
			return workflows.DailyResult{}, fmt.Errorf("start %s: %w", opts.ID, err)
		}
		run = tc.GetWorkflow(ctx, opts.ID, "")
	}
	if progress != nil {
		stop := watchStep(ctx, tc, run, progress)
		defer stop()
	}
	var res workflows.DailyResult
	if err := run.Get(ctx, &res); err != nil {
		return res, fmt.Errorf("run %s: %w", opts.ID, err)
	}
	return res, nil
}

// watchStep polls a workflow's step query until stopped.
func watchStep(ctx context.Context, tc client.Client, run client.WorkflowRun, progress func(string, time.Duration)) (stop func()) {
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
				v, err := tc.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.QueryStep)
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

package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/workflows"
)

// Schedule kinds: what a model's schedule starts.
const (
	// ScheduleDaily starts DailyRetrain.
	ScheduleDaily = "daily"
	// ScheduleMonitor starts MonitorDrift.
	ScheduleMonitor = "monitor"
)

// ErrScheduleExists means a schedule of that id is already there.
var ErrScheduleExists = errors.New("already exists")

// ErrScheduleKind means a schedule kind is neither daily nor monitor.
var ErrScheduleKind = errors.New("unknown schedule kind")

// ScheduleID names a model's schedule of a kind.
func ScheduleID(kind, model string) string { return kind + "-" + model }

// ScheduleSpec is a model's schedule: when its runs start.
type ScheduleSpec struct {
	Kind  string
	Model string
	// Cron is a cron spec read in the IANA time zone TZ (which the
	// server checks).
	Cron string
	TZ   string
	// Catchup is how far back runs missed during an outage still start.
	Catchup time.Duration
}

// scheduledAction is what a schedule of a kind starts.
func (s Starter) scheduledAction(kind, model string) (*client.ScheduleWorkflowAction, error) {
	a := &client.ScheduleWorkflowAction{
		ID: ScheduleID(kind, model), TaskQueue: s.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(workflows.SAModel).ValueSet(model)),
	}
	switch kind {
	case ScheduleDaily:
		a.Workflow, a.Args = workflows.DailyRetrainWorkflow, []any{workflows.DailyInput{Model: model}}
	case ScheduleMonitor:
		a.Workflow, a.Args = workflows.MonitorDriftWorkflow, []any{workflows.MonitorInput{Model: model}}
	default:
		return nil, fmt.Errorf("%w %q: want daily or monitor", ErrScheduleKind, kind)
	}
	return a, nil
}

// CreateSchedule creates a model's schedule. A run due while the previous
// one still runs is skipped, and runs missed during an outage start
// afterwards when they are at most spec.Catchup old. The cron spec and
// time zone are kept in the memo for Schedules.
func (s Starter) CreateSchedule(ctx context.Context, spec ScheduleSpec) error {
	action, err := s.scheduledAction(spec.Kind, spec.Model)
	if err != nil {
		return err
	}
	id := ScheduleID(spec.Kind, spec.Model)
	_, err = s.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:            id,
		Spec:          client.ScheduleSpec{CronExpressions: []string{spec.Cron}, TimeZoneName: spec.TZ},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: spec.Catchup,
		Memo:          map[string]any{"cron": spec.Cron, "tz": spec.TZ},
		Action:        action,
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("schedule %s %w", id, ErrScheduleExists)
	}
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", id, err)
	}
	return nil
}

// PauseSchedule stops a schedule starting runs, noting why.
func (s Starter) PauseSchedule(ctx context.Context, id, note string) error {
	return s.Temporal.ScheduleClient().GetHandle(ctx, id).Pause(ctx, client.SchedulePauseOptions{Note: note})
}

// UnpauseSchedule lets a schedule start runs again, noting why.
func (s Starter) UnpauseSchedule(ctx context.Context, id, note string) error {
	return s.Temporal.ScheduleClient().GetHandle(ctx, id).Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
}

// TriggerSchedule starts a schedule's run now, unless one is running.
func (s Starter) TriggerSchedule(ctx context.Context, id string) error {
	return s.Temporal.ScheduleClient().GetHandle(ctx, id).Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP})
}

// Backfill runs a schedule's runs of the days from..to, one after another
// in order. The schedule's own time zone decides when each day's run
// fires; the window covers every firing on those days.
func (s Starter) Backfill(ctx context.Context, id string, from, to time.Time) error {
	if to.Before(from) {
		return fmt.Errorf("backfill %s: from %s is after to %s", id, from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	err := s.Temporal.ScheduleClient().GetHandle(ctx, id).Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{{
		Start: from, End: to.Add(24*time.Hour - time.Second), Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
	}}})
	if err != nil {
		return fmt.Errorf("backfill %s %s..%s: %w", id, from.Format(time.DateOnly), to.Format(time.DateOnly), err)
	}
	return nil
}

// DeleteSchedule removes a schedule.
func (s Starter) DeleteSchedule(ctx context.Context, id string) error {
	return s.Temporal.ScheduleClient().GetHandle(ctx, id).Delete(ctx)
}

// ScheduleInfo is one schedule as the server describes it.
type ScheduleInfo struct {
	ID     string
	Paused bool
	Note   string
	// Cron and TZ are what CreateSchedule recorded in the memo.
	Cron, TZ string
	// Next is the next run's time; zero when none is due.
	Next time.Time
}

// Schedules lists every schedule with its state (the list itself is
// eventually consistent).
func (s Starter) Schedules(ctx context.Context) ([]ScheduleInfo, error) {
	sc := s.Temporal.ScheduleClient()
	it, err := sc.List(ctx, client.ScheduleListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	var out []ScheduleInfo
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		d, err := sc.GetHandle(ctx, e.ID).Describe(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe schedule %s: %w", e.ID, err)
		}
		info := ScheduleInfo{ID: e.ID, Paused: d.Schedule.State.Paused, Note: d.Schedule.State.Note}
		if d.Memo != nil {
			dc := converter.GetDefaultDataConverter()
			if f, ok := d.Memo.Fields["cron"]; ok {
				_ = dc.FromPayload(f, &info.Cron)
			}
			if f, ok := d.Memo.Fields["tz"]; ok {
				_ = dc.FromPayload(f, &info.TZ)
			}
		}
		if len(d.Info.NextActionTimes) > 0 {
			info.Next = d.Info.NextActionTimes[0]
		}
		out = append(out, info)
	}
	return out, nil
}

// WaitForDays polls the run history until every day from start to end has
// a finished run of model, or limit has passed, calling progress with the
// days finished after each look.
func WaitForDays(ctx context.Context, st *store.Store, model string, start, end time.Time, limit time.Duration, progress func(finished, want int)) error {
	want := int(end.Sub(start).Hours()/24) + 1
	deadline := time.Now().Add(limit)
	for {
		runs, err := st.ListRuns(ctx, model, 0)
		if err != nil {
			return err
		}
		finished := map[string]bool{}
		for _, r := range runs {
			if !r.Day.Before(start) && !r.Day.After(end) && r.Status != "running" {
				finished[r.Day.Format(time.DateOnly)] = true
			}
		}
		progress(len(finished), want)
		if len(finished) >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("backfill: %d of %d days finished within %s", len(finished), want, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

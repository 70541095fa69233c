package workflows

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// histories are the recorded runs (scripts/record-histories.sh) each
// workflow's code must replay, with the name the worker registers it by.
var histories = []struct {
	file string
	name string
	fn   any
}{
	{"testdata/stack_check.json", StackCheckWorkflow, StackCheck},
	{"testdata/daily_retrain.json", DailyRetrainWorkflow, DailyRetrain},
	{"testdata/daily_retrain_approval.json", DailyRetrainWorkflow, DailyRetrain},
	{"testdata/ingest_day.json", IngestDayWorkflow, IngestDay},
	{"testdata/score_day.json", ScoreDayWorkflow, ScoreDay},
	{"testdata/monitor_drift.json", MonitorDriftWorkflow, MonitorDrift},
	{"testdata/promote.json", PromoteWorkflow, Promote},
	{"testdata/rollback.json", RollbackWorkflow, Rollback},
}

// TestReplay replays histories recorded from real runs on the local stack
// against today's workflow code: a change that would break running
// workflows fails here.
func TestReplay(t *testing.T) {
	for _, h := range histories {
		t.Run(h.file, func(t *testing.T) {
			if err := replay(h.file, h.name, h.fn, nil, nil); err != nil {
				t.Fatalf("replay %s: %v", h.file, err)
			}
		})
	}
}

// TestReplayCoversEveryWorkflow keeps a history for every workflow the
// worker registers, and every recorded history in the replay.
func TestReplayCoversEveryWorkflow(t *testing.T) {
	var names, files []string
	for _, h := range histories {
		names = append(names, h.name)
		files = append(files, h.file)
	}
	for _, name := range []string{
		StackCheckWorkflow, DailyRetrainWorkflow, IngestDayWorkflow, ScoreDayWorkflow,
		MonitorDriftWorkflow, PromoteWorkflow, RollbackWorkflow,
	} {
		if !slices.Contains(names, name) {
			t.Errorf("no recorded history replays %s", name)
		}
	}
	recorded, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range recorded {
		if !slices.Contains(files, f) {
			t.Errorf("%s is recorded but not replayed", f)
		}
	}
}

// TestReplayFailsOnAChangedCommand proves each replay can fail: the run's
// code with any one of its activities or child workflows started under
// another name does not replay its history, while the code unchanged
// (under the same interceptor) does.
func TestReplayFailsOnAChangedCommand(t *testing.T) {
	for _, h := range histories {
		t.Run(h.file, func(t *testing.T) {
			n, err := countStarts(h.file)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatalf("%s starts no activity or child workflow", h.file)
			}
			quiet := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
			for i := range n {
				err := replay(h.file, h.name, h.fn, &renameNth{n: i}, quiet)
				if err == nil || !strings.Contains(err.Error(), "nondeterministic") {
					t.Errorf("replay with start %d of %d renamed: %v, want a nondeterminism error", i+1, n, err)
				}
			}
			if err := replay(h.file, h.name, h.fn, &renameNth{n: n}, nil); err != nil {
				t.Errorf("replay with nothing renamed: %v", err)
			}
		})
	}
}

// replay replays one recorded history against fn registered as name,
// through an interceptor when one is given; a nil logger is the SDK's.
func replay(file, name string, fn any, ic interceptor.WorkerInterceptor, logger log.Logger) error {
	var opts worker.WorkflowReplayerOptions
	if ic != nil {
		opts.Interceptors = []interceptor.WorkerInterceptor{ic}
	}
	r, err := worker.NewWorkflowReplayerWithOptions(opts)
	if err != nil {
		return err
	}
	r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name})
	return r.ReplayWorkflowHistoryFromJSONFile(logger, file)
}

// countStarts counts the activities and child workflows a history's run
// started.
func countStarts(file string) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ev := range hist.GetEvents() {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			n++
		}
	}
	return n, nil
}

// renameNth is a worker interceptor under which a workflow starts its n-th
// activity or child workflow (from 0) under another name: one changed
// command.
type renameNth struct {
	interceptor.WorkerInterceptorBase
	n int
}

// InterceptWorkflow wraps each workflow run's outbound calls.
func (r *renameNth) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	in := &renameInbound{n: r.n}
	in.Next = next
	return in
}

// renameInbound hands the run a renaming outbound interceptor.
type renameInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	n int
}

// Init puts the renaming outbound interceptor in front of the run's calls.
func (in *renameInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	out := &renameOutbound{n: in.n}
	out.Next = outbound
	return in.Next.Init(out)
}

// renameOutbound counts a run's starts and renames the n-th.
type renameOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	n, seen int
}

// ExecuteActivity starts the activity, renamed when it is the n-th start.
func (o *renameOutbound) ExecuteActivity(ctx workflow.Context, name string, args ...any) workflow.Future {
	return o.Next.ExecuteActivity(ctx, o.rename(name), args...)
}

// ExecuteChildWorkflow starts the child, renamed when it is the n-th start.
func (o *renameOutbound) ExecuteChildWorkflow(ctx workflow.Context, name string, args ...any) workflow.ChildWorkflowFuture {
	return o.Next.ExecuteChildWorkflow(ctx, o.rename(name), args...)
}

func (o *renameOutbound) rename(name string) string {
	o.seen++
	if o.seen-1 == o.n {
		return name + "Changed"
	}
	return name
}

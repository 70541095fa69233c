package workflows

import (
	"context"
	"errors"
	"github.com/promoflow/promoflow/gate"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// fakeActs is a scripted set of activities for workflow tests. Each field
// may be replaced per test; the defaults describe a healthy day.
type fakeActs struct {
	plan      Plan
	keys      []string
	ingest    func(IngestInput) (IngestResult, error)
	train     func(TrainInput) (TrainResult, error)
	verdict   gate.Verdict
	prior     PriorRun
	moves     []MoveInput
	records   []RunRecord
	ingestRun atomic.Int32
}

func newFakeActs() *fakeActs {
	return &fakeActs{
		plan: Plan{Model: "m", Source: "s", WindowDays: 3, ApprovalTimeout: time.Hour},
		keys: []string{"landing/s/2026-11-01/a.csv"},
		ingest: func(in IngestInput) (IngestResult, error) {
			return IngestResult{File: in.Key, Rows: 100}, nil
		},
		train: func(in TrainInput) (TrainResult, error) {
			return TrainResult{Version: 2, Rows: 100, Fingerprint: "abc"}, nil
		},
		verdict: gate.Verdict{Model: "m", Version: 2, Production: 1, Pass: true, Checks: []gate.Check{{Name: "auc_min", Value: 0.8, Limit: 0.6, Op: ">=", Pass: true}}},
	}
}

func (f *fakeActs) register(env *testsuite.TestWorkflowEnvironment) {
	reg := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(ActLoadPlan, func(ctx context.Context, model string) (Plan, error) { return f.plan, nil })
	reg(ActFindRun, func(ctx context.Context, model, day string) (PriorRun, error) { return f.prior, nil })
	reg(ActListLanding, func(ctx context.Context, source, day string) ([]string, error) { return f.keys, nil })
	reg(ActIngestFile, func(ctx context.Context, in IngestInput) (IngestResult, error) {
		f.ingestRun.Add(1)
		return f.ingest(in)
	})
	reg(ActCleanDay, func(ctx context.Context, in CleanInput) (CleanResult, error) {
		return CleanResult{RowsIn: 100, Clean: 97, Quarantined: 3}, nil
	})
	reg(ActTrainModel, func(ctx context.Context, in TrainInput) (TrainResult, error) { return f.train(in) })
	reg(ActValidate, func(ctx context.Context, in ValidateInput) (gate.Verdict, error) { return f.verdict, nil })
	reg(ActMoveAlias, func(ctx context.Context, in MoveInput) (MoveResult, error) {
		f.moves = append(f.moves, in)
		return MoveResult{Alias: in.Alias, From: 1, To: in.To}, nil
	})
	reg(ActWriteReport, func(ctx context.Context, in ReportInput) (ReportResult, error) {
		return ReportResult{Artifact: "report.html"}, nil
	})
	reg(ActRecordRun, func(ctx context.Context, r RunRecord) error {
		f.records = append(f.records, r)
		return nil
	})
}

func runDaily(t *testing.T, f *fakeActs, during func(env *testsuite.TestWorkflowEnvironment)) (DailyResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(10 * time.Second)
	f.register(env)
	if during != nil {
		during(env)
	}
	env.ExecuteWorkflow(DailyRetrain, DailyInput{Model: "m", Day: "2026-11-01"})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var res DailyResult
	err := env.GetWorkflowError()
	if err == nil {
		if gerr := env.GetWorkflowResult(&res); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return res, err
}

func stepStatus(t *testing.T, res DailyResult, name string) string {
	t.Helper()
	s, ok := res.Step(name)
	if !ok {
		return "(absent)"
	}
	return s.Status
}

func TestDailyRetrain(t *testing.T) {
	tests := []struct {
		name         string
		setup        func(f *fakeActs)
		wantPromoted bool
		wantSteps    map[string]string
		wantMoves    int
		lastRecord   string
	}{
		{
			name:         "gate passes and production moves",
			wantPromoted: true,
			wantSteps:    map[string]string{"ingest": "ok", "clean": "ok", "train": "ok", "validate": "ok", "promote": "ok"},
			wantMoves:    1,
			lastRecord:   "promoted",
		},
		{
			name: "gate fails and nothing moves",
			setup: func(f *fakeActs) {
				f.verdict.Pass = false
				f.verdict.Checks = append(f.verdict.Checks, gate.Check{Name: "auc_vs_production", Value: -0.05, Limit: -0.01, Op: ">=", Pass: false})
			},
			wantSteps:  map[string]string{"validate": "rejected", "promote": "(absent)"},
			lastRecord: "rejected",
		},
		{
			name: "identical data reuses the version and it is already in production",
			setup: func(f *fakeActs) {
				f.train = func(TrainInput) (TrainResult, error) { return TrainResult{Version: 1, Reused: true}, nil }
				f.verdict.Production = 1
				f.verdict.Version = 1
			},
			wantSteps:  map[string]string{"train": "reused", "validate": "skipped"},
			lastRecord: "completed",
		},
		{
			name: "a version older than production is never promoted automatically",
			setup: func(f *fakeActs) {
				f.verdict.Production = 3
			},
			wantSteps:  map[string]string{"validate": "skipped", "promote": "(absent)"},
			lastRecord: "completed",
		},
		{
			name: "a day that already ran is not run again",
			setup: func(f *fakeActs) {
				f.prior = PriorRun{Found: true, WorkflowID: "daily-m-2026-11-01T06:00:00Z", Status: "promoted", Version: 1}
			},
			wantSteps:  map[string]string{"plan": "skipped", "ingest": "(absent)", "train": "(absent)"},
			lastRecord: "skipped",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeActs()
			if tt.setup != nil {
				tt.setup(f)
			}
			res, err := runDaily(t, f, nil)
			if err != nil {
				t.Fatalf("workflow error: %v", err)
			}
			if res.Promoted != tt.wantPromoted {
				t.Errorf("Promoted = %v, want %v (steps %+v)", res.Promoted, tt.wantPromoted, res.Steps)
			}
			for step, want := range tt.wantSteps {
				if got := stepStatus(t, res, step); got != want {
					t.Errorf("step %s = %q, want %q", step, got, want)
				}
			}
			if len(f.moves) != tt.wantMoves {
				t.Errorf("alias moves = %d, want %d", len(f.moves), tt.wantMoves)
			}
			if got := f.records[len(f.records)-1].Status; got != tt.lastRecord {
				t.Errorf("last run record status = %q, want %q", got, tt.lastRecord)
			}
		})
	}
}

func TestDailyRetrainApproval(t *testing.T) {
	tests := []struct {
		name         string
		updates      []ApproveRequest
		wantRejected []string // substrings of validator errors, in order of updates
		wantPromoted bool
		wantActor    string
	}{
		{
			name: "wrong version and missing reason are refused, then a good approval promotes",
			updates: []ApproveRequest{
				{Version: 7, Actor: "ana", Reason: "looks good"},
				{Version: 2, Actor: "ana"},
				{Version: 2, Actor: "ana", Reason: "checked the report"},
			},
			wantRejected: []string{"not 7", "needs a reason", ""},
			wantPromoted: true,
			wantActor:    "ana",
		},
		{
			name:         "no approval before the timeout leaves the model unpromoted",
			wantPromoted: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeActs()
			f.plan.RequireApproval = true
			var got []string
			res, err := runDaily(t, f, func(env *testsuite.TestWorkflowEnvironment) {
				for i, u := range tt.updates {
					u := u
					env.RegisterDelayedCallback(func() {
						env.UpdateWorkflow(UpdateApprove, "", &testsuite.TestUpdateCallback{
							OnReject:   func(err error) { got = append(got, err.Error()) },
							OnAccept:   func() {},
							OnComplete: func(any, error) { got = append(got, "") },
						}, u)
					}, time.Duration(i+1)*time.Minute)
				}
			})
			if err != nil {
				t.Fatalf("workflow error: %v", err)
			}
			if res.Promoted != tt.wantPromoted {
				t.Fatalf("Promoted = %v, want %v (steps %+v)", res.Promoted, tt.wantPromoted, res.Steps)
			}
			if len(got) != len(tt.wantRejected) {
				t.Fatalf("update outcomes = %q, want %d outcomes", got, len(tt.wantRejected))
			}
			for i, want := range tt.wantRejected {
				if (want == "") != (got[i] == "") || !strings.Contains(got[i], want) {
					t.Errorf("update %d outcome = %q, want containing %q", i, got[i], want)
				}
			}
			if tt.wantPromoted {
				if f.moves[0].Actor != tt.wantActor || f.moves[0].Reason == "" {
					t.Errorf("move actor/reason = %q/%q, want %q and the approval's reason", f.moves[0].Actor, f.moves[0].Reason, tt.wantActor)
				}
			} else if got := stepStatus(t, res, "approval"); got != "timeout" {
				t.Errorf("approval step = %q, want timeout", got)
			}
		})
	}
}

// TestDailyRetrainAnswersStep asks a run that waits for approval which
// step it is at.
func TestDailyRetrainAnswersStep(t *testing.T) {
	f := newFakeActs()
	f.plan.RequireApproval = true
	var got string
	var qerr error
	res, err := runDaily(t, f, func(env *testsuite.TestWorkflowEnvironment) {
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(QueryStep)
			if qerr = err; err == nil {
				qerr = v.Get(&got)
			}
		}, time.Minute)
	})
	if err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	if qerr != nil || got != "approval" {
		t.Errorf("step while waiting = %q (%v), want approval", got, qerr)
	}
	if s := stepStatus(t, res, "approval"); s != "timeout" {
		t.Errorf("approval step = %q, want timeout", s)
	}
}

func TestDailyRetrainRetriesTransientFailure(t *testing.T) {
	f := newFakeActs()
	f.ingest = func(in IngestInput) (IngestResult, error) {
		if f.ingestRun.Load() < 3 {
			return IngestResult{}, errors.New("dial tcp 127.0.0.1:55432: connection refused")
		}
		return IngestResult{File: in.Key, Rows: 100}, nil
	}
	res, err := runDaily(t, f, nil)
	if err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	if got := f.ingestRun.Load(); got != 3 {
		t.Errorf("ingest attempts = %d, want 3", got)
	}
	if !res.Promoted {
		t.Errorf("not promoted after the transient failure cleared: %+v", res.Steps)
	}
}

func TestDailyRetrainBadInputIsNotRetried(t *testing.T) {
	f := newFakeActs()
	f.ingest = func(in IngestInput) (IngestResult, error) {
		return IngestResult{}, temporal.NewNonRetryableApplicationError("a.csv line 3 column 2: not a number", "InvalidInput", nil)
	}
	res, err := runDaily(t, f, nil)
	if err == nil {
		t.Fatalf("workflow succeeded, want the bad-input error; result %+v", res)
	}
	if got := f.ingestRun.Load(); got != 1 {
		t.Errorf("ingest attempts = %d, want 1 (bad input is not retried)", got)
	}
	if !strings.Contains(err.Error(), "line 3 column 2") {
		t.Errorf("error %q does not name the line and column", err)
	}
	if got := f.records[len(f.records)-1].Status; got != "failed" {
		t.Errorf("last run record = %q, want failed", got)
	}
}

func TestValidateApproval(t *testing.T) {
	tests := []struct {
		req     ApproveRequest
		already bool
		wantErr string
	}{
		{ApproveRequest{Version: 3, Actor: "a", Reason: "r"}, false, ""},
		{ApproveRequest{Version: 4, Actor: "a", Reason: "r"}, false, "not 4"},
		{ApproveRequest{Version: 3, Actor: "a", Reason: "  "}, false, "reason"},
		{ApproveRequest{Version: 3, Reason: "r"}, false, "actor"},
		{ApproveRequest{Version: 3, Actor: "a", Reason: "r"}, true, "already"},
	}
	for _, tt := range tests {
		err := validateApproval(tt.req, 3, tt.already)
		if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("validateApproval(%+v, already=%v) = %v, want error containing %q", tt.req, tt.already, err, tt.wantErr)
		}
	}
}

package worker

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/score"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/synth"
	"github.com/promoflow/promoflow/workflows"
)

// e2eStack is a worker on the real servers with its own schema, bucket,
// task queue and model name, so runs never collide.
type e2eStack struct {
	cfg   control.Config
	model string
	tc    client.Client
	start control.Starter
	mc    *minio.Client
	reg   *registry.Registry
	store *store.Store
}

func startE2E(t *testing.T, approval bool) *e2eStack {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	s := &e2eStack{model: stacktest.Unique("e2e-")}
	s.cfg = control.FromEnv()
	s.cfg.TemporalAddress = stacktest.TemporalAddress(t)
	s.cfg.PGURL = stacktest.PGURL(t)
	s.mc = stacktest.MinIO(t)
	s.cfg.Bucket = stacktest.Bucket(t, s.mc)
	s.cfg.TaskQueue = stacktest.Unique("e2e-queue-")
	s.cfg.MetricsAddr = ""
	s.cfg.CodeVersion = "test"
	s.cfg.ConfigDir = t.TempDir()
	stacktest.WriteModelConfig(t, s.cfg.ConfigDir, s.model, approval)

	startWorker(t, s.cfg)
	var err error
	if s.tc, err = s.cfg.Temporal(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.tc.Close)
	s.start = control.Starter{Temporal: s.tc, TaskQueue: s.cfg.TaskQueue}
	s.reg = registry.New(s.mc, s.cfg.Bucket)
	pool := stacktest.PGPoolURL(t, s.cfg.PGURL)
	s.store = store.New(pool)
	return s
}

// land generates days of synthetic data and drops them in the landing area.
func (s *e2eStack) land(t *testing.T, gen synth.Config) []string {
	t.Helper()
	dir := t.TempDir()
	files, err := synth.WriteDays(dir, gen)
	if err != nil {
		t.Fatal(err)
	}
	var days []string
	for _, f := range files {
		day := filepath.Base(filepath.Dir(f))
		key := "landing/" + s.model + "/" + day + "/part-0.csv"
		if _, err := s.mc.FPutObject(context.Background(), s.cfg.Bucket, key, f, minio.PutObjectOptions{ContentType: "text/csv"}); err != nil {
			t.Fatal(err)
		}
		days = append(days, day)
	}
	return days
}

func (s *e2eStack) runDay(t *testing.T, day string) workflows.DailyResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := s.start.RunDaily(ctx, workflows.DailyInput{Model: s.model, Day: day}, nil)
	if err != nil {
		t.Fatalf("DailyRetrain %s: %v", day, err)
	}
	return res
}

func (s *e2eStack) production(t *testing.T) int {
	t.Helper()
	v, err := s.reg.Resolve(context.Background(), s.model, registry.Production)
	if err != nil {
		t.Fatalf("resolve production: %v", err)
	}
	return v
}

// TestDailyRetrainEndToEnd runs two consecutive days on the real stack,
// then promotes by hand and rolls back, checking the registry and the
// audit log at each step.
func TestDailyRetrainEndToEnd(t *testing.T) {
	s := startE2E(t, false)
	days := s.land(t, synth.Config{Rows: 6000, Seed: 11, Days: 2})

	first := s.runDay(t, days[0])
	if !first.Promoted || first.Version != 1 {
		t.Fatalf("day 1: promoted=%v version=%d, want promoted v1; steps %+v", first.Promoted, first.Version, first.Steps)
	}
	if first.Verdict.Production != 0 {
		t.Errorf("day 1 verdict production = %d, want 0 (absolute checks only)", first.Verdict.Production)
	}
	if got := s.production(t); got != 1 {
		t.Errorf("production after day 1 = %d, want 1", got)
	}
	if report, err := s.reg.Artifact(context.Background(), s.model, 1, registry.ReportArtifact); err != nil || !bytes.Contains(report, []byte("<svg")) {
		t.Errorf("version 1 has no training report with charts (%d bytes, %v); steps %+v", len(report), err, first.Steps)
	}

	second := s.runDay(t, days[1])
	if second.Version != 2 {
		t.Fatalf("day 2 version = %d, want 2; steps %+v", second.Version, second.Steps)
	}
	if second.Verdict.Production != 1 {
		t.Errorf("day 2 judged against production %d, want 1", second.Verdict.Production)
	}
	var compared bool
	for _, c := range second.Verdict.Checks {
		compared = compared || c.Name == "auc_vs_production"
	}
	if !compared {
		t.Errorf("day 2 verdict has no comparison with production: %+v", second.Verdict.Checks)
	}
	wantProd := 1
	if second.Promoted {
		wantProd = 2
	}
	if got := s.production(t); got != wantProd {
		t.Errorf("production after day 2 = %d, want %d (promoted=%v)", got, wantProd, second.Promoted)
	}

	// The same day again is the same run: no third version.
	again := s.runDay(t, days[1])
	if again.Version != 2 {
		t.Errorf("re-running day 2 gave version %d, want the same run's 2", again.Version)
	}

	// The day's customers are scored in three partitions side by side,
	// each customer once, with production's version.
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer scancel()
	srun, err := s.tc.ExecuteWorkflow(sctx, client.StartWorkflowOptions{ID: workflows.ScoreWorkflowID(s.model, days[1]), TaskQueue: s.cfg.TaskQueue},
		workflows.ScoreDayWorkflow, workflows.ScoreDayInput{Model: s.model, Day: days[1], Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	var scored workflows.ScoreDayResult
	if err := srun.Get(sctx, &scored); err != nil {
		t.Fatalf("ScoreDay: %v", err)
	}
	if scored.Rows != 3000 || scored.Written != 3000 || scored.Version != wantProd {
		t.Errorf("ScoreDay = %d rows read, %d written with v%d; want 3000, 3000 with v%d", scored.Rows, scored.Written, scored.Version, wantProd)
	}

	// A person forces the other version into production, then rolls back.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	other := 3 - wantProd
	run, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.PromoteWorkflowID(s.model), TaskQueue: s.cfg.TaskQueue},
		workflows.PromoteWorkflow, workflows.PromoteInput{Model: s.model, Version: other, Actor: "ana", Reason: "campaign needs it", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	var pr workflows.PromoteResult
	if err := run.Get(ctx, &pr); err != nil {
		t.Fatalf("Promote: %v", err)
	}
	if !pr.Promoted || s.production(t) != other {
		t.Fatalf("forced promotion: promoted=%v production=%d, want %d", pr.Promoted, s.production(t), other)
	}
	run, err = s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.PromoteWorkflowID(s.model), TaskQueue: s.cfg.TaskQueue},
		workflows.RollbackWorkflow, workflows.RollbackInput{Model: s.model, Actor: "ben", Reason: "conversion dropped"})
	if err != nil {
		t.Fatal(err)
	}
	var mv workflows.MoveResult
	if err := run.Get(ctx, &mv); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if mv.From != other || mv.To != wantProd || s.production(t) != wantProd {
		t.Errorf("rollback moved %d → %d (production now %d), want %d → %d", mv.From, mv.To, s.production(t), other, wantProd)
	}

	audit, err := s.store.ListAudit(ctx, s.model)
	if err != nil {
		t.Fatal(err)
	}
	var sawForce, sawRollback bool
	for _, e := range audit {
		if e.Actor == "ana" && e.Reason == "forced: campaign needs it" && e.Alias == registry.Production && e.ToVersion == other {
			sawForce = true
		}
		if e.Actor == "ben" && e.Reason == "conversion dropped" && e.ToVersion == wantProd {
			sawRollback = true
		}
	}
	if !sawForce || !sawRollback {
		t.Errorf("audit log lacks the forced promotion (%v) or the rollback (%v): %+v", sawForce, sawRollback, audit)
	}
	runs, err := s.store.ListRuns(ctx, s.model, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Errorf("run history has %d runs, want 2 (one per day)", len(runs))
	}
}

// TestDailyRetrainWaitsForApproval runs a day whose model needs a person's
// approval and approves it through the workflow's update.
func TestDailyRetrainWaitsForApproval(t *testing.T) {
	s := startE2E(t, true)
	days := s.land(t, synth.Config{Rows: 3000, Seed: 5, Days: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in := workflows.DailyInput{Model: s.model, Day: days[0]}
	run, err := s.start.Start(ctx, workflows.DailyRetrainWorkflow, workflows.DailyWorkflowID(in.Model, in.Day), in)
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the run waits for approval.
	for {
		v, err := s.tc.QueryWorkflow(ctx, run.GetID(), "", workflows.QueryStep)
		var step string
		if err == nil && v.Get(&step) == nil && step == "approval" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("run never reached the approval step")
		case <-time.After(200 * time.Millisecond):
		}
	}
	if _, err := s.reg.Resolve(ctx, s.model, registry.Production); err == nil {
		t.Fatal("production is set before approval")
	}
	upd := func(req workflows.ApproveRequest) error {
		h, err := s.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: run.GetID(), UpdateName: workflows.UpdateApprove,
			WaitForStage: client.WorkflowUpdateStageCompleted, Args: []any{req},
		})
		if err != nil {
			return err
		}
		return h.Get(ctx, nil)
	}
	if err := upd(workflows.ApproveRequest{Version: 1, Actor: "ana"}); err == nil {
		t.Error("approval without a reason was accepted")
	}
	if err := upd(workflows.ApproveRequest{Version: 1, Actor: "ana", Reason: "report reviewed"}); err != nil {
		t.Fatalf("approve: %v", err)
	}
	var res workflows.DailyResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if !res.Promoted || s.production(t) != 1 {
		t.Errorf("after approval promoted=%v production=%d, want promoted v1", res.Promoted, s.production(t))
	}
}

// TestDailyRetrainRefusesLeakage runs a day whose configuration declares a
// feature known only after the outcome: the train step refuses at once,
// naming the column and the evidence, registers nothing and is not
// retried; listing the column under allow_features trains the same day.
func TestDailyRetrainRefusesLeakage(t *testing.T) {
	s := startE2E(t, false)
	days := s.land(t, synth.Config{Rows: 3000, Seed: 9, Days: 1})
	cfg := stacktest.ModelConfig(s.model, false)
	train := cfg["train"].(map[string]any)
	train["post_outcome"] = []string{"history"}
	stacktest.WriteConfig(t, s.cfg.ConfigDir, s.model, cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in := workflows.DailyInput{Model: s.model, Day: days[0]}
	_, err := s.start.RunDaily(ctx, in, nil)
	var leak *temporal.ApplicationError
	for e := err; e != nil; e = errors.Unwrap(e) {
		if a, ok := e.(*temporal.ApplicationError); ok && a.Type() == "Leakage" && a.NonRetryable() {
			leak = a
		}
	}
	if leak == nil || !strings.Contains(leak.Error(), `column "history"`) {
		t.Fatalf("DailyRetrain with a post-outcome feature = %v, want a Leakage error naming history", err)
	}
	if vs, err := s.reg.Versions(ctx, s.model); err == nil && len(vs) > 0 {
		t.Errorf("a refused run registered %d versions", len(vs))
	}
	hist := s.tc.GetWorkflowHistory(ctx, workflows.DailyWorkflowID(s.model, days[0]), "", false, 0)
	for hist.HasNext() {
		ev, err := hist.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > 1 {
			t.Errorf("an activity of the refused run was retried (attempt %d)", a.GetAttempt())
		}
	}

	train["allow_features"] = []string{"history"}
	stacktest.WriteConfig(t, s.cfg.ConfigDir, s.model, cfg)
	// A failed day may run again under the same workflow id.
	if res := s.runDay(t, days[0]); res.Version != 1 || !res.Promoted {
		t.Fatalf("with history allowed: version %d promoted %v, want v1 promoted; steps %+v", res.Version, res.Promoted, res.Steps)
	}
}

// TestDailyRetrainGatesEveryArm lands data where one e-mail arm changes
// nobody's response. With gate.arms any the first day's version ships with
// that arm disabled, and the served model never offers it; with arms all
// the next day's version is rejected on that arm's own check.
func TestDailyRetrainGatesEveryArm(t *testing.T) {
	s := startE2E(t, false)
	const null = "Womens E-Mail"
	days := s.land(t, synth.Config{Rows: 100000, Seed: 21, Days: 2, NoEffect: []string{null}})
	cfg := stacktest.ModelConfig(s.model, false)
	cfg["window_days"] = 1 // each day judged on its own rows: half the work
	gateCfg := cfg["gate"].(map[string]any)
	gateCfg["min_qini"] = 0
	gateCfg["bootstrap_resamples"] = 400
	stacktest.WriteConfig(t, s.cfg.ConfigDir, s.model, cfg)

	first := s.runDay(t, days[0])
	if !first.Promoted || first.Verdict == nil || !slices.Equal(first.Verdict.DisabledArms, []string{null}) {
		t.Fatalf("day 1 with arms any: promoted %v, verdict %+v; want promoted with %s disabled", first.Promoted, first.Verdict, null)
	}
	for _, c := range first.Verdict.Checks {
		if c.Name == "qini_positive["+null+"]" && (c.Pass || c.Lower == nil) {
			t.Errorf("%s passed or has no interval: %+v", c.Name, c)
		}
		if c.Name == "qini_positive[Mens E-Mail]" && !c.Pass {
			t.Errorf("the working arm failed: %+v", c)
		}
	}
	served, disabled, err := score.LoadVersion(context.Background(), s.reg, s.model, first.Version)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range served.Uplift.Arms {
		if a.Arm == null {
			t.Errorf("the served model offers the disabled arm %s", null)
		}
	}
	if !slices.Equal(disabled, []string{null}) {
		t.Errorf("LoadVersion disabled %v, want [%s]", disabled, null)
	}

	gateCfg["arms"] = "all"
	stacktest.WriteConfig(t, s.cfg.ConfigDir, s.model, cfg)
	second := s.runDay(t, days[1])
	if second.Promoted || second.Verdict == nil || second.Verdict.Pass {
		t.Fatalf("day 2 with arms all: promoted %v, verdict %+v; want rejected", second.Promoted, second.Verdict)
	}
	if failed := second.Verdict.Failed(); !slices.Contains(failed, "qini_positive["+null+"]") {
		t.Errorf("day 2 failed checks %v, want qini_positive[%s] among them", failed, null)
	}
	if got := s.production(t); got != first.Version {
		t.Errorf("production after the rejected day = %d, want %d", got, first.Version)
	}
}

package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/synth"
	"github.com/promoflow/promoflow/workflows"
)

// registerVersions trains n small models on synth data and registers them
// as versions 1..n of the test's model, without the pipeline; it returns
// the models by version.
func (e *testEnv) registerVersions(t testing.TB, ctx context.Context, n int) map[int]*learn.Model {
	t.Helper()
	return registerModels(t, ctx, e.reg, e.model, n)
}

// registerModels trains n small models and registers them as versions of
// model in reg.
func registerModels(t testing.TB, ctx context.Context, reg *registry.Registry, model string, n int) map[int]*learn.Model {
	t.Helper()
	cfg := learn.TrainConfig{Cs: []float64{1}, ClassWeights: []learn.ClassWeight{{}}, SelectThresholds: []float64{0}, CorrLimit: 1}
	out := map[int]*learn.Model{}
	for i := range n {
		cfg.Seed = int64(i + 1)
		m, err := learn.Train(synth.Generate(synth.Config{Rows: 3000, Seed: int64(100 + i)}), synth.Schema(), cfg)
		if err != nil {
			t.Fatalf("train: %v", err)
		}
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		man, err := reg.Register(ctx, registry.RegisterRequest{
			Model: model, RunID: fmt.Sprintf("faults-%d", i), Schema: m.Schema,
			Artifacts: map[string][]byte{registry.ModelArtifact: data},
		})
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		out[man.Version] = m
	}
	return out
}

// cliResult is how one promoflow command ended.
type cliResult struct {
	args   []string
	code   int
	output string
}

// runCLI runs the promoflow binary with the test's environment.
func (e *testEnv) runCLI(t *testing.T, ctx context.Context, args ...string) cliResult {
	t.Helper()
	cmd := exec.CommandContext(ctx, promoflowBinary(t), args...)
	cmd.Env = e.environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Errorf("run promoflow %v: %v", args, err)
		code = -1
	}
	return cliResult{args: args, code: code, output: strings.TrimSpace(out.String())}
}

// TestConcurrentPromotions has two engineers promote different versions of
// one model at the same moment with `promoflow promote`. Promote's
// workflow id is per model with conflict policy fail, so exactly one start
// succeeds and the other engineer is told a promotion is running. The
// worker is started only after both commands were issued, so the winner's
// workflow is still open when the loser's start arrives: the outcome does
// not depend on timing. The registry's compare-and-swap, the second line,
// is then raced directly.
func TestConcurrentPromotions(t *testing.T) {
	requireFaultStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newTestEnv(t, false)
	e.registerVersions(t, ctx, 3)

	t.Log("phase 1: ana promotes v1 and ben v2 at the same moment (no worker yet)")
	people := []struct{ actor, version, reason string }{
		{"ana", "1", "ana's campaign"},
		{"ben", "2", "ben's campaign"},
	}
	results := make([]cliResult, len(people))
	finished := make(chan int, len(people))
	var wg sync.WaitGroup
	release := make(chan struct{})
	for i, p := range people {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			results[i] = e.runCLI(t, ctx, "promote", e.model, "--version", p.version, "--reason", p.reason, "--force", "--actor", p.actor)
			finished <- i
		}()
	}
	close(release)
	// The loser should be refused at once while the winner waits for a
	// worker.
	select {
	case i := <-finished:
		t.Logf("  %s's command ended first (exit %d) while the other waits", people[i].actor, results[i].code)
	case <-time.After(15 * time.Second):
		t.Error("neither command ended within 15 s without a worker: the second start was not refused (attached to the first workflow?)")
	}
	if !e.promoteRunning(t, ctx) {
		t.Error("no Promote workflow is open while the winner waits for a worker")
	}
	t.Log("  starting the worker so the open promotion can finish")
	e.startWorker(t)
	wg.Wait()

	winner, loser := -1, -1
	for i, r := range results {
		t.Logf("  %s: exit %d: %s", people[i].actor, r.code, r.output)
		if r.code == 0 {
			winner = i
		} else {
			loser = i
		}
	}
	prod, err := e.reg.Resolve(ctx, e.model, registry.Production)
	if err != nil {
		t.Fatal(err)
	}
	if winner < 0 {
		t.Fatalf("no promotion succeeded (production %d)", prod)
	}
	if loser < 0 {
		// Both commands say they promoted; find whose version really went in.
		for i, p := range people {
			if fmt.Sprint(prod) == p.version {
				winner, loser = i, 1-i
			}
		}
		t.Errorf("both commands exited 0, but production is v%d: %s was told %q although %s's version went in. "+
			"runPromote's ExecuteWorkflow lacks WorkflowExecutionErrorWhenAlreadyStarted: true, so the SDK attaches the "+
			"second start to the running workflow instead of refusing it", prod, people[loser].actor, results[loser].output, people[winner].actor)
	} else if want := "another promotion or rollback is running for " + e.model; !strings.Contains(results[loser].output, want) {
		t.Errorf("%s was told %q, want it to say %q", people[loser].actor, results[loser].output, want)
	}

	t.Log("phase 2: production and the audit log show the winning move")
	if want := people[winner].version; fmt.Sprint(prod) != want {
		t.Errorf("production is %d, want the winner's %s", prod, want)
	}
	audit, err := e.store.ListAudit(ctx, e.model)
	if err != nil {
		t.Fatal(err)
	}
	var sawWinner, sawLoser bool
	for _, a := range audit {
		t.Logf("  audit: %s %s %s %d→%d by %s: %q", a.At.Format(time.RFC3339), a.Action, a.Alias, a.FromVersion, a.ToVersion, a.Actor, a.Reason)
		sawWinner = sawWinner || (a.Actor == people[winner].actor && a.Reason == "forced: "+people[winner].reason && fmt.Sprint(a.ToVersion) == people[winner].version)
		sawLoser = sawLoser || a.Actor == people[loser].actor
	}
	if !sawWinner {
		t.Errorf("audit log lacks %s's winning move", people[winner].actor)
	}
	if sawLoser {
		t.Logf("  the refused attempt by %s is in the audit log", people[loser].actor)
	} else {
		t.Errorf("the refused attempt by %s is not recorded in the audit log", people[loser].actor)
	}

	t.Log("phase 3: the registry's compare-and-swap: two moves that both expect production unchanged")
	cur := prod
	targets := []int{3, 3 - prod} // v3, and whichever of v1 and v2 is not production
	errs := make([]error, len(targets))
	release = make(chan struct{})
	for i, to := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			_, errs[i] = e.reg.MoveAlias(ctx, registry.MoveRequest{Model: e.model, Alias: registry.Production, To: to,
				ExpectVersion: &cur, Actor: fmt.Sprintf("cas-%d", i), Reason: "race"})
		}()
	}
	close(release)
	wg.Wait()
	won := 0
	for i, err := range errs {
		var ce *registry.ConflictError
		switch {
		case err == nil:
			won++
			t.Logf("  move to v%d won", targets[i])
		case errors.As(err, &ce):
			t.Logf("  move to v%d refused: %v", targets[i], err)
		default:
			t.Errorf("move to v%d: %v, want success or *registry.ConflictError", targets[i], err)
		}
	}
	if won != 1 {
		t.Errorf("%d compare-and-swap moves won, want exactly 1", won)
	}
}

// promoteRunning reports whether the model's Promote workflow is open.
func (e *testEnv) promoteRunning(t *testing.T, ctx context.Context) bool {
	t.Helper()
	d, err := e.tc.DescribeWorkflowExecution(ctx, workflows.PromoteWorkflowID(e.model), "")
	return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

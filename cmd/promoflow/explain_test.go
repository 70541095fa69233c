package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"
	"gopkg.in/yaml.v3"

	"github.com/promoflow/promoflow/activities"
	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/synth"
	"github.com/promoflow/promoflow/workflows"
)

// TestExplainReproduceAndCache runs two days on a real worker, then asks
// why the production version is there, reproduces a version from its
// manifest, checks that training with an identical key reuses the version
// while a changed configuration or --no-cache retrains, and that a version
// whose data changed since no longer reproduces and says why.
func TestExplainReproduceAndCache(t *testing.T) {
	model := startStack(t, false)
	files, err := synth.WriteDays(t.TempDir(), synth.Config{Rows: 4000, Seed: 5, Days: 2})
	if err != nil {
		t.Fatal(err)
	}
	day := func(i int) string { return filepath.Base(filepath.Dir(files[i])) }
	runCases(t, []cmdCase{
		{[]string{"ingest", "--source", model, "--day", day(0), "--file", files[0]}, 0, nil},
		{[]string{"ingest", "--source", model, "--day", day(1), "--file", files[1]}, 0, nil},
		{[]string{"run", model, "--day", day(0)}, 0, []string{"version 1, promoted true"}},
		{[]string{"run", model, "--day", day(1)}, 0, []string{"version 2"}},
		{[]string{"explain", model + "/1"}, 0, []string{
			"version 1", "gate PASSED against no production model", "min_auc", ".." + day(0) + ": 2000 clean rows",
			"workflow daily-" + model + "-" + day(0),
		}},
		{[]string{"explain", model + "/2"}, 0, []string{"against production v1", "auc_vs_production", "DeLong lower bound", "paired bootstrap (1000) upper bound"}},
		{[]string{"explain", model}, 0, []string{model + "@production is version", "moved there", "by schedule", "audit log:", "learned from"}},
		{[]string{"reproduce", model + "/1"}, 0, []string{"v1 reproduces", "coefficients and", "data unchanged"}},
		{[]string{"reproduce", model + "/2", "--json"}, 0, []string{`"match": true`}},
		{[]string{"explain"}, 2, nil},
	})

	t.Run("training cache", func(t *testing.T) {
		ctx := context.Background()
		cfg := control.FromEnv()
		st, err := openStore(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		reg, err := cfg.Registry()
		if err != nil {
			t.Fatal(err)
		}
		trainer := &activities.Train{Store: st, Registry: reg, CodeVersion: cfg.CodeVersion,
			Config: func(m string) (config.Model, error) { return config.Load(cfg.ConfigDir, m) }}
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivity(trainer)
		train := func(runID string, noCache bool, code string) workflows.TrainResult {
			t.Helper()
			trainer.CodeIdentity = code
			val, err := env.ExecuteActivity(workflows.ActTrainModel, workflows.TrainInput{
				Model: model, Source: model, Day: day(0), WindowDays: 3, WorkflowID: "cache-test", RunID: runID, NoCache: noCache})
			if err != nil {
				t.Fatalf("train %s: %v", runID, err)
			}
			var res workflows.TrainResult
			if err := val.Get(&res); err != nil {
				t.Fatal(err)
			}
			return res
		}
		// The worker of this test trained version 1 with this binary's code.
		same, _ := control.CodeIdentity()
		tests := []struct {
			name        string
			runID       string
			noCache     bool
			changeC     bool
			code        string
			wantReused  bool
			wantVersion int
			wantNote    string
		}{
			{name: "identical data, config and code reuse version 1", runID: "cache-a", code: same, wantReused: true, wantVersion: 1},
			{name: "a changed C grid retrains", runID: "cache-b", changeC: true, code: same, wantVersion: 3},
			{name: "the changed config is then reused", runID: "cache-c", code: same, wantReused: true, wantVersion: 3},
			{name: "no-cache retrains", runID: "cache-d", noCache: true, code: same, wantVersion: 4},
			{name: "other code retrains", runID: "cache-e", code: "sha256:other", wantVersion: 5},
			{name: "unidentified code retrains and says so", runID: "cache-f", wantVersion: 6, wantNote: "training cache bypassed"},
			{name: "unidentified code never reuses", runID: "cache-g", wantVersion: 7, wantNote: "training cache bypassed"},
		}
		for _, tt := range tests {
			if tt.changeC {
				rewriteC(t, filepath.Join(cfg.ConfigDir, model+".yaml"), []float64{0.5})
			}
			got := train(tt.runID, tt.noCache, tt.code)
			if got.Reused != tt.wantReused || got.Version != tt.wantVersion || !strings.Contains(got.Note, tt.wantNote) {
				t.Errorf("%s: version %d reused %v note %q, want version %d reused %v note %q",
					tt.name, got.Version, got.Reused, got.Note, tt.wantVersion, tt.wantReused, tt.wantNote)
			}
		}
	})

	// A second file for day 0 changes the window's clean rows: version 1
	// no longer reproduces, and the data is named as the reason.
	extra := filepath.Join(t.TempDir(), "part-1.csv")
	data, err := os.ReadFile(files[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(extra, data, 0o644); err != nil {
		t.Fatal(err)
	}
	runCases(t, []cmdCase{
		{[]string{"ingest", "--source", model, "--day", day(0), "--file", extra}, 0, nil},
		{[]string{"reproduce", model + "/1"}, 1, []string{"v1 does NOT reproduce", "data changed since training", "does not reproduce"}},
	})
}

// rewriteC sets the C grid of a model's configuration file.
func rewriteC(t *testing.T, file string, c []float64) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["train"].(map[string]any)["c"] = c
	if data, err = yaml.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "0.5") {
		t.Fatalf("config not rewritten:\n%s", data)
	}
}

// TestPrintChecks checks that the checks of a disabled arm are marked OFF
// and the disabled arms are named.
func TestPrintChecks(t *testing.T) {
	lo, hi := -0.04, 0.01
	v := gate.Verdict{Pass: true, DisabledArms: []string{"Mens E-Mail"}, Checks: []gate.Check{
		{Name: "min_auc", Value: 0.63, Limit: 0.6, Op: ">=", Pass: true},
		{Name: "qini_positive[Mens E-Mail]", Arm: "Mens E-Mail", Value: -0.0331, Op: ">", Lower: &lo, Upper: &hi, Basis: "95% paired bootstrap (1000) lower bound"},
		{Name: "qini_positive[Womens E-Mail]", Arm: "Womens E-Mail", Value: 0.05, Op: ">", Pass: true},
	}}
	var b strings.Builder
	if err := printChecks(&b, v); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	want := []struct {
		prefix   string
		contains []string
	}{
		{"  pass ", []string{"min_auc"}},
		{"  FAIL OFF ", []string{"qini_positive[Mens E-Mail]", "-0.0331", "[-0.0400, 0.0100]", "by 95% paired bootstrap (1000) lower bound"}},
		{"  pass ", []string{"qini_positive[Womens E-Mail]"}},
		{"  disabled arms, never offered: Mens E-Mail", nil},
	}
	if len(lines) != len(want) {
		t.Fatalf("printChecks printed %d lines, want %d:\n%s", len(lines), len(want), b.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w.prefix) {
			t.Errorf("line %d = %q; want it to start with %q", i, lines[i], w.prefix)
		}
		for _, c := range w.contains {
			if !strings.Contains(lines[i], c) {
				t.Errorf("line %d = %q; want it to hold %q", i, lines[i], c)
			}
		}
	}
}

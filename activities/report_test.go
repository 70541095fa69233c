package activities_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/promoflow/promoflow/activities"
	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/synth"
	"github.com/promoflow/promoflow/workflows"
)

// TestWriteReport trains and judges a version on two clean days of the
// real stack, then renders its report: it is stored once as report.html,
// a retry finds it, and it shows the verdict, the curves and the days.
func TestWriteReport(t *testing.T) {
	ctx := context.Background()
	mc := stacktest.MinIO(t)
	reg := registry.New(mc, stacktest.Bucket(t, mc))
	cfgDir, dataDir := t.TempDir(), t.TempDir()
	const model = "rep"
	stacktest.WriteModelConfig(t, cfgDir, model, false)
	cfgOf := func(m string) (config.Model, error) { return config.Load(cfgDir, m) }
	cfg, err := cfgOf(model)
	if err != nil {
		t.Fatal(err)
	}
	data := newData(t, dataDir)
	data.ingest.Columns = func(string) ([]string, error) { return cfg.Clean.Schema.Names(), nil }
	data.clean.Config = func(string) (clean.Config, error) { return cfg.Clean, nil }
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	data.register(env)
	st := data.ingest.Store
	train := &activities.Train{Store: st, Registry: reg, CodeVersion: "test", Config: cfgOf}
	validate := &activities.Validate{Store: st, Registry: reg, Config: cfgOf}
	reports := &activities.Reports{Store: st, Registry: reg, Config: cfgOf}
	for _, a := range []any{train, validate, reports} {
		env.RegisterActivity(a)
	}

	files, err := synth.WriteDays(dataDir, synth.Config{Rows: 4000, Seed: 5, Days: 2})
	if err != nil {
		t.Fatal(err)
	}
	var day string
	for _, f := range files {
		day = filepath.Base(filepath.Dir(f))
		ingest(t, env, data.ingest, workflows.IngestInput{Source: model, Day: day, Key: f})
		if _, err := env.ExecuteActivity(data.clean.CleanDay, workflows.CleanInput{Model: model, Source: model, Day: day}); err != nil {
			t.Fatalf("CleanDay %s: %v", day, err)
		}
	}
	val, err := env.ExecuteActivity(train.TrainModel, workflows.TrainInput{Model: model, Source: model, Day: day, WorkflowID: "report-test", RunID: "r1"})
	if err != nil {
		t.Fatalf("TrainModel: %v", err)
	}
	var tr workflows.TrainResult
	if err := val.Get(&tr); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ExecuteActivity(validate.ValidateModel, workflows.ValidateInput{Model: model, Version: tr.Version, Day: day}); err != nil {
		t.Fatalf("ValidateModel: %v", err)
	}

	write := func() workflows.ReportResult {
		t.Helper()
		val, err := env.ExecuteActivity(reports.WriteReport, workflows.ReportInput{Model: model, Version: tr.Version})
		if err != nil {
			t.Fatalf("WriteReport: %v", err)
		}
		var res workflows.ReportResult
		if err := val.Get(&res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	first, again := write(), write()
	if first.Existing || first.Bytes == 0 || !again.Existing || first.Artifact != registry.ReportArtifact {
		t.Errorf("first %+v, retry %+v: want a new report, then the stored one", first, again)
	}
	page, err := reg.Artifact(ctx, model, tr.Version, registry.ReportArtifact)
	if err != nil {
		t.Fatalf("stored report: %v", err)
	}
	html := string(page)
	for _, s := range []string{"Gate verdict", "PASSED", "min_auc", "ROC curve (AUC", "Calibration by decile", "Qini curve, arm",
		"Observed uplift by decile", "Largest coefficients", filepath.Base(filepath.Dir(files[0]))} {
		if !strings.Contains(html, s) {
			t.Errorf("report lacks %q", s)
		}
	}
	if _, err := env.ExecuteActivity(reports.WriteReport, workflows.ReportInput{Model: model, Version: 99}); err == nil {
		t.Error("WriteReport of a missing version: no error")
	}
}

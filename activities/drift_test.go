package activities_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/promoflow/promoflow/activities"
	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/drift"
	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/schema"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/workflows"
)

var monSchema = schema.Schema{Columns: []schema.Column{
	{Name: "customer_id", Kind: schema.ID},
	{Name: "x", Kind: schema.Numeric},
	{Name: "seg", Kind: schema.Categorical},
	{Name: "y", Kind: schema.Target},
}}

// monCSV is a day of n rows: x ~ N(shift, 1), seg a/b/c, and y follows
// P(y=1) = σ(2x) — or σ(−2x) when flipped, so a model trained before
// performs badly on the day.
func monCSV(n int, seed uint64, shift float64, flipped bool) string {
	rng := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	b.WriteString("customer_id,x,seg,y\n")
	for i := range n {
		x := rng.NormFloat64() + shift
		z := 2 * (x - shift)
		if flipped {
			z = -z
		}
		y := 0
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			y = 1
		}
		fmt.Fprintf(&b, "d%dc%d,%.4f,%s,%d\n", seed, i, x, []string{"a", "b", "c"}[rng.IntN(3)], y)
	}
	return b.String()
}

// TestDriftActivities runs ComputeDrift, RecordDrift and ProductionMovedAt
// on the real PostgreSQL and MinIO: a production version trained on three
// days, then a day like them and a shifted day whose labels flipped.
func TestDriftActivities(t *testing.T) {
	ctx := context.Background()
	mc := stacktest.MinIO(t)
	bucket := stacktest.Bucket(t, mc)
	dir := t.TempDir()
	data := newData(t, dir)
	data.ingest.Columns = func(string) ([]string, error) { return monSchema.Names(), nil }
	data.clean.Config = func(string) (clean.Config, error) { return clean.Config{Schema: monSchema}, nil }

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	data.register(env)
	days := []string{"2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05"}
	for i, d := range days {
		shift, flipped := 0.0, false
		if i == 4 {
			shift, flipped = 1.5, true
		}
		path := writeFile(t, dir, d+".csv", monCSV(3000, uint64(i+1), shift, flipped))
		ingest(t, env, data.ingest, workflows.IngestInput{Source: "mon", Day: d, Key: path})
		if _, err := env.ExecuteActivity(data.clean.CleanDay, workflows.CleanInput{Model: "mon", Source: "mon", Day: d}); err != nil {
			t.Fatalf("CleanDay %s: %v", d, err)
		}
	}

	// Production: trained on the first three days.
	reg := registry.New(mc, bucket)
	from, _ := store.ParseDay(days[0])
	to, _ := store.ParseDay(days[2])
	tbl, _, err := data.ingest.Store.LoadClean(ctx, "mon", from, to)
	if err != nil {
		t.Fatal(err)
	}
	model, err := learn.Train(tbl, monSchema, learn.TrainConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	modelJSON, err := json.Marshal(model)
	if err != nil {
		t.Fatal(err)
	}
	man, err := reg.Register(ctx, registry.RegisterRequest{
		Model: "mon", RunID: "run-1", Schema: monSchema, Metrics: map[string]float64{"roc_auc": model.Metrics.ROCAUC},
		DataWindow: registry.DataWindow{From: days[0], To: days[2], Rows: int64(len(tbl.Rows))},
		Artifacts:  map[string][]byte{registry.ModelArtifact: modelJSON},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Promote(ctx, registry.MoveRequest{Model: "mon", Alias: registry.Production, To: man.Version, Actor: "test", Reason: "setup"}); err != nil {
		t.Fatal(err)
	}

	acts := &activities.Drift{
		Store: data.ingest.Store, Registry: reg,
		Config: func(string) (config.Model, error) {
			return config.Model{Name: "mon", Source: "mon", Clean: clean.Config{Schema: monSchema}}, nil
		},
	}
	env.RegisterActivity(acts)
	compute := func(day string) workflows.DriftReport {
		t.Helper()
		v, err := env.ExecuteActivity(acts.ComputeDrift, workflows.DriftInput{Model: "mon", Day: day})
		if err != nil {
			t.Fatalf("ComputeDrift %s: %v", day, err)
		}
		var rep workflows.DriftReport
		if err := v.Get(&rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	record := func(rep workflows.DriftReport) int {
		t.Helper()
		v, err := env.ExecuteActivity(acts.RecordDrift, workflows.RecordDriftInput{Report: rep, WorkflowID: "wf"})
		if err != nil {
			t.Fatalf("RecordDrift %s: %v", rep.Day, err)
		}
		var n int
		if err := v.Get(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	byName := func(rep workflows.DriftReport) map[string]drift.Result {
		out := map[string]drift.Result{}
		for _, f := range rep.Features {
			out[f.Feature] = f
		}
		return out
	}

	calm := compute(days[3])
	f := byName(calm)
	if len(calm.Breaches) != 0 || f["x"].PSI >= 0.1 || f["seg"].PSI >= 0.1 || f["score"].Kind != drift.KindScore || f["x"].KS == nil {
		t.Errorf("calm day: got breaches %v, features %+v; want none and small PSI", calm.Breaches, f)
	}
	if calm.Realised == nil || calm.Realised.AUCDrop > 0.05 {
		t.Errorf("calm day realised: got %+v, want AUC close to validation", calm.Realised)
	}
	if got := record(calm); got != 0 {
		t.Errorf("calm streak: got %d, want 0", got)
	}

	shifted := compute(days[4])
	f = byName(shifted)
	if !f["x"].Drifted || f["x"].Severity != drift.SeverityAct || f["seg"].Drifted {
		t.Errorf("shifted day: x %+v seg %+v; want x drifted (act), seg not", f["x"], f["seg"])
	}
	checks := map[string]bool{}
	for _, b := range shifted.Breaches {
		checks[b.Check] = true
	}
	if !checks[drift.CheckScorePSI] || !checks[drift.CheckAUCDrop] || !checks[drift.CheckDriftedShare] {
		t.Errorf("shifted breaches: got %+v, want score_psi, drifted_share and auc_drop", shifted.Breaches)
	}
	if got := record(shifted); got != 1 {
		t.Errorf("shifted streak: got %d, want 1", got)
	}
	// A re-run of the day replaces its check: still one in the streak.
	if got := record(shifted); got != 1 {
		t.Errorf("re-recorded streak: got %d, want 1", got)
	}
	day5, _ := store.ParseDay(days[4])
	stored, err := data.ingest.Store.DriftFeatures(ctx, "mon", day5)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 3 || stored[2].Feature != "score" || stored[0].Feature != "seg" && stored[0].Feature != "x" {
		t.Errorf("stored features: got %+v, want seg, x, score", stored)
	}

	v, err := env.ExecuteActivity(acts.ProductionMovedAt, "mon")
	if err != nil {
		t.Fatal(err)
	}
	var movedAt time.Time
	if err := v.Get(&movedAt); err != nil {
		t.Fatal(err)
	}
	if time.Since(movedAt) > time.Hour {
		t.Errorf("production moved at %v, want just now", movedAt)
	}
}

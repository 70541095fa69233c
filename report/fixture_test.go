package report

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/drift"
	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/schema"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/synth"
)

// fixtureTraining trains a small uplift model on generated rows and
// measures it on other generated rows, as the report activity does on a
// version's holdout.
func fixtureTraining(t *testing.T, model string) Training {
	t.Helper()
	train := synth.Generate(synth.Config{Rows: 3000, Seed: 1})
	holdout := synth.Generate(synth.Config{Rows: 1500, Seed: 2})
	sch := synth.Schema()
	m, err := learn.Train(train, sch, learn.TrainConfig{Seed: 1, Cs: []float64{1}})
	if err != nil {
		t.Fatalf("train fixture: %v", err)
	}
	mt, err := learn.Evaluate(m, holdout)
	if err != nil {
		t.Fatalf("evaluate fixture: %v", err)
	}
	rows := pairedFixture(t, m, sch, holdout)
	lo, hi := 0.61, 0.66
	qlo, qhi := -0.04, 0.01
	return Training{
		Manifest: &registry.Manifest{
			Model: model, Version: 3, CreatedAt: time.Date(2026, 11, 6, 4, 0, 0, 0, time.UTC), CodeVersion: "test",
			DataWindow: registry.DataWindow{From: "2026-11-01", To: "2026-11-03", Rows: 4500,
				Counts: map[string]int64{"train": 3000, "holdout": 1500}},
			Metrics: map[string]float64{"roc_auc": m.Metrics.ROCAUC}, WorkflowID: "daily-" + model, RunID: "r1", Parent: 2,
		},
		Model: m, Holdout: &mt, Rows: rows,
		Verdict: &gate.Verdict{Model: model, Version: 3, Production: 2, HoldoutRows: 1500, Pass: false, Checks: []gate.Check{
			{Name: "min_auc", Value: 0.63, Limit: 0.6, Op: ">=", Pass: true, Lower: &lo, Upper: &hi, Basis: "95% DeLong lower bound"},
			{Name: "max_quarantine_share", Value: 0.2, Limit: 0.1, Op: "<=", Pass: false, Basis: "point", Detail: "<b>broken export</b>"},
			{Name: "qini_positive[Mens E-Mail]", Arm: "Mens E-Mail", Value: -0.0331, Limit: 0, Op: ">", Pass: false, Lower: &qlo, Upper: &qhi,
				Basis: "95% paired bootstrap (1000) lower bound"},
			{Name: "qini_positive[Womens E-Mail]", Arm: "Womens E-Mail", Value: 0.05, Limit: 0, Op: ">", Pass: true, Basis: "point"},
		}, DisabledArms: []string{"Mens E-Mail"}},
		Days: []store.DayStatus{
			{Source: "shop", Day: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Files: 1, Rows: 1600, Cleaned: true, Clean: 1500, Quarantined: 100,
				ByRule: map[clean.Rule]int64{"range": 60, "required": 40}},
			{Source: "shop", Day: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Files: 1, Rows: 1500, Cleaned: true, Clean: 1500},
			{Source: "shop", Day: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC), Files: 2, Rows: 1500},
		},
	}
}

// pairedFixture scores the labelled rows for the ROC curve and the Qini
// curve of every arm.
func pairedFixture(t *testing.T, m *learn.Model, sch schema.Schema, tbl *dataset.Table) *gate.Paired {
	t.Helper()
	target := sch.OfKind(schema.Target)[0]
	tj, _ := tbl.Col(target.Name)
	trj, _ := tbl.Col(m.Uplift.Treatment)
	scores, err := m.ScoreTable(tbl)
	if err != nil {
		t.Fatalf("score fixture: %v", err)
	}
	h := gate.Holdout{Control: m.Uplift.Control}
	for _, a := range m.Uplift.Arms {
		h.Arms = append(h.Arms, a.Arm)
	}
	for i, row := range tbl.Rows {
		y := 0.0
		if row[tj] == target.Positive {
			y = 1
		}
		h.Y = append(h.Y, y)
		h.Challenger = append(h.Challenger, scores[i].Propensity)
		h.Treatment = append(h.Treatment, row[trj])
		h.ChallengerUplift = append(h.ChallengerUplift, scores[i].Uplift)
	}
	p, err := gate.Pair(h)
	if err != nil {
		t.Fatalf("pair fixture: %v", err)
	}
	return p
}

// fixtureDrift is a drift check of a numeric, a categorical feature and
// the score, one feature named to try markup injection.
func fixtureDrift(t *testing.T, model string) Drift {
	t.Helper()
	day := time.Date(2026, 11, 6, 0, 0, 0, 0, time.UTC)
	detail := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ks, ksp := 0.31, 1e-9
	return Drift{
		Check: store.DriftCheck{Model: model, Day: day, Version: 2, Rows: 1000, DriftedShare: 0.5, DatasetDrift: true,
			Realised: json.RawMessage(`{"Rows":800,"AUC":0.61,"LogLoss":0.41,"ECE":0.02,"ReferenceAUC":0.65,"AUCDrop":0.04}`),
			Breaches: json.RawMessage(`[{"Check":"drifted_share","Value":0.5,"Limit":0.4}]`), Breached: true,
			WorkflowID: "monitor-" + model, CheckedAt: day.Add(5 * time.Hour)},
		Features: []store.DriftFeature{
			{Feature: "recency", Kind: drift.KindNumeric, PSI: 0.42, KSStat: &ks, KSP: &ksp, JS: 0.2, Severity: drift.SeverityAct, Drifted: true,
				Detail: detail(map[string]any{"edges": []float64{1, 2.5, 4, 8}, "ref_counts": []int64{10, 20, 30, 20, 20}, "cur_counts": []int64{30, 30, 20, 10, 10}, "ref_rows": 100, "cur_rows": 100})},
			{Feature: "<script>alert(1)</script>", Kind: drift.KindCategorical, PSI: 0.05, JS: 0.03, Severity: drift.SeverityOK,
				Detail: detail(map[string]any{"levels": []string{"Phone", "Web", "<b>x</b>"}, "ref_counts": []int64{40, 50, 10}, "cur_counts": []int64{45, 45, 10}, "ref_rows": 100, "cur_rows": 100})},
			{Feature: "score", Kind: drift.KindScore, PSI: math.NaN(), Severity: drift.SeverityOK, Detail: detail(map[string]any{"edges": []float64{}, "ref_counts": []int64{0}, "cur_counts": []int64{0}})},
		},
	}
}

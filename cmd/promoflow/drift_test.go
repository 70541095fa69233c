package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/promoflow/promoflow/store"
)

func TestPrintDrift(t *testing.T) {
	ks, p := 0.21, 1e-6
	check := store.DriftCheck{
		Model: "m", Day: time.Date(2026, 5, 5, 0, 0, 0, 0, time.UTC), Version: 3, Rows: 100, DriftedShare: 0.5,
		Breaches: json.RawMessage(`[{"Check":"score_psi","Value":0.31,"Limit":0.25}]`),
		Realised: json.RawMessage(`{"Rows":90,"AUC":0.6,"ReferenceAUC":0.7,"AUCDrop":0.1,"LogLoss":0.7,"ECE":0.05}`),
	}
	features := []store.DriftFeature{
		{Feature: "x", Kind: "numeric", PSI: 0.4, KSStat: &ks, KSP: &p, JS: 0.2, Severity: "act", Drifted: true},
		{Feature: "seg", Kind: "categorical", PSI: 0.01, JS: 0.02, Severity: "ok"},
	}
	var b strings.Builder
	if err := printDrift(&b, check, features); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"model m  day 2026-05-05  production v3",
		"drifted features 50%",
		"AUC 0.6000 (validation 0.7000, drop 0.1000)",
		"BREACH score_psi 0.31 over 0.25",
		"x        numeric      0.4000  0.2100  1e-06  0.2000  act       true",
		"seg      categorical  0.0100  -       -      0.0200  ok        false",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

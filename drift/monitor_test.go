package drift

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestBreaches(t *testing.T) {
	l := DefaultMonitorLimits() // score PSI ≥ 0.25, drifted share ≥ 0.5, AUC drop > 0.05
	feature := func(psi float64) Result { return Result{Feature: "x", Kind: KindNumeric, PSI: psi} }
	score := func(psi float64) Result { return Result{Feature: "score", Kind: KindScore, PSI: psi} }
	drop := func(d float64) *float64 { return &d }
	tests := []struct {
		name    string
		results []Result
		sum     Summary
		aucDrop *float64
		want    []Breach
	}{
		{"quiet day", []Result{feature(0.3), score(0.1)}, Summary{Features: 4, Drifted: 1, DriftedShare: 0.25}, drop(0.01), nil},
		{"feature PSI alone never breaches", []Result{feature(0.9)}, Summary{Features: 4, Drifted: 1, DriftedShare: 0.25}, nil, nil},
		{"score PSI at the limit", []Result{score(0.25)}, Summary{}, nil,
			[]Breach{{Check: CheckScorePSI, Value: 0.25, Limit: 0.25}}},
		{"drifted share at the limit", nil, Summary{Features: 4, Drifted: 2, DriftedShare: 0.5}, nil,
			[]Breach{{Check: CheckDriftedShare, Value: 0.5, Limit: 0.5}}},
		{"no features compared", nil, Summary{Features: 0, DriftedShare: 1}, nil, nil},
		{"AUC drop at the limit does not breach", nil, Summary{}, drop(0.05), nil},
		{"AUC drop over the limit", nil, Summary{}, drop(0.08), []Breach{{Check: CheckAUCDrop, Value: 0.08, Limit: 0.05}}},
		{"every check, in order", []Result{score(0.4)}, Summary{Features: 2, Drifted: 2, DriftedShare: 1}, drop(0.2), []Breach{
			{Check: CheckScorePSI, Value: 0.4, Limit: 0.25}, {Check: CheckDriftedShare, Value: 1, Limit: 0.5}, {Check: CheckAUCDrop, Value: 0.2, Limit: 0.05}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := l.Breaches(tt.results, tt.sum, tt.aucDrop); !slices.Equal(got, tt.want) {
				t.Errorf("Breaches = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMonitorJSONNames pins the field names MonitorLimits and Breach
// travel under in workflow histories: recorded histories must replay.
func TestMonitorJSONNames(t *testing.T) {
	tests := []struct {
		v    any
		want []string
	}{
		{DefaultMonitorLimits(), []string{`"Drift":{"psi_warn":0.1,`, `"RollbackScorePSI":0.25`, `"RollbackDriftedShare":0.5`,
			`"RollbackAUCDrop":0.05`, `"Consecutive":3`, `"CoolDown":259200000000000`}},
		{Breach{Check: CheckAUCDrop, Value: 0.08, Limit: 0.05}, []string{`{"Check":"auc_drop","Value":0.08,"Limit":0.05}`}},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.v)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%T encodes as %s, want it to contain %s", tt.v, b, w)
			}
		}
	}
}

func TestBreachString(t *testing.T) {
	if got, want := (Breach{Check: CheckScorePSI, Value: 0.312345, Limit: 0.25}).String(), "score_psi 0.3123 over 0.25"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

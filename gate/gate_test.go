package gate

import (
	"math"
	"reflect"
	"testing"
)

func ptr(v float64) *float64 { return &v }

func TestJudge(t *testing.T) {
	good := Scores{AUC: 0.75, LogLoss: 0.40, CalibrationError: 0.02}
	tests := []struct {
		name       string
		rows       int
		challenger Scores
		production *Scores
		quarantine float64
		wantFailed []string
	}{
		{name: "first model, absolute checks pass", rows: 1000, challenger: good},
		{name: "too few rows and weak AUC", rows: 100, challenger: Scores{AUC: 0.55, CalibrationError: 0.01}, wantFailed: []string{"min_rows", "min_auc"}},
		{name: "badly calibrated", rows: 1000, challenger: Scores{AUC: 0.8, CalibrationError: 0.2}, wantFailed: []string{"max_calibration_error"}},
		{name: "slightly worse than production within tolerance", rows: 1000, challenger: good, production: &Scores{AUC: 0.755, LogLoss: 0.395}},
		{name: "much worse than production", rows: 1000, challenger: good, production: &Scores{AUC: 0.80, LogLoss: 0.30}, wantFailed: []string{"auc_vs_production", "log_loss_vs_production"}},
		{name: "uplift with negative qini", rows: 1000, challenger: Scores{AUC: 0.7, CalibrationError: 0.01, Qini: ptr(-0.01)}, wantFailed: []string{"qini_positive"}},
		{name: "NaN AUC never passes", rows: 1000, challenger: Scores{AUC: math.NaN(), CalibrationError: 0.01}, wantFailed: []string{"min_auc"}},
		{name: "a day with a third of its rows quarantined", rows: 1000, challenger: good, quarantine: 0.33, wantFailed: []string{"max_quarantine_share"}},
		{name: "unknown quarantine share skips the check", rows: 1000, challenger: good, quarantine: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := Judge(Limits{}, Input{HoldoutRows: tt.rows, Challenger: tt.challenger, Production: tt.production, QuarantineShare: tt.quarantine})
			got := Verdict{Checks: checks}.Failed()
			if !reflect.DeepEqual(got, tt.wantFailed) {
				t.Errorf("failed checks = %v, want %v (checks %+v)", got, tt.wantFailed, checks)
			}
			if AllPass(checks) != (len(tt.wantFailed) == 0) {
				t.Errorf("AllPass = %v with failures %v", AllPass(checks), got)
			}
		})
	}
}

func TestWithDefaultsKeepsSetLimits(t *testing.T) {
	got := Limits{MinAUC: 0.7}.WithDefaults()
	if got.MinAUC != 0.7 || got.MaxAUCDrop != Defaults.MaxAUCDrop || got.MinRows != Defaults.MinRows {
		t.Errorf("WithDefaults = %+v; want MinAUC kept at 0.7 and the rest from Defaults", got)
	}
}

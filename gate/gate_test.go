package gate

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func ptr(v float64) *float64 { return &v }

func TestJudge(t *testing.T) {
	good := Scores{AUC: 0.75, LogLoss: 0.40, CalibrationError: 0.02}
	uplift := func(arms ...ArmScore) Scores { s := good; s.Arms = arms; return s }
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
		{name: "uplift with negative qini", rows: 1000, challenger: uplift(ArmScore{"A", -0.01}), wantFailed: []string{"qini_positive[A]"}},
		{
			name: "every arm is judged, not only the best", rows: 1000,
			challenger: uplift(ArmScore{"Womens E-Mail", 0.08}, ArmScore{"Mens E-Mail", -0.0331}),
			wantFailed: []string{"qini_positive[Mens E-Mail]"},
		},
		{
			name: "one arm worse than production's same arm", rows: 1000,
			challenger: uplift(ArmScore{"B", 0.02}, ArmScore{"A", 0.10}),
			production: ptrScores(uplift(ArmScore{"A", 0.12}, ArmScore{"B", 0.09})),
			wantFailed: []string{"qini_vs_production[B]"},
		},
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
			if pass, _ := Decide(Limits{}, checks); pass != (len(tt.wantFailed) == 0) {
				t.Errorf("Decide = %v with failures %v", pass, got)
			}
		})
	}
}

// TestJudgeArmChecks checks the names, order, arms and notes of the
// per-arm checks when production lacks one of the challenger's arms.
func TestJudgeArmChecks(t *testing.T) {
	ch := Scores{AUC: 0.7, LogLoss: 0.4, CalibrationError: 0.01, Arms: []ArmScore{{"Womens E-Mail", 0.05}, {"Mens E-Mail", 0.03}}}
	prod := Scores{AUC: 0.7, LogLoss: 0.4, CalibrationError: 0.01, Arms: []ArmScore{{"Womens E-Mail", 0.04}}}
	checks := Judge(Limits{}, Input{HoldoutRows: 1000, Challenger: ch, Production: &prod, QuarantineShare: -1})
	type armCheck struct{ name, arm, detail string }
	var got []armCheck
	for _, c := range checks {
		if c.Arm != "" {
			got = append(got, armCheck{c.Name, c.Arm, c.Detail})
		}
	}
	want := []armCheck{
		{"qini_positive[Mens E-Mail]", "Mens E-Mail", "production has no arm Mens E-Mail: no qini_vs_production check"},
		{"qini_positive[Womens E-Mail]", "Womens E-Mail", ""},
		{"qini_vs_production[Womens E-Mail]", "Womens E-Mail", "challenger 0.0500, production 0.0400"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("arm checks = %+v, want %+v", got, want)
	}
}

func TestDecide(t *testing.T) {
	check := func(name, arm string, pass bool) Check { return Check{Name: name, Arm: arm, Pass: pass} }
	whole := check("min_auc", "", true)
	wholeFails := check("min_auc", "", false)
	tests := []struct {
		name         string
		arms         string
		checks       []Check
		wantPass     bool
		wantDisabled []string
		wantFailed   []string
	}{
		{"no checks never pass", ArmsAny, nil, false, nil, nil},
		{"propensity model, any", ArmsAny, []Check{whole}, true, nil, nil},
		{"propensity model fails, any", ArmsAny, []Check{wholeFails}, false, nil, []string{"min_auc"}},
		{"all arms pass, all", ArmsAll, []Check{whole, check("qini_positive[A]", "A", true), check("qini_positive[B]", "B", true)}, true, nil, nil},
		{
			"one arm fails, all: the verdict fails", ArmsAll,
			[]Check{whole, check("qini_positive[A]", "A", true), check("qini_positive[B]", "B", false)},
			false, nil, []string{"qini_positive[B]"},
		},
		{
			"default is all", "",
			[]Check{whole, check("qini_positive[A]", "A", true), check("qini_positive[B]", "B", false)},
			false, nil, []string{"qini_positive[B]"},
		},
		{
			"one arm fails, any: it is disabled", ArmsAny,
			[]Check{whole, check("qini_positive[Womens E-Mail]", "Womens E-Mail", true), check("qini_positive[Mens E-Mail]", "Mens E-Mail", false)},
			true, []string{"Mens E-Mail"}, nil,
		},
		{
			"an arm failing only against production is disabled", ArmsAny,
			[]Check{whole, check("qini_positive[A]", "A", true), check("qini_positive[B]", "B", true), check("qini_vs_production[B]", "B", false)},
			true, []string{"B"}, nil,
		},
		{
			"every arm fails, any: the verdict fails", ArmsAny,
			[]Check{whole, check("qini_positive[B]", "B", false), check("qini_positive[A]", "A", false), check("qini_vs_production[A]", "A", false)},
			false, []string{"A", "B"}, []string{"qini_positive[B]", "qini_positive[A]", "qini_vs_production[A]"},
		},
		{
			"a failed whole-model check fails the verdict, any", ArmsAny,
			[]Check{wholeFails, check("qini_positive[A]", "A", true), check("qini_positive[B]", "B", false)},
			false, []string{"B"}, []string{"min_auc"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pass, disabled := Decide(Limits{Arms: tt.arms}, tt.checks)
			if pass != tt.wantPass || !slices.Equal(disabled, tt.wantDisabled) {
				t.Errorf("Decide = %v, disabled %q; want %v, disabled %q", pass, disabled, tt.wantPass, tt.wantDisabled)
			}
			v := Verdict{Pass: pass, Checks: tt.checks, DisabledArms: disabled}
			if got := v.Failed(); !slices.Equal(got, tt.wantFailed) {
				t.Errorf("Failed = %q, want %q", got, tt.wantFailed)
			}
		})
	}
}

func TestValidateArms(t *testing.T) {
	tests := []struct {
		arms    string
		wantErr bool
	}{{"", false}, {ArmsAll, false}, {ArmsAny, false}, {"best", true}}
	for _, tt := range tests {
		err := Limits{Arms: tt.arms}.Validate()
		if (err != nil) != tt.wantErr || (err != nil && !strings.Contains(err.Error(), "arms")) {
			t.Errorf("Validate(arms %q) = %v, want error %t", tt.arms, err, tt.wantErr)
		}
	}
}

func TestWithDefaultsKeepsSetLimits(t *testing.T) {
	got := Limits{MinAUC: 0.7, Arms: ArmsAny}.WithDefaults()
	if got.MinAUC != 0.7 || got.Arms != ArmsAny || got.MaxAUCDrop != Defaults.MaxAUCDrop || got.MinRows != Defaults.MinRows {
		t.Errorf("WithDefaults = %+v; want MinAUC kept at 0.7, arms at any and the rest from Defaults", got)
	}
	if got := (Limits{}).WithDefaults().Arms; got != ArmsAll {
		t.Errorf("default arms = %q, want %q", got, ArmsAll)
	}
}

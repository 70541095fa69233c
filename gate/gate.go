// Package gate decides whether a challenger model may replace production:
// every check is named, with the value measured, the limit and the verdict,
// so a person reading it later knows exactly why a version moved or not.
package gate

import (
	"fmt"
	"math"
)

// Limits are a model's gate thresholds. Zero values take the defaults.
type Limits struct {
	// MinAUC is the lowest holdout ROC-AUC a challenger may have.
	MinAUC float64 `yaml:"min_auc" json:"min_auc"`
	// MaxAUCDrop is how much lower than production's AUC the challenger's
	// may be on the same holdout.
	MaxAUCDrop float64 `yaml:"max_auc_drop" json:"max_auc_drop"`
	// MaxLogLossRise is how much higher than production's log loss the
	// challenger's may be.
	MaxLogLossRise float64 `yaml:"max_log_loss_rise" json:"max_log_loss_rise"`
	// MaxCalibrationError bounds the expected calibration error.
	MaxCalibrationError float64 `yaml:"max_calibration_error" json:"max_calibration_error"`
	// MinRows is the smallest holdout the gate trusts.
	MinRows int `yaml:"min_rows" json:"min_rows"`
	// MinQini is the lowest Qini coefficient of an uplift model (exclusive).
	MinQini float64 `yaml:"min_qini" json:"min_qini"`
}

// Defaults are the limits used where a model's configuration is silent.
var Defaults = Limits{
	MinAUC:              0.60,
	MaxAUCDrop:          0.01,
	MaxLogLossRise:      0.01,
	MaxCalibrationError: 0.05,
	MinRows:             500,
	MinQini:             0,
}

// WithDefaults fills unset limits from Defaults.
func (l Limits) WithDefaults() Limits {
	if l.MinAUC == 0 {
		l.MinAUC = Defaults.MinAUC
	}
	if l.MaxAUCDrop == 0 {
		l.MaxAUCDrop = Defaults.MaxAUCDrop
	}
	if l.MaxLogLossRise == 0 {
		l.MaxLogLossRise = Defaults.MaxLogLossRise
	}
	if l.MaxCalibrationError == 0 {
		l.MaxCalibrationError = Defaults.MaxCalibrationError
	}
	if l.MinRows == 0 {
		l.MinRows = Defaults.MinRows
	}
	return l
}

// Check is one named test of the gate.
type Check struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	// Op says how Value must compare with Limit to pass: ">=", "<=" or ">".
	Op     string `json:"op"`
	Pass   bool   `json:"pass"`
	Detail string `json:"detail,omitempty"`
}

// Verdict is the gate's answer with every check it made.
type Verdict struct {
	Model       string  `json:"model"`
	Version     int     `json:"version"`
	Production  int     `json:"production"` // 0 when there is no production model yet
	HoldoutRows int     `json:"holdout_rows"`
	Pass        bool    `json:"pass"`
	Checks      []Check `json:"checks"`
}

// Failed lists the names of the failed checks.
func (v Verdict) Failed() []string {
	var out []string
	for _, c := range v.Checks {
		if !c.Pass {
			out = append(out, c.Name)
		}
	}
	return out
}

// Scores are one model's metrics on the holdout.
type Scores struct {
	AUC              float64
	LogLoss          float64
	CalibrationError float64
	// Qini is set for uplift models only.
	Qini *float64
}

// Judge compares a challenger with production (nil when there is none yet:
// then only the absolute checks apply) on a holdout of rows rows.
func Judge(l Limits, rows int, challenger Scores, production *Scores) []Check {
	l = l.WithDefaults()
	checks := []Check{
		compare("min_rows", float64(rows), float64(l.MinRows), ">="),
		compare("min_auc", challenger.AUC, l.MinAUC, ">="),
		compare("max_calibration_error", challenger.CalibrationError, l.MaxCalibrationError, "<="),
	}
	if challenger.Qini != nil {
		checks = append(checks, compare("qini_positive", *challenger.Qini, l.MinQini, ">"))
	}
	if production != nil {
		c := compare("auc_vs_production", challenger.AUC-production.AUC, -l.MaxAUCDrop, ">=")
		c.Detail = fmt.Sprintf("challenger %.4f, production %.4f", challenger.AUC, production.AUC)
		checks = append(checks, c)
		c = compare("log_loss_vs_production", challenger.LogLoss-production.LogLoss, l.MaxLogLossRise, "<=")
		c.Detail = fmt.Sprintf("challenger %.4f, production %.4f", challenger.LogLoss, production.LogLoss)
		checks = append(checks, c)
	}
	return checks
}

// AllPass reports whether every check passed.
func AllPass(checks []Check) bool {
	for _, c := range checks {
		if !c.Pass {
			return false
		}
	}
	return len(checks) > 0
}

func compare(name string, value, limit float64, op string) Check {
	c := Check{Name: name, Value: value, Limit: limit, Op: op}
	if math.IsNaN(value) {
		c.Detail = "value is NaN"
		return c
	}
	switch op {
	case ">=":
		c.Pass = value >= limit
	case "<=":
		c.Pass = value <= limit
	case ">":
		c.Pass = value > limit
	default:
		panic("gate: unknown comparison " + op)
	}
	return c
}

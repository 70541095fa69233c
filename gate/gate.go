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
	// MaxQuarantineShare bounds the share of the run day's rows that
	// cleaning quarantined: a day that bad is not trusted to train on.
	MaxQuarantineShare float64 `yaml:"max_quarantine_share" json:"max_quarantine_share"`
}

// Defaults are the limits used where a model's configuration is silent.
var Defaults = Limits{
	MinAUC:              0.60,
	MaxAUCDrop:          0.01,
	MaxLogLossRise:      0.01,
	MaxCalibrationError: 0.05,
	MinRows:             500,
	MinQini:             0,
	MaxQuarantineShare:  0.10,
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
	if l.MaxQuarantineShare == 0 {
		l.MaxQuarantineShare = Defaults.MaxQuarantineShare
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

// Input is what the gate judges: the challenger's and production's scores
// on the same holdout, and the quality of the data the challenger learned from.
type Input struct {
	HoldoutRows int
	Challenger  Scores
	// Production is nil when there is no production model yet: then only
	// the absolute checks apply.
	Production *Scores
	// QuarantineShare is the share of the run day's rows quarantined by
	// cleaning; negative when unknown (a manual promotion), which skips
	// the check.
	QuarantineShare float64
}

// Judge runs every check on in.
func Judge(l Limits, in Input) []Check {
	l = l.WithDefaults()
	ch := in.Challenger
	checks := []Check{
		compare("min_rows", float64(in.HoldoutRows), float64(l.MinRows), ">="),
		compare("min_auc", ch.AUC, l.MinAUC, ">="),
		compare("max_calibration_error", ch.CalibrationError, l.MaxCalibrationError, "<="),
	}
	if in.QuarantineShare >= 0 {
		checks = append(checks, compare("max_quarantine_share", in.QuarantineShare, l.MaxQuarantineShare, "<="))
	}
	if ch.Qini != nil {
		checks = append(checks, compare("qini_positive", *ch.Qini, l.MinQini, ">"))
	}
	if p := in.Production; p != nil {
		c := compare("auc_vs_production", ch.AUC-p.AUC, -l.MaxAUCDrop, ">=")
		c.Detail = fmt.Sprintf("challenger %.4f, production %.4f", ch.AUC, p.AUC)
		checks = append(checks, c)
		c = compare("log_loss_vs_production", ch.LogLoss-p.LogLoss, l.MaxLogLossRise, "<=")
		c.Detail = fmt.Sprintf("challenger %.4f, production %.4f", ch.LogLoss, p.LogLoss)
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

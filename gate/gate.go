// Package gate decides whether a challenger model may replace production:
// every check is named, with the value measured, the limit and the verdict,
// so a person reading it later knows exactly why a version moved or not.
package gate

import (
	"fmt"
	"math"
	"strings"
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
	// MaxCalibrationRise is how much higher than production's expected
	// calibration error the challenger's may be.
	MaxCalibrationRise float64 `yaml:"max_calibration_rise" json:"max_calibration_rise,omitempty"`
	// MaxQiniDrop is how much lower than production's Qini coefficient an
	// uplift challenger's may be.
	MaxQiniDrop float64 `yaml:"max_qini_drop" json:"max_qini_drop,omitempty"`

	// Mode is how comparisons with production decide: ModeInterval
	// (default) passes a challenger only when it is not worse than
	// production beyond the tolerance with Confidence, ModePoint compares
	// the point estimates.
	Mode string `yaml:"mode" json:"mode,omitempty"`
	// Confidence is the level of the two-sided intervals (default 0.95).
	Confidence float64 `yaml:"confidence" json:"confidence,omitempty"`
	// BootstrapResamples is the number of paired bootstrap resamples
	// (default 1000).
	BootstrapResamples int `yaml:"bootstrap_resamples" json:"bootstrap_resamples,omitempty"`
	// Seed seeds the bootstrap, so a verdict can be recomputed exactly.
	Seed uint64 `yaml:"seed" json:"seed,omitempty"`
}

// Comparison modes of Limits.Mode.
const (
	ModeInterval = "interval"
	ModePoint    = "point"
)

// Defaults are the limits used where a model's configuration is silent.
var Defaults = Limits{
	MinAUC:              0.60,
	MaxAUCDrop:          0.01,
	MaxLogLossRise:      0.01,
	MaxCalibrationError: 0.05,
	MinRows:             500,
	MinQini:             0,
	MaxQuarantineShare:  0.10,
	MaxCalibrationRise:  0.02,
	MaxQiniDrop:         0.05,
	Mode:                ModeInterval,
	Confidence:          0.95,
	BootstrapResamples:  1000,
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
	if l.MaxCalibrationRise == 0 {
		l.MaxCalibrationRise = Defaults.MaxCalibrationRise
	}
	if l.MaxQiniDrop == 0 {
		l.MaxQiniDrop = Defaults.MaxQiniDrop
	}
	if l.Mode == "" {
		l.Mode = Defaults.Mode
	}
	if l.Confidence == 0 {
		l.Confidence = Defaults.Confidence
	}
	if l.BootstrapResamples == 0 {
		l.BootstrapResamples = Defaults.BootstrapResamples
	}
	return l
}

// Validate reports limits no gate can apply.
func (l Limits) Validate() error {
	l = l.WithDefaults()
	switch {
	case l.Mode != ModeInterval && l.Mode != ModePoint:
		return fmt.Errorf("gate: mode %q: want %q or %q", l.Mode, ModeInterval, ModePoint)
	case !(l.Confidence > 0.5 && l.Confidence < 1):
		return fmt.Errorf("gate: confidence %v: want in (0.5, 1)", l.Confidence)
	case l.BootstrapResamples < 100:
		return fmt.Errorf("gate: bootstrap_resamples %d: want at least 100", l.BootstrapResamples)
	}
	return nil
}

// Check is one named test of the gate.
type Check struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	// Op says how Value must compare with Limit to pass: ">=", "<=" or ">".
	Op   string `json:"op"`
	Pass bool   `json:"pass"`
	// Lower and Upper bound the two-sided confidence interval of Value
	// when the gate had the holdout's rows to measure it.
	Lower *float64 `json:"lower,omitempty"`
	Upper *float64 `json:"upper,omitempty"`
	// Basis says what decided: "point" for Value itself, or the interval,
	// e.g. "95% DeLong lower bound".
	Basis  string `json:"basis,omitempty"`
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
	// Rows are the holdout's labels and both models' predictions. With
	// them the checks get confidence intervals; without them every check
	// decides on its point value.
	Rows *Paired
}

// Judge runs every check on in. Absolute limits (min_auc,
// max_calibration_error, qini_positive) decide on the measured value and
// show its interval. Comparisons with production are non-inferiority
// tests in ModeInterval: the challenger passes when the bound of the
// difference on the unfavourable side is within the tolerance, e.g. the
// lower bound of AUC(challenger) − AUC(production) ≥ −MaxAUCDrop (DeLong),
// the upper bound of the log loss difference ≤ MaxLogLossRise (paired
// bootstrap).
func Judge(l Limits, in Input) []Check {
	l = l.WithDefaults()
	if err := l.Validate(); err != nil {
		return []Check{{Name: "limits", Op: "valid", Detail: err.Error()}}
	}
	ch := in.Challenger
	m := measure(l, in)
	auc := compare("min_auc", ch.AUC, l.MinAUC, ">=")
	if m.delong != nil {
		lo, hi := m.delong.IntervalA(l.Confidence)
		withInterval(&auc, &Interval{Lower: lo, Upper: hi})
	}
	cal := compare("max_calibration_error", ch.CalibrationError, l.MaxCalibrationError, "<=")
	if m.boot != nil {
		withInterval(&cal, &m.boot.Calibration)
	}
	checks := []Check{compare("min_rows", float64(in.HoldoutRows), float64(l.MinRows), ">="), auc, cal}
	if in.QuarantineShare >= 0 {
		checks = append(checks, compare("max_quarantine_share", in.QuarantineShare, l.MaxQuarantineShare, "<="))
	}
	if ch.Qini != nil {
		c := compare("qini_positive", *ch.Qini, l.MinQini, ">")
		if m.boot != nil && m.boot.Qini != nil {
			withInterval(&c, m.boot.Qini)
		}
		checks = append(checks, c)
	}
	if m.err != "" {
		for i := range checks {
			checks[i].Detail = strings.TrimPrefix(checks[i].Detail+"; no interval: "+m.err, "; ")
		}
	}
	p := in.Production
	if p == nil {
		return checks
	}
	pct := fmt.Sprintf("%g%%", 100*l.Confidence)
	var aucIv *Interval
	if m.delong != nil && m.hasProd {
		lo, hi := m.delong.Interval(l.Confidence)
		aucIv = &Interval{Lower: lo, Upper: hi}
	}
	c := comparison(l, "auc_vs_production", ch.AUC-p.AUC, -l.MaxAUCDrop, ">=", aucIv, pct+" DeLong")
	c.Detail = fmt.Sprintf("challenger %.4f, production %.4f", ch.AUC, p.AUC)
	if m.delong != nil && m.hasProd && !math.IsNaN(m.delong.P) {
		c.Detail += fmt.Sprintf(", p = %.3g", m.delong.P)
	}
	checks = append(checks, c)
	var boot BootstrapResult
	if m.boot != nil && m.hasProd {
		boot = *m.boot
	}
	method := fmt.Sprintf("%s paired bootstrap (%d)", pct, l.BootstrapResamples)
	c = comparison(l, "log_loss_vs_production", ch.LogLoss-p.LogLoss, l.MaxLogLossRise, "<=", boot.LogLossDiff, method)
	c.Detail = fmt.Sprintf("challenger %.4f, production %.4f", ch.LogLoss, p.LogLoss)
	checks = append(checks, c)
	c = comparison(l, "calibration_vs_production", ch.CalibrationError-p.CalibrationError, l.MaxCalibrationRise, "<=", boot.CalibrationDiff, method)
	c.Detail = fmt.Sprintf("challenger %.4f, production %.4f", ch.CalibrationError, p.CalibrationError)
	checks = append(checks, c)
	if ch.Qini != nil && p.Qini != nil {
		c = comparison(l, "qini_vs_production", *ch.Qini-*p.Qini, -l.MaxQiniDrop, ">=", boot.QiniDiff, method)
		c.Detail = fmt.Sprintf("challenger %.4f, production %.4f", *ch.Qini, *p.Qini)
		checks = append(checks, c)
	}
	return checks
}

// measured are the interval statistics of a holdout.
type measured struct {
	delong  *DeLong
	boot    *BootstrapResult
	hasProd bool   // the statistics compare with production
	err     string // why there are none
}

// measure computes DeLong's test and the paired bootstrap on in.Rows.
func measure(l Limits, in Input) measured {
	r := in.Rows
	if r == nil {
		return measured{}
	}
	m := measured{hasProd: r.Production != nil && in.Production != nil}
	prod := r.Production
	if !m.hasProd {
		prod = r.Challenger
		r = &Paired{Y: r.Y, Challenger: r.Challenger, Treated: r.Treated, ChallengerUplift: r.ChallengerUplift}
	}
	if d, err := PairedDeLong(r.Y, r.Challenger, prod); err != nil {
		m.err = err.Error()
	} else {
		m.delong = &d
	}
	b, err := Bootstrap(*r, BootstrapConfig{Resamples: l.BootstrapResamples, Seed: l.Seed, Confidence: l.Confidence})
	if err != nil {
		m.err = err.Error()
	} else {
		m.boot = &b
	}
	return m
}

// withInterval attaches iv to a check that decides on its point value.
func withInterval(c *Check, iv *Interval) {
	lo, hi := iv.Lower, iv.Upper
	c.Lower, c.Upper = &lo, &hi
	c.Basis = "point"
}

// comparison is a check against production: on the interval's bound in
// ModeInterval, on the value in ModePoint or when there is no interval.
func comparison(l Limits, name string, value, limit float64, op string, iv *Interval, method string) Check {
	c := compare(name, value, limit, op)
	c.Basis = "point"
	if iv == nil {
		return c
	}
	lo, hi := iv.Lower, iv.Upper
	c.Lower, c.Upper = &lo, &hi
	if l.Mode != ModeInterval || math.IsNaN(value) {
		return c
	}
	bound, side := lo, "lower"
	if op == "<=" {
		bound, side = hi, "upper"
	}
	c.Basis = method + " " + side + " bound"
	switch {
	case math.IsNaN(bound):
		c.Pass = false
		c.Detail = "interval is NaN"
	case op == "<=":
		c.Pass = bound <= limit
	default:
		c.Pass = bound >= limit
	}
	return c
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

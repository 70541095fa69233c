// Package gate decides whether a challenger model may replace production:
// every check is named, with the value measured, the limit and the verdict,
// so a person reading it later knows exactly why a version moved or not.
package gate

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Check is one named test of the gate.
type Check struct {
	Name string `json:"name"`
	// Arm is the uplift arm a per-arm check judges ("" for the model as a
	// whole); its name then ends in "[arm]", e.g. qini_positive[Mens E-Mail].
	Arm   string  `json:"arm,omitempty"`
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
	// DisabledArms are the uplift arms that failed their checks under
	// `arms: any`, sorted: the version is never offered with them.
	DisabledArms []string `json:"disabled_arms,omitempty"`
}

// Failed lists the names of the failed checks that fail the verdict:
// every failed check except those of a disabled arm, whose failure
// disabled the arm instead, unless every arm is disabled.
func (v Verdict) Failed() []string {
	allOff := len(v.DisabledArms) > 0 && !slices.ContainsFunc(v.Checks, func(c Check) bool {
		return c.Arm != "" && !v.ArmDisabled(c.Arm)
	})
	var out []string
	for _, c := range v.Checks {
		if !c.Pass && (allOff || !v.ArmDisabled(c.Arm)) {
			out = append(out, c.Name)
		}
	}
	return out
}

// ArmDisabled reports whether arm is one of the verdict's disabled arms.
func (v Verdict) ArmDisabled(arm string) bool {
	return arm != "" && slices.Contains(v.DisabledArms, arm)
}

// Decide is the verdict on checks under l.Arms. An arm fails when one of
// its checks (qini_positive[arm], qini_vs_production[arm]) fails. With
// ArmsAll any failed check fails the verdict. With ArmsAny a failed arm
// is disabled instead: pass then needs every check of the model as a
// whole to pass and at least one arm of an uplift model to remain.
// disabled lists the failed arms, sorted, under ArmsAny only.
func Decide(l Limits, checks []Check) (pass bool, disabled []string) {
	l = l.WithDefaults()
	if len(checks) == 0 {
		return false, nil
	}
	whole := true
	var arms, failed []string
	for _, c := range checks {
		switch {
		case c.Arm == "":
			whole = whole && c.Pass
		case !slices.Contains(arms, c.Arm):
			arms = append(arms, c.Arm)
		}
		if c.Arm != "" && !c.Pass && !slices.Contains(failed, c.Arm) {
			failed = append(failed, c.Arm)
		}
	}
	if l.Arms != ArmsAny {
		return whole && len(failed) == 0, nil
	}
	slices.Sort(failed)
	return whole && (len(arms) == 0 || len(failed) < len(arms)), failed
}

// ArmScore is one uplift arm's Qini coefficient.
type ArmScore struct {
	Arm  string
	Qini float64
}

// Scores are one model's metrics on the holdout.
type Scores struct {
	AUC              float64
	LogLoss          float64
	CalibrationError float64
	// Arms are the Qini coefficients of an uplift model's treatment arms,
	// in any order; nil for a propensity model.
	Arms []ArmScore
}

// arm returns the score of the named arm.
func (s Scores) arm(name string) (ArmScore, bool) {
	i := slices.IndexFunc(s.Arms, func(a ArmScore) bool { return a.Arm == name })
	if i < 0 {
		return ArmScore{}, false
	}
	return s.Arms[i], true
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
// max_calibration_error) decide on the measured value and show its
// interval. Every uplift arm is judged on its own, in arm-name order:
// qini_positive[arm] passes in ModeInterval when the lower bound of the
// arm's Qini interval (paired bootstrap) is above MinQini, in ModePoint
// or without rows when the Qini itself is; qini_vs_production[arm]
// compares with production's same arm and is left out, with a note on
// qini_positive[arm], when production has no such arm. Comparisons with
// production are non-inferiority tests in ModeInterval: the challenger
// passes when the bound of the difference on the unfavourable side is
// within the tolerance, e.g. the lower bound of AUC(challenger) −
// AUC(production) ≥ −MaxAUCDrop (DeLong), the upper bound of the log
// loss difference ≤ MaxLogLossRise (paired bootstrap). Judge does not
// decide the verdict; see Decide.
func Judge(l Limits, in Input) []Check {
	l = l.WithDefaults()
	if err := l.Validate(); err != nil {
		return []Check{{Name: "limits", Op: "valid", Detail: err.Error()}}
	}
	arms := slices.SortedFunc(slices.Values(in.Challenger.Arms), func(a, b ArmScore) int { return strings.Compare(a.Arm, b.Arm) })
	j := judging{l: l, m: measure(l, in), pct: fmt.Sprintf("%g%%", 100*l.Confidence)}
	j.method = fmt.Sprintf("%s paired bootstrap (%d)", j.pct, l.BootstrapResamples)
	checks := j.absolute(in, arms)
	if in.Production == nil {
		return checks
	}
	return append(checks, j.vsProduction(in.Challenger, *in.Production, arms)...)
}

// judging is what every check of one Judge call shares: the limits, the
// holdout's interval statistics and the names of the intervals' methods.
type judging struct {
	l           Limits
	m           measured
	pct, method string // "95%", "95% paired bootstrap (1000)"
}

// absolute is the checks that need no production model: holdout rows,
// AUC, calibration, quarantine share and each arm's Qini, with the reason
// for missing intervals on each.
func (j judging) absolute(in Input, arms []ArmScore) []Check {
	l, m, ch := j.l, j.m, in.Challenger
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
	for _, a := range arms {
		var iv *Interval
		if ai := m.arm(a.Arm); ai != nil {
			iv = &ai.Qini
		}
		c := comparison(l, armCheck("qini_positive", a.Arm), a.Qini, l.MinQini, ">", iv, j.method)
		c.Arm = a.Arm
		if p := in.Production; p != nil {
			if _, ok := p.arm(a.Arm); !ok {
				c.Detail = "production has no arm " + a.Arm + ": no qini_vs_production check"
			}
		}
		checks = append(checks, c)
	}
	if m.err != "" {
		for i := range checks {
			checks[i].Detail = strings.TrimPrefix(checks[i].Detail+"; no interval: "+m.err, "; ")
		}
	}
	return checks
}

// vsProduction is the comparisons of the challenger ch with production p:
// AUC, log loss, calibration and the Qini of each arm production has.
func (j judging) vsProduction(ch, p Scores, arms []ArmScore) []Check {
	l, m := j.l, j.m
	var aucIv *Interval
	if m.delong != nil && m.hasProd {
		lo, hi := m.delong.Interval(l.Confidence)
		aucIv = &Interval{Lower: lo, Upper: hi}
	}
	c := comparison(l, "auc_vs_production", ch.AUC-p.AUC, -l.MaxAUCDrop, ">=", aucIv, j.pct+" DeLong")
	c.Detail = fmt.Sprintf("challenger %.4f, production %.4f", ch.AUC, p.AUC)
	if m.delong != nil && m.hasProd && !math.IsNaN(m.delong.P) {
		c.Detail += fmt.Sprintf(", p = %.3g", m.delong.P)
	}
	checks := []Check{c}
	var boot BootstrapResult
	if m.boot != nil && m.hasProd {
		boot = *m.boot
	}
	c = comparison(l, "log_loss_vs_production", ch.LogLoss-p.LogLoss, l.MaxLogLossRise, "<=", boot.LogLossDiff, j.method)
	c.Detail = fmt.Sprintf("challenger %.4f, production %.4f", ch.LogLoss, p.LogLoss)
	checks = append(checks, c)
	c = comparison(l, "calibration_vs_production", ch.CalibrationError-p.CalibrationError, l.MaxCalibrationRise, "<=", boot.CalibrationDiff, j.method)
	c.Detail = fmt.Sprintf("challenger %.4f, production %.4f", ch.CalibrationError, p.CalibrationError)
	checks = append(checks, c)
	for _, a := range arms {
		pa, ok := p.arm(a.Arm)
		if !ok {
			continue
		}
		var iv *Interval
		if ai := boot.Arm(a.Arm); ai != nil {
			iv = ai.QiniDiff
		}
		c = comparison(l, armCheck("qini_vs_production", a.Arm), a.Qini-pa.Qini, -l.MaxQiniDrop, ">=", iv, j.method)
		c.Arm = a.Arm
		c.Detail = fmt.Sprintf("challenger %.4f, production %.4f", a.Qini, pa.Qini)
		checks = append(checks, c)
	}
	return checks
}

// armCheck names the check of one arm: check[arm].
func armCheck(check, arm string) string { return check + "[" + arm + "]" }

// measured are the interval statistics of a holdout.
type measured struct {
	delong  *DeLong
	boot    *BootstrapResult
	hasProd bool   // the statistics compare with production
	err     string // why there are none
}

// arm returns the bootstrap intervals of the named arm, nil without.
func (m measured) arm(name string) *ArmInterval {
	if m.boot == nil {
		return nil
	}
	return m.boot.Arm(name)
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
		r = r.withoutProduction()
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

// comparison is a check decided on the interval's bound in ModeInterval:
// the lower bound for ">=" and ">", the upper for "<="; on the value in
// ModePoint or when there is no interval.
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
	case op == ">":
		c.Pass = bound > limit
	default:
		c.Pass = bound >= limit
	}
	return c
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

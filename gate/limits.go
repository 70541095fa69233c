package gate

import (
	"cmp"
	"fmt"
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
	// MinQini is the lowest Qini coefficient of each uplift arm
	// (exclusive); in ModeInterval the lower bound of the arm's interval
	// must be above it.
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
	// Arms is what an uplift arm failing its checks does: ArmsAll
	// (default) fails the verdict, ArmsAny disables the arm, which is then
	// never offered, and fails the verdict only when every arm is
	// disabled (see Decide).
	Arms string `yaml:"arms" json:"arms,omitempty"`
}

// Comparison modes of Limits.Mode.
const (
	ModeInterval = "interval"
	ModePoint    = "point"
)

// Arm rules of Limits.Arms.
const (
	ArmsAll = "all"
	ArmsAny = "any"
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
	Arms:                ArmsAll,
}

// WithDefaults fills unset limits from Defaults.
func (l Limits) WithDefaults() Limits {
	l.MinAUC = cmp.Or(l.MinAUC, Defaults.MinAUC)
	l.MaxAUCDrop = cmp.Or(l.MaxAUCDrop, Defaults.MaxAUCDrop)
	l.MaxLogLossRise = cmp.Or(l.MaxLogLossRise, Defaults.MaxLogLossRise)
	l.MaxCalibrationError = cmp.Or(l.MaxCalibrationError, Defaults.MaxCalibrationError)
	l.MinRows = cmp.Or(l.MinRows, Defaults.MinRows)
	l.MaxQuarantineShare = cmp.Or(l.MaxQuarantineShare, Defaults.MaxQuarantineShare)
	l.MaxCalibrationRise = cmp.Or(l.MaxCalibrationRise, Defaults.MaxCalibrationRise)
	l.MaxQiniDrop = cmp.Or(l.MaxQiniDrop, Defaults.MaxQiniDrop)
	l.Mode = cmp.Or(l.Mode, Defaults.Mode)
	l.Confidence = cmp.Or(l.Confidence, Defaults.Confidence)
	l.BootstrapResamples = cmp.Or(l.BootstrapResamples, Defaults.BootstrapResamples)
	l.Arms = cmp.Or(l.Arms, Defaults.Arms)
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
	case l.Arms != ArmsAll && l.Arms != ArmsAny:
		return fmt.Errorf("gate: arms %q: want %q or %q", l.Arms, ArmsAll, ArmsAny)
	}
	return nil
}

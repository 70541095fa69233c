package drift

import (
	"fmt"
	"time"
)

// Names of the checks that can trigger an automatic rollback.
const (
	CheckScorePSI     = "score_psi"
	CheckDriftedShare = "drifted_share"
	CheckAUCDrop      = "auc_drop"
)

// MonitorLimits are a model's drift limits and when drift or decay rolls
// production back. Its fields travel in workflow histories under these
// names.
type MonitorLimits struct {
	Drift Config `yaml:"drift"`
	// A check breaches when the score's PSI ≥ RollbackScorePSI, the share of
	// drifted features ≥ RollbackDriftedShare, or the realised AUC is more
	// than RollbackAUCDrop under the version's validation AUC.
	RollbackScorePSI     float64 `yaml:"rollback_score_psi"`
	RollbackDriftedShare float64 `yaml:"rollback_drifted_share"`
	RollbackAUCDrop      float64 `yaml:"rollback_auc_drop"`
	// Consecutive is K: production rolls back after K breached checks in a row.
	Consecutive int `yaml:"consecutive"`
	// CoolDown: no automatic rollback while production's last alias move is
	// younger than this, so a fresh promotion or rollback is not undone at once.
	CoolDown time.Duration `yaml:"cool_down"`
}

// DefaultMonitorLimits returns the default limits: DefaultConfig, roll
// back after 3 breached checks of score PSI ≥ 0.25, half the features
// drifted or an AUC drop over 0.05, not within 72h of the last move.
func DefaultMonitorLimits() MonitorLimits {
	return MonitorLimits{
		Drift: DefaultConfig(), RollbackScorePSI: 0.25, RollbackDriftedShare: 0.5,
		RollbackAUCDrop: 0.05, Consecutive: 3, CoolDown: 72 * time.Hour,
	}
}

// Breach is a check over its rollback limit. Its fields travel in
// workflow histories under these names.
type Breach struct {
	Check string
	Value float64
	Limit float64
}

// String is how a breach reads in a rollback reason.
func (b Breach) String() string {
	return fmt.Sprintf("%s %.4g over %.4g", b.Check, b.Value, b.Limit)
}

// Breaches judges a monitored day by l's rollback limits: the PSI of each
// score result, the share of drifted features (when any feature was
// compared) and, when the day's realised performance was measured
// (aucDrop not nil), the drop of AUC below the version's validation AUC.
func (l MonitorLimits) Breaches(results []Result, sum Summary, aucDrop *float64) []Breach {
	var out []Breach
	for _, r := range results {
		if r.Kind == KindScore && r.PSI >= l.RollbackScorePSI {
			out = append(out, Breach{Check: CheckScorePSI, Value: r.PSI, Limit: l.RollbackScorePSI})
		}
	}
	if sum.Features > 0 && sum.DriftedShare >= l.RollbackDriftedShare {
		out = append(out, Breach{Check: CheckDriftedShare, Value: sum.DriftedShare, Limit: l.RollbackDriftedShare})
	}
	if aucDrop != nil && *aucDrop > l.RollbackAUCDrop {
		out = append(out, Breach{Check: CheckAUCDrop, Value: *aucDrop, Limit: l.RollbackAUCDrop})
	}
	return out
}

package learn

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/schema"
)

// ArmTruth compares one arm's predicted uplift with the true uplift over
// the rows that carry it.
type ArmTruth struct {
	Arm                 string  `json:"arm"`
	Column              string  `json:"column"` // the truth column
	Rows                int     `json:"rows"`
	PredictedMeanUplift float64 `json:"predicted_mean_uplift"`
	TrueMeanUplift      float64 `json:"true_mean_uplift"`
	// RMSE is the root mean squared difference between predicted and
	// true uplift, row by row.
	RMSE float64 `json:"uplift_rmse"`
}

// CompareUpliftTruth scores tbl with m and compares, for each arm of m's
// uplift learner whose truth column (schema.TrueUpliftColumn) tbl has, the
// predicted with the true uplift over the rows where that column is not
// empty. It returns nil, nil when tbl has no truth column for any arm (so
// also for a model without an uplift part), and an error for a truth cell
// that is not a finite number.
func CompareUpliftTruth(m *Model, tbl *dataset.Table) ([]ArmTruth, error) {
	if m.Uplift == nil {
		return nil, nil
	}
	cols := make([]int, len(m.Uplift.Arms))
	found := false
	for a, am := range m.Uplift.Arms {
		cols[a] = slices.Index(tbl.Header, schema.TrueUpliftColumn(am.Arm))
		found = found || cols[a] >= 0
	}
	if !found {
		return nil, nil
	}
	scores, err := m.ScoreTable(tbl)
	if err != nil {
		return nil, fmt.Errorf("compare uplift with truth: %w", err)
	}
	var out []ArmTruth
	for a, am := range m.Uplift.Arms {
		if cols[a] < 0 {
			continue
		}
		at, err := armTruth(am.Arm, tbl, cols[a], scores)
		if err != nil {
			return nil, fmt.Errorf("compare uplift with truth: %w", err)
		}
		out = append(out, at)
	}
	return out, nil
}

// armTruth compares the predicted uplift of arm in scores with the truth
// in column col of tbl.
func armTruth(arm string, tbl *dataset.Table, col int, scores []Score) (ArmTruth, error) {
	at := ArmTruth{Arm: arm, Column: tbl.Header[col]}
	var sp, st, sse float64
	for i, r := range tbl.Rows {
		if col >= len(r) || r[col] == "" {
			continue
		}
		v, err := strconv.ParseFloat(r[col], 64)
		if err != nil || !finite(v) {
			return ArmTruth{}, fmt.Errorf("data row %d, column %s: true uplift %q is not a finite number", i+1, at.Column, r[col])
		}
		u := scores[i].Uplift[arm]
		at.Rows++
		sp += u
		st += v
		sse += (u - v) * (u - v)
	}
	if at.Rows > 0 {
		n := float64(at.Rows)
		at.PredictedMeanUplift, at.TrueMeanUplift, at.RMSE = sp/n, st/n, math.Sqrt(sse/n)
	}
	return at, nil
}

package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/schema"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/workflows"
)

// Validate holds the gate's activity: scoring a challenger and production
// on the same holdout, judging the challenger and storing the verdict
// with its version.
type Validate struct {
	Store    *store.Store
	Registry *registry.Registry
	// Config returns a model's configuration.
	Config func(model string) (config.Model, error)
}

// ValidateModel scores the challenger and production on the same holdout
// and judges the challenger by the model's gate limits.
func (va *Validate) ValidateModel(ctx context.Context, in workflows.ValidateInput) (gate.Verdict, error) {
	cfg, err := modelConfig(va.Config, in.Model)
	if err != nil {
		return gate.Verdict{}, err
	}
	chMan, chFiles, err := va.Registry.Load(ctx, in.Model, in.Version)
	if err != nil {
		return gate.Verdict{}, nonRetryableIf(err)
	}
	challenger, err := learn.Load(chFiles[registry.ModelArtifact])
	if err != nil {
		return gate.Verdict{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("load %s v%d: %v", in.Model, in.Version, err), "InvalidInput", err)
	}
	day := in.Day
	if day == "" {
		day = chMan.DataWindow.To
	}
	_, holdout, _, err := loadWindow(ctx, va.Store, cfg, day)
	if err != nil {
		return gate.Verdict{}, err
	}
	v := gate.Verdict{Model: in.Model, Version: in.Version, HoldoutRows: len(holdout.Rows)}
	chScores, err := holdoutScores(challenger, holdout)
	if err != nil {
		return gate.Verdict{}, err
	}
	prod, err := va.production(ctx, in, holdout)
	if err != nil {
		return gate.Verdict{}, err
	}
	v.Production = prod.version
	// The quality of the newest day the challenger learned from: a manual
	// promotion is judged on its training day too, so a model trained on
	// a broken export is refused without --force.
	share, err := va.quarantineShare(ctx, cfg.Source, day)
	if err != nil {
		return gate.Verdict{}, err
	}
	rows, err := gateRows(challenger, prod.model, holdout)
	if err != nil {
		return gate.Verdict{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("validate %s v%d: %v", in.Model, in.Version, err), "InvalidInput", err)
	}
	v.Checks = gate.Judge(cfg.Gate, gate.Input{
		HoldoutRows: len(holdout.Rows), Challenger: chScores, Production: prod.scores, QuarantineShare: share, Rows: rows,
	})
	v.Pass, v.DisabledArms = gate.Decide(cfg.Gate, v.Checks)
	if err := va.storeVerdict(ctx, v); err != nil {
		return gate.Verdict{}, err
	}
	return v, nil
}

// incumbent is production as the gate compares a challenger with it.
type incumbent struct {
	version int // 0 when the model has no production version
	// model and scores are nil when there is no production version or
	// it is the challenger itself.
	model  *learn.Model
	scores *gate.Scores
}

// production loads the model's production version, unless it is the
// challenger, and scores it on the holdout.
func (va *Validate) production(ctx context.Context, in workflows.ValidateInput, holdout *dataset.Table) (incumbent, error) {
	prod, err := va.Registry.Resolve(ctx, in.Model, registry.Production)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return incumbent{}, nil
	case err != nil:
		return incumbent{}, err
	case prod == in.Version:
		return incumbent{version: prod}, nil
	}
	_, files, err := va.Registry.Load(ctx, in.Model, prod)
	if err != nil {
		return incumbent{}, fmt.Errorf("load production v%d: %w", prod, err)
	}
	pm, err := learn.Load(files[registry.ModelArtifact])
	if err != nil {
		return incumbent{}, fmt.Errorf("decode production v%d: %w", prod, err)
	}
	s, err := holdoutScores(pm, holdout)
	if err != nil {
		return incumbent{}, err
	}
	return incumbent{version: prod, model: pm, scores: &s}, nil
}

// quarantineShare is the share of a day's rows that cleaning quarantined.
func (va *Validate) quarantineShare(ctx context.Context, source, day string) (float64, error) {
	days, err := va.Store.Status(ctx, source, 0)
	if err != nil {
		return 0, fmt.Errorf("data status of %s: %w", source, err)
	}
	for _, d := range days {
		if d.Day.Format(time.DateOnly) == day && d.Cleaned && d.Clean+d.Quarantined > 0 {
			return float64(d.Quarantined) / float64(d.Clean+d.Quarantined), nil
		}
	}
	return 0, temporal.NewNonRetryableApplicationError(fmt.Sprintf("day %s of %s has not been cleaned", day, source), "NoData", nil)
}

// holdoutScores measures a model on the holdout for the gate.
func holdoutScores(m *learn.Model, holdout *dataset.Table) (gate.Scores, error) {
	mt, err := learn.Evaluate(m, holdout)
	if err != nil {
		return gate.Scores{AUC: math.NaN(), LogLoss: math.NaN(), CalibrationError: math.NaN()}, nil
	}
	s := gate.Scores{AUC: mt.ROCAUC, LogLoss: mt.LogLoss, CalibrationError: mt.ECE}
	for _, a := range mt.Uplift {
		s.Arms = append(s.Arms, gate.ArmScore{Arm: a.Arm, Qini: a.Qini})
	}
	return s, nil
}

// gateRows scores the labelled holdout rows with the challenger and, when
// given, production, and pairs them for the gate (gate.Pair), so it can
// put confidence intervals on its checks. It returns nil when the
// challenger cannot score the rows; the gate then judges on point values
// alone.
func gateRows(challenger, production *learn.Model, holdout *dataset.Table) (*gate.Paired, error) {
	labelled, y := labelledRows(challenger.Schema, holdout)
	if labelled == nil {
		return nil, nil
	}
	cs, err := challenger.ScoreTable(labelled)
	if err != nil || len(cs) == 0 {
		return nil, nil
	}
	h := gate.Holdout{Y: y}
	h.Challenger, h.ChallengerUplift = splitScores(cs)
	if production != nil {
		// A production model that cannot score the rows leaves the
		// comparison to point values.
		if ps, err := production.ScoreTable(labelled); err == nil {
			h.Production, h.ProductionUplift = splitScores(ps)
		}
	}
	if u := challenger.Uplift; u != nil {
		if tcol, ok := labelled.Col(u.Treatment); ok {
			h.Control = u.Control
			h.Treatment = make([]string, len(labelled.Rows))
			for i, row := range labelled.Rows {
				h.Treatment[i] = row[tcol]
			}
			for _, a := range u.Arms {
				h.Arms = append(h.Arms, a.Arm)
			}
		}
	}
	return gate.Pair(h)
}

// labelledRows returns the holdout rows whose target is set and their
// labels (1 for the positive value); nil when the schema has no single
// target the holdout carries.
func labelledRows(sc schema.Schema, holdout *dataset.Table) (*dataset.Table, []float64) {
	targets := sc.OfKind(schema.Target)
	if len(targets) != 1 {
		return nil, nil
	}
	tj, ok := holdout.Col(targets[0].Name)
	if !ok {
		return nil, nil
	}
	pos := targets[0].PositiveLabel()
	labelled := &dataset.Table{Header: holdout.Header}
	var y []float64
	for _, row := range holdout.Rows {
		v := strings.TrimSpace(row[tj])
		if v == "" {
			continue
		}
		labelled.Rows = append(labelled.Rows, row)
		if v == pos {
			y = append(y, 1)
		} else {
			y = append(y, 0)
		}
	}
	return labelled, y
}

// splitScores returns the propensity of each score and, of an uplift
// model, its uplift by arm (nil otherwise).
func splitScores(s []learn.Score) (prob []float64, uplift []map[string]float64) {
	prob = make([]float64, len(s))
	if len(s) > 0 && s[0].Uplift != nil {
		uplift = make([]map[string]float64, len(s))
	}
	for i, v := range s {
		prob[i] = v.Propensity
		if uplift != nil {
			uplift[i] = v.Uplift
		}
	}
	return prob, uplift
}

// storeVerdict adds the gate's verdict to the challenger's version as
// verdict.json, so `promoflow explain` can show why a version moved. A
// version judged again later (a manual promotion re-validating it) keeps
// its first verdict; the new one goes to verdict-<workflow>-<run>.json.
func (va *Validate) storeVerdict(ctx context.Context, v gate.Verdict) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode verdict of %s v%d: %w", v.Model, v.Version, err)
	}
	err = va.Registry.AddArtifact(ctx, v.Model, v.Version, registry.VerdictArtifact, data)
	if !errors.Is(err, registry.ErrImmutable) {
		if err != nil {
			return fmt.Errorf("store verdict: %w", err)
		}
		return nil
	}
	name := VerdictArtifactFor(ctx)
	if err := va.Registry.AddArtifact(ctx, v.Model, v.Version, name, data); err != nil && !errors.Is(err, registry.ErrImmutable) {
		return fmt.Errorf("store verdict: %w", err)
	}
	return nil
}

// VerdictArtifactFor names the artifact of a later verdict on a version:
// verdict-<workflow id>-<run id>.json inside an activity.
func VerdictArtifactFor(ctx context.Context) string {
	id := time.Now().UTC().Format("20060102T150405.000000000")
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		id = info.WorkflowExecution.ID + "-" + info.WorkflowExecution.RunID
	}
	id = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, id)
	return "verdict-" + strings.ReplaceAll(id, "..", "_") + ".json"
}

package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/metrics"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/schema"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/workflows"
)

// Models holds the model activities: planning a run, training and
// registering a version, judging it at the gate, moving aliases and
// recording runs.
type Models struct {
	Store    *store.Store
	Registry *registry.Registry
	// Config returns a model's configuration.
	Config func(model string) (config.Model, error)
	// CodeVersion names the running code for people (manifests).
	CodeVersion string
	// CodeIdentity changes whenever the code does; it is part of the
	// training key. Empty means the code cannot be identified: the
	// training cache is then bypassed.
	CodeIdentity string
	// Metrics records retrains and model metrics; nil records nothing.
	Metrics *metrics.Metrics
}

// LoadPlan returns the part of a model's configuration a run follows.
func (m *Models) LoadPlan(ctx context.Context, model string) (workflows.Plan, error) {
	cfg, err := m.config(model)
	if err != nil {
		return workflows.Plan{}, err
	}
	return workflows.Plan{
		Model: cfg.Name, Source: cfg.Source, WindowDays: cfg.WindowDays,
		RequireApproval: cfg.Approval.Required, ApprovalTimeout: cfg.Approval.Timeout,
	}, nil
}

func (m *Models) config(model string) (config.Model, error) {
	cfg, err := m.Config(model)
	if err != nil {
		return config.Model{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", err)
	}
	return cfg, nil
}

// window loads the clean rows of the days ending at day and splits them
// into training rows and the holdout.
func (m *Models) window(ctx context.Context, cfg config.Model, day string) (train, holdout *dataset.Table, w registry.DataWindow, err error) {
	to, err := store.ParseDay(day)
	if err != nil {
		return nil, nil, w, invalidInput(err)
	}
	from := to.AddDate(0, 0, -(cfg.WindowDays - 1))
	tbl, fp, err := m.Store.LoadClean(ctx, cfg.Source, from, to)
	if err != nil {
		return nil, nil, w, classify(err)
	}
	train, holdout = splitHoldout(tbl, cfg.HoldoutFraction)
	w = registry.DataWindow{
		From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
		Rows: int64(len(tbl.Rows)), Fingerprint: string(fp),
		Counts: map[string]int64{"train": int64(len(train.Rows)), "holdout": int64(len(holdout.Rows))},
	}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		w.Days = append(w.Days, d.Format(time.DateOnly))
	}
	return train, holdout, w, nil
}

// splitHoldout puts a row in the holdout by a hash of its content, so the
// same row is held out on every day and by every version: production never
// trained on the rows the gate judges it with either.
func splitHoldout(tbl *dataset.Table, fraction float64) (train, holdout *dataset.Table) {
	train = &dataset.Table{Header: tbl.Header}
	holdout = &dataset.Table{Header: tbl.Header}
	cut := uint64(fraction * float64(math.MaxUint32))
	for _, row := range tbl.Rows {
		h := fnv.New64a()
		for _, f := range row {
			h.Write([]byte(f))
			h.Write([]byte{0})
		}
		if h.Sum64()&math.MaxUint32 < cut {
			holdout.Rows = append(holdout.Rows, row)
		} else {
			train.Rows = append(train.Rows, row)
		}
	}
	return train, holdout
}

// trainingKey identifies a training step by what determines its result:
// the exact training rows, the configuration and the code.
func trainingKey(fingerprint string, cfg json.RawMessage, code string) string {
	h := sha256.New()
	for _, part := range []string{fingerprint, string(cfg), code} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TrainModel trains a version on the window of clean days ending at the
// run's day and registers it. A retry of the same run returns the same
// version; an identical training key reuses the version it produced.
func (m *Models) TrainModel(ctx context.Context, in workflows.TrainInput) (workflows.TrainResult, error) {
	cfg, err := m.config(in.Model)
	if err != nil {
		return workflows.TrainResult{}, err
	}
	train, _, w, err := m.window(ctx, cfg, in.Day)
	if err != nil {
		return workflows.TrainResult{}, err
	}
	tcfg := cfg.TrainConfig()
	cfgJSON, err := json.Marshal(struct {
		Train  config.Train      `json:"train"`
		Window int               `json:"window_days"`
		Hold   float64           `json:"holdout_fraction"`
		Clean  store.CleanConfig `json:"clean"`
	}{cfg.Train, cfg.WindowDays, cfg.HoldoutFraction, cfg.Clean})
	if err != nil {
		return workflows.TrainResult{}, fmt.Errorf("encode training config: %w", err)
	}
	key := trainingKey(learn.Fingerprint(train), cfgJSON, m.CodeIdentity)
	var note string
	if m.CodeIdentity == "" {
		note = "training cache bypassed: the running code has no identity (no VCS stamp, executable unreadable)"
		activity.GetLogger(ctx).Warn(note)
	}
	if !in.NoCache && m.CodeIdentity != "" {
		if v, ok, err := m.cached(ctx, in.Model, key); err != nil {
			return workflows.TrainResult{}, err
		} else if ok {
			return workflows.TrainResult{Version: v.Version, Rows: int(v.DataWindow.Counts["train"]), Fingerprint: key, Metrics: v.Metrics, Reused: true}, nil
		}
	}
	if len(train.Rows) == 0 {
		return workflows.TrainResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("no clean rows for %s in %s..%s", cfg.Source, w.From, w.To), "NoData", nil)
	}

	if err := screenLeakage(train, cfg); err != nil {
		return workflows.TrainResult{}, err
	}
	stop := heartbeatWhile(ctx, "training")
	model, err := learn.Train(train, cfg.Schema(), tcfg)
	stop()
	if err != nil {
		return workflows.TrainResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("train %s: %v", in.Model, err), "InvalidInput", err)
	}
	modelJSON, err := json.Marshal(model)
	if err != nil {
		return workflows.TrainResult{}, fmt.Errorf("encode model: %w", err)
	}
	parent, err := m.Registry.Resolve(ctx, in.Model, "production")
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return workflows.TrainResult{}, err
	}
	metrics := flatMetrics(model.Metrics)
	man, err := m.Registry.Register(ctx, registry.RegisterRequest{
		Model: in.Model, RunID: in.RunID, WorkflowID: in.WorkflowID, CodeVersion: m.CodeVersion,
		DataWindow: w, Schema: cfg.Schema(), Metrics: metrics, Parent: parent, Seed: cfg.Train.Seed,
		Config: cfgJSON, DroppedFeatures: model.Dropped,
		Artifacts: map[string][]byte{registry.ModelArtifact: modelJSON, trainingKeyArtifact: []byte(key)},
	})
	if err != nil {
		return workflows.TrainResult{}, fmt.Errorf("register %s: %w", in.Model, err)
	}
	return workflows.TrainResult{Version: man.Version, Rows: len(train.Rows), Fingerprint: key, Metrics: man.Metrics, Note: note}, nil
}

// screenLeakage refuses, non-retryably, to train on a window where a
// feature looks like a leak of the target, unless the configuration's
// train.allow_features lists it.
func screenLeakage(train *dataset.Table, cfg config.Model) error {
	leaks, err := learn.ScreenLeakage(train, cfg.Schema(), learn.LeakOptions{PostOutcome: cfg.Train.PostOutcome})
	if err != nil {
		return invalidInput(fmt.Errorf("leakage screen: %w", err))
	}
	leaks = learn.RefusedLeaks(leaks, cfg.Train.AllowFeatures)
	if len(leaks) == 0 {
		return nil
	}
	msg := fmt.Sprintf("refusing to train %s: %s", cfg.Name, learn.DescribeLeaks(leaks))
	return temporal.NewNonRetryableApplicationError(msg, "Leakage", nil, leaks)
}

// trainingKeyArtifact stores a version's training key next to its model.
const trainingKeyArtifact = "training-key.txt"

// cached finds the newest version whose training key is key.
func (m *Models) cached(ctx context.Context, model, key string) (*registry.Manifest, bool, error) {
	versions, err := m.Registry.Versions(ctx, model)
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return nil, false, fmt.Errorf("list versions of %s: %w", model, err)
	}
	for i := len(versions) - 1; i >= 0; i-- {
		v := versions[i]
		if _, ok := v.Artifacts[trainingKeyArtifact]; !ok {
			continue
		}
		got, err := m.Registry.Artifact(ctx, model, v.Version, trainingKeyArtifact)
		if err != nil {
			continue // a version that does not verify is never reused
		}
		if string(got) == key {
			return v, true, nil
		}
	}
	return nil, false, nil
}

// flatMetrics names a model's validation metrics for the manifest.
func flatMetrics(mt learn.Metrics) map[string]float64 {
	out := map[string]float64{
		"roc_auc": mt.ROCAUC, "pr_auc": mt.PRAUC, "log_loss": mt.LogLoss, "brier": mt.Brier,
		"ece": mt.ECE, "rows": float64(mt.Rows), "positive_rate": mt.PositiveRate,
		"precision": mt.AtThreshold.Precision, "recall": mt.AtThreshold.Recall,
		"accuracy": mt.AtThreshold.Accuracy, "f1": mt.AtThreshold.F1, "threshold": mt.AtThreshold.Threshold,
	}
	for _, k := range mt.TopK {
		pct := fmt.Sprintf("%.0f", 100*k.Fraction)
		out["recall_at_"+pct] = k.Recall
		out["lift_at_"+pct] = k.Lift
	}
	for _, a := range mt.Uplift {
		out["qini:"+a.Arm] = a.Qini
		out["uplift:"+a.Arm] = a.ObservedUplift
	}
	for k, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(out, k)
		}
	}
	return out
}

// heartbeatWhile heartbeats every few seconds until stopped, so a worker
// that dies mid-step is noticed within the heartbeat timeout.
func heartbeatWhile(ctx context.Context, phase string) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		start := time.Now()
		for {
			activity.RecordHeartbeat(ctx, fmt.Sprintf("%s for %s", phase, time.Since(start).Round(time.Second)))
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// ValidateModel scores the challenger and production on the same holdout
// and judges the challenger by the model's gate limits.
func (m *Models) ValidateModel(ctx context.Context, in workflows.ValidateInput) (gate.Verdict, error) {
	cfg, err := m.config(in.Model)
	if err != nil {
		return gate.Verdict{}, err
	}
	chMan, chFiles, err := m.Registry.Load(ctx, in.Model, in.Version)
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
	_, holdout, _, err := m.window(ctx, cfg, day)
	if err != nil {
		return gate.Verdict{}, err
	}
	v := gate.Verdict{Model: in.Model, Version: in.Version, HoldoutRows: len(holdout.Rows)}
	chScores, err := holdoutScores(challenger, holdout)
	if err != nil {
		return gate.Verdict{}, err
	}
	var prodScores *gate.Scores
	var prodModel *learn.Model
	prod, err := m.Registry.Resolve(ctx, in.Model, "production")
	switch {
	case errors.Is(err, registry.ErrNotFound):
	case err != nil:
		return gate.Verdict{}, err
	default:
		v.Production = prod
		if prod != in.Version {
			_, files, err := m.Registry.Load(ctx, in.Model, prod)
			if err != nil {
				return gate.Verdict{}, fmt.Errorf("load production v%d: %w", prod, err)
			}
			pm, err := learn.Load(files[registry.ModelArtifact])
			if err != nil {
				return gate.Verdict{}, fmt.Errorf("decode production v%d: %w", prod, err)
			}
			s, err := holdoutScores(pm, holdout)
			if err != nil {
				return gate.Verdict{}, err
			}
			prodScores, prodModel = &s, pm
		}
	}
	// The quality of the newest day the challenger learned from: a manual
	// promotion is judged on its training day too, so a model trained on
	// a broken export is refused without --force.
	share, err := m.quarantineShare(ctx, cfg.Source, day)
	if err != nil {
		return gate.Verdict{}, err
	}
	rows, err := gateRows(challenger, prodModel, holdout)
	if err != nil {
		return gate.Verdict{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("validate %s v%d: %v", in.Model, in.Version, err), "InvalidInput", err)
	}
	v.Checks = gate.Judge(cfg.Gate, gate.Input{
		HoldoutRows: len(holdout.Rows), Challenger: chScores, Production: prodScores, QuarantineShare: share, Rows: rows,
	})
	v.Pass, v.DisabledArms = gate.Decide(cfg.Gate, v.Checks)
	if err := m.storeVerdict(ctx, v); err != nil {
		return gate.Verdict{}, err
	}
	return v, nil
}

// quarantineShare is the share of a day's rows that cleaning quarantined.
func (m *Models) quarantineShare(ctx context.Context, source, day string) (float64, error) {
	days, err := m.Store.Status(ctx, source, 0)
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

// MoveAlias points an alias at a version; for production it keeps the old
// target as `previous`. The move id is the workflow and activity id, so a
// retried activity does not move twice.
func (m *Models) MoveAlias(ctx context.Context, in workflows.MoveInput) (workflows.MoveResult, error) {
	req := registry.MoveRequest{
		Model: in.Model, Alias: in.Alias, To: in.To, Actor: in.Actor, Reason: in.Reason,
		WorkflowID: in.WorkflowID, MoveID: moveID(ctx),
	}
	var mv registry.AliasMove
	var err error
	if in.KeepPrevious && in.Alias == "production" {
		mv, err = m.Registry.Promote(ctx, req)
	} else {
		mv, err = m.Registry.MoveAlias(ctx, req)
	}
	if err != nil {
		return workflows.MoveResult{}, nonRetryableIf(err)
	}
	return workflows.MoveResult{Alias: mv.Alias, From: mv.Previous, To: mv.Version}, nil
}

// RollbackAlias moves production back (see registry.Rollback).
func (m *Models) RollbackAlias(ctx context.Context, in workflows.RollbackInput) (workflows.MoveResult, error) {
	req := registry.RollbackRequest{Model: in.Model, Actor: in.Actor, Reason: in.Reason, WorkflowID: in.WorkflowID, MoveID: moveID(ctx)}
	if in.To > 0 {
		req.To = &in.To
	}
	mv, err := m.Registry.Rollback(ctx, req)
	if err != nil {
		return workflows.MoveResult{}, nonRetryableIf(err)
	}
	return workflows.MoveResult{Alias: mv.Alias, From: mv.Previous, To: mv.Version}, nil
}

// RecordRun stores a run's state in PostgreSQL's run history.
func (m *Models) RecordRun(ctx context.Context, r workflows.RunRecord) error {
	day, err := store.ParseDay(r.Day)
	if err != nil {
		return invalidInput(err)
	}
	steps, err := json.Marshal(r.Steps)
	if err != nil {
		return fmt.Errorf("encode steps: %w", err)
	}
	if err := m.Store.UpsertRun(ctx, store.Run{
		WorkflowID: r.WorkflowID, RunID: r.RunID, Model: r.Model, Day: day, Status: r.Status,
		Version: r.Version, Steps: steps, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
	}); err != nil {
		return err
	}
	// A run that reached a decision retrained successfully, whatever the
	// gate said; the stale-model alert watches this.
	switch r.Status {
	case "promoted", "rejected", "completed", "unapproved":
		if m.Metrics != nil {
			m.Metrics.RetrainSucceeded(r.Model, r.FinishedAt)
		}
	}
	return nil
}

// ResolveAlias returns the version an alias of a model points to.
func (m *Models) ResolveAlias(ctx context.Context, model, alias string) (int, error) {
	v, err := m.Registry.Resolve(ctx, model, alias)
	if err != nil {
		return 0, nonRetryableIf(err)
	}
	return v, nil
}

// FindFinishedRun returns the run that already decided a model's day, if any.
func (m *Models) FindFinishedRun(ctx context.Context, model, day string) (workflows.PriorRun, error) {
	d, err := store.ParseDay(day)
	if err != nil {
		return workflows.PriorRun{}, invalidInput(err)
	}
	r, ok, err := m.Store.FinishedRun(ctx, model, d)
	if err != nil || !ok {
		return workflows.PriorRun{}, err
	}
	return workflows.PriorRun{Found: true, WorkflowID: r.WorkflowID, RunID: r.RunID, Status: r.Status, Version: r.Version}, nil
}

// moveID is an idempotency key for an alias move made by this activity.
func moveID(ctx context.Context) string {
	if !activity.IsActivity(ctx) {
		return ""
	}
	info := activity.GetInfo(ctx)
	return info.WorkflowExecution.RunID + ":" + info.ActivityID
}

// nonRetryableIf marks registry errors that no retry can fix.
func nonRetryableIf(err error) error {
	var (
		conflict  *registry.ConflictError
		integrity *registry.IntegrityError
		invalid   *registry.ValidationError
	)
	switch {
	case errors.As(err, &conflict):
		return temporal.NewNonRetryableApplicationError(err.Error(), "Conflict", err)
	case errors.As(err, &integrity):
		return temporal.NewNonRetryableApplicationError(err.Error(), "Integrity", err)
	case errors.As(err, &invalid), errors.Is(err, registry.ErrNotFound):
		return temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", err)
	}
	return err
}

// gateRows scores the labelled holdout rows with the challenger and, when
// given, production, and pairs them for the gate (gate.Pair), so it can
// put confidence intervals on its checks. It returns nil when the
// challenger cannot score the rows; the gate then judges on point values
// alone.
func gateRows(challenger, production *learn.Model, holdout *dataset.Table) (*gate.Paired, error) {
	targets := challenger.Schema.OfKind(schema.Target)
	if len(targets) != 1 {
		return nil, nil
	}
	tj, ok := holdout.Col(targets[0].Name)
	if !ok {
		return nil, nil
	}
	pos := targets[0].Positive
	if pos == "" {
		pos = "1"
	}
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
func (m *Models) storeVerdict(ctx context.Context, v gate.Verdict) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode verdict of %s v%d: %w", v.Model, v.Version, err)
	}
	err = m.Registry.AddArtifact(ctx, v.Model, v.Version, registry.VerdictArtifact, data)
	if !errors.Is(err, registry.ErrImmutable) {
		if err != nil {
			return fmt.Errorf("store verdict: %w", err)
		}
		return nil
	}
	name := VerdictArtifactFor(ctx)
	if err := m.Registry.AddArtifact(ctx, v.Model, v.Version, name, data); err != nil && !errors.Is(err, registry.ErrImmutable) {
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

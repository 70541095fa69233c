package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/workflows"
)

// Train holds the training activity: it trains a version on a window of
// clean days and registers it, or reuses the version an identical
// training produced.
type Train struct {
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
}

// trainingKeyArtifact stores a version's training key next to its model.
const trainingKeyArtifact = "training-key.txt"

// TrainModel trains a version on the window of clean days ending at the
// run's day and registers it. A retry of the same run returns the same
// version; an identical training key reuses the version it produced.
func (tr *Train) TrainModel(ctx context.Context, in workflows.TrainInput) (workflows.TrainResult, error) {
	cfg, err := modelConfig(tr.Config, in.Model)
	if err != nil {
		return workflows.TrainResult{}, err
	}
	train, _, w, err := loadWindow(ctx, tr.Store, cfg, in.Day)
	if err != nil {
		return workflows.TrainResult{}, err
	}
	cfgJSON, err := json.Marshal(cfg.Record())
	if err != nil {
		return workflows.TrainResult{}, fmt.Errorf("encode training config: %w", err)
	}
	key := learn.TrainingKey(learn.Fingerprint(train), cfgJSON, tr.CodeIdentity)
	var note string
	if tr.CodeIdentity == "" {
		note = "training cache bypassed: the running code has no identity (no VCS stamp, executable unreadable)"
		activity.GetLogger(ctx).Warn(note)
	}
	if !in.NoCache && tr.CodeIdentity != "" {
		if v, ok, err := tr.cached(ctx, in.Model, key); err != nil {
			return workflows.TrainResult{}, err
		} else if ok {
			return workflows.TrainResult{Version: v.Version, Rows: int(v.DataWindow.Counts["train"]), Fingerprint: key, Metrics: v.Metrics, Reused: true}, nil
		}
	}
	if len(train.Rows) == 0 {
		return workflows.TrainResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("no clean rows for %s in %s..%s", cfg.Source, w.From, w.To), "NoData", nil)
	}
	model, err := fit(ctx, in.Model, train, cfg)
	if err != nil {
		return workflows.TrainResult{}, err
	}
	man, err := tr.register(ctx, in, trained{cfg: cfg, window: w, cfgJSON: cfgJSON, key: key, model: model})
	if err != nil {
		return workflows.TrainResult{}, err
	}
	return workflows.TrainResult{Version: man.Version, Rows: len(train.Rows), Fingerprint: key, Metrics: man.Metrics, Note: note}, nil
}

// fit screens the training rows for leaks and trains a model on them,
// heartbeating meanwhile.
func fit(ctx context.Context, model string, train *dataset.Table, cfg config.Model) (*learn.Model, error) {
	if err := screenLeakage(train, cfg); err != nil {
		return nil, err
	}
	stop := heartbeatWhile(ctx, "training")
	m, err := learn.Train(train, cfg.Schema(), cfg.TrainConfig())
	stop()
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("train %s: %v", model, err), "InvalidInput", err)
	}
	return m, nil
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

// trained is a model trained by TrainModel and what it was trained from.
type trained struct {
	cfg     config.Model
	window  registry.DataWindow
	cfgJSON json.RawMessage // the recorded configuration (config.Record)
	key     string          // the training key
	model   *learn.Model
}

// register registers a trained model as a new version of in.Model, with
// production as its parent.
func (tr *Train) register(ctx context.Context, in workflows.TrainInput, t trained) (*registry.Manifest, error) {
	modelJSON, err := json.Marshal(t.model)
	if err != nil {
		return nil, fmt.Errorf("encode model: %w", err)
	}
	parent, err := tr.Registry.Resolve(ctx, in.Model, registry.Production)
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return nil, err
	}
	man, err := tr.Registry.Register(ctx, registry.RegisterRequest{
		Model: in.Model, RunID: in.RunID, WorkflowID: in.WorkflowID, CodeVersion: tr.CodeVersion,
		DataWindow: t.window, Schema: t.cfg.Schema(), Metrics: t.model.Metrics.Flat(), Parent: parent, Seed: t.cfg.Train.Seed,
		Config: t.cfgJSON, DroppedFeatures: t.model.Dropped,
		Artifacts: map[string][]byte{registry.ModelArtifact: modelJSON, trainingKeyArtifact: []byte(t.key)},
	})
	if err != nil {
		return nil, fmt.Errorf("register %s: %w", in.Model, err)
	}
	return man, nil
}

// cached finds the newest version whose training key is key.
func (tr *Train) cached(ctx context.Context, model, key string) (*registry.Manifest, bool, error) {
	versions, err := tr.Registry.Versions(ctx, model)
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return nil, false, fmt.Errorf("list versions of %s: %w", model, err)
	}
	for i := len(versions) - 1; i >= 0; i-- {
		v := versions[i]
		if _, ok := v.Artifacts[trainingKeyArtifact]; !ok {
			continue
		}
		got, err := tr.Registry.Artifact(ctx, model, v.Version, trainingKeyArtifact)
		if err != nil {
			continue // a version that does not verify is never reused
		}
		if string(got) == key {
			return v, true, nil
		}
	}
	return nil, false, nil
}

// Package config reads a model's configuration: where its data comes from,
// the schema and cleaning rules, training settings, gate limits and whether
// a person approves promotions. One YAML file per model, named <model>.yaml.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/drift"
	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/schema"
)

// Model is one model's configuration.
type Model struct {
	Name string `yaml:"name"`
	// Source names the landing folder the model's data arrives in.
	Source string `yaml:"source"`
	// WindowDays is how many clean days, ending at the run's day, training uses.
	WindowDays int `yaml:"window_days"`
	// HoldoutFraction of rows (chosen by a stable hash of the row, so the
	// same rows every day) never trains and judges the gate.
	HoldoutFraction float64      `yaml:"holdout_fraction"`
	Clean           clean.Config `yaml:"clean"`
	Train           Train        `yaml:"train"`
	Gate            gate.Limits  `yaml:"gate"`
	Approval        Approval     `yaml:"approval"`
	// Monitor holds the drift limits and when drift or decay rolls
	// production back; unset fields keep drift.DefaultMonitorLimits.
	Monitor drift.MonitorLimits `yaml:"monitor"`
}

// Train holds the training settings and the grid searched on validation.
type Train struct {
	Seed               int64     `yaml:"seed"`
	C                  []float64 `yaml:"c"`
	Balanced           []bool    `yaml:"balanced"`
	SelectThresholds   []float64 `yaml:"select_thresholds"`
	CorrLimit          float64   `yaml:"corr_limit"`
	ValidationFraction float64   `yaml:"validation_fraction"`
	Metric             string    `yaml:"metric"`
	MaxIter            int       `yaml:"max_iter"`
	Tol                float64   `yaml:"tol"`
	Impute             string    `yaml:"impute"`
	// Threshold chooses the decision threshold on validation (default f1).
	Threshold Threshold `yaml:"threshold"`
	// PostOutcome lists columns known only after the outcome: the leakage
	// screen always flags them.
	PostOutcome []string `yaml:"post_outcome"`
	// AllowFeatures lists columns the leakage screen may flag but that
	// train anyway: a person looked and decided they are not leaks.
	AllowFeatures []string `yaml:"allow_features"`
}

// Approval says whether a passing challenger waits for a person.
type Approval struct {
	Required bool          `yaml:"required"`
	Timeout  time.Duration `yaml:"timeout"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Parse reads a model's YAML configuration and fills defaults. Unknown keys
// are errors, so a misspelt limit does not silently fall back to a default.
func Parse(data []byte, file string) (Model, error) {
	m := Model{Monitor: drift.DefaultMonitorLimits()}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return Model{}, fmt.Errorf("config %s: %w", file, err)
	}
	if !nameRE.MatchString(m.Name) {
		return Model{}, fmt.Errorf("config %s: name %q: want lower-case letters, digits, _ and -", file, m.Name)
	}
	if !nameRE.MatchString(m.Source) {
		return Model{}, fmt.Errorf("config %s: source %q: want lower-case letters, digits, _ and -", file, m.Source)
	}
	if err := m.Clean.Schema.Validate(); err != nil {
		return Model{}, fmt.Errorf("config %s: %w", file, err)
	}
	if m.WindowDays == 0 {
		m.WindowDays = 7
	}
	if m.WindowDays < 1 || m.WindowDays > 366 {
		return Model{}, fmt.Errorf("config %s: window_days %d: want 1..366", file, m.WindowDays)
	}
	if m.HoldoutFraction == 0 {
		m.HoldoutFraction = 0.2
	}
	if m.HoldoutFraction <= 0 || m.HoldoutFraction >= 0.5 {
		return Model{}, fmt.Errorf("config %s: holdout_fraction %v: want in (0, 0.5)", file, m.HoldoutFraction)
	}
	if m.Approval.Required && m.Approval.Timeout == 0 {
		m.Approval.Timeout = 24 * time.Hour
	}
	m.Gate = m.Gate.WithDefaults()
	if err := m.Gate.Validate(); err != nil {
		return Model{}, fmt.Errorf("config %s: %w", file, err)
	}
	if err := m.Monitor.Drift.Validate(); err != nil {
		return Model{}, fmt.Errorf("config %s: monitor: %w", file, err)
	}
	if err := m.Train.validate(m.Clean.Schema); err != nil {
		return Model{}, fmt.Errorf("config %s: %w", file, err)
	}
	if m.Monitor.Consecutive < 1 {
		return Model{}, fmt.Errorf("config %s: monitor.consecutive %d: want at least 1", file, m.Monitor.Consecutive)
	}
	return m, nil
}

// Schema is the model's data schema.
func (m Model) Schema() schema.Schema { return m.Clean.Schema }

// TrainConfig turns the training settings into the learner's configuration.
func (m Model) TrainConfig() learn.TrainConfig {
	t := m.Train
	cfg := learn.TrainConfig{
		Seed: t.Seed, Cs: t.C, SelectThresholds: t.SelectThresholds, CorrLimit: t.CorrLimit,
		ValidationFraction: t.ValidationFraction, Metric: t.Metric, MaxIter: t.MaxIter, Tol: t.Tol, Impute: t.Impute,
		Threshold: t.Threshold.ThresholdRule,
	}
	for _, b := range t.Balanced {
		cfg.ClassWeights = append(cfg.ClassWeights, learn.ClassWeight{Balanced: b})
	}
	return cfg
}

// Record is the part of a model's configuration that determines a
// trained version: TrainModel records it in the version's manifest (its
// JSON is part of the training key, so its shape must not change) and
// Reproduce trains with it again.
type Record struct {
	Train  Train        `json:"train"`
	Window int          `json:"window_days"`
	Hold   float64      `json:"holdout_fraction"`
	Clean  clean.Config `json:"clean"`
}

// Record returns what a version trained with m records.
func (m Model) Record() Record {
	return Record{Train: m.Train, Window: m.WindowDays, Hold: m.HoldoutFraction, Clean: m.Clean}
}

// Model returns the configuration of model, fed by source, that r records.
func (r Record) Model(model, source string) Model {
	return Model{Name: model, Source: source, WindowDays: r.Window, HoldoutFraction: r.Hold, Clean: r.Clean, Train: r.Train}
}

// validate checks the training settings against the schema: the metric
// and threshold rule are known, and every column named by post_outcome or
// allow_features is a feature of the schema.
func (t Train) validate(sch schema.Schema) error {
	uplift := len(sch.OfKind(schema.Treatment)) > 0
	if t.Metric != "" {
		if err := learn.ValidMetric(t.Metric, uplift); err != nil {
			return fmt.Errorf("train.metric: %w", err)
		}
	}
	if t.Threshold.Rule != "" {
		if err := t.Threshold.Validate(); err != nil {
			return fmt.Errorf("train.threshold: %w", err)
		}
	}
	for _, l := range []struct {
		key   string
		names []string
	}{{"post_outcome", t.PostOutcome}, {"allow_features", t.AllowFeatures}} {
		for _, n := range l.names {
			c, ok := sch.Lookup(n)
			if !ok {
				return fmt.Errorf("train.%s: column %q is not in the schema", l.key, n)
			}
			if !c.Kind.IsFeature() {
				return fmt.Errorf("train.%s: column %q is not a feature (kind %s)", l.key, n, c.Kind)
			}
		}
	}
	return nil
}

// ErrNotFound means no configuration file exists for the model.
var ErrNotFound = errors.New("no configuration for model")

// Load reads <dir>/<model>.yaml.
func Load(dir, model string) (Model, error) {
	if !nameRE.MatchString(model) {
		return Model{}, fmt.Errorf("model name %q: want lower-case letters, digits, _ and -", model)
	}
	file := filepath.Join(dir, model+".yaml")
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return Model{}, fmt.Errorf("%w %q (looked for %s)", ErrNotFound, model, file)
	}
	if err != nil {
		return Model{}, fmt.Errorf("read config: %w", err)
	}
	m, err := Parse(data, file)
	if err != nil {
		return Model{}, err
	}
	if m.Name != model {
		return Model{}, fmt.Errorf("config %s names model %q, want %q", file, m.Name, model)
	}
	return m, nil
}

// ForSource returns the configuration of the model fed by source, the first
// by file name when several share it.
func ForSource(dir, source string) (Model, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return Model{}, fmt.Errorf("list configs in %s: %w", dir, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return Model{}, fmt.Errorf("read config: %w", err)
		}
		m, err := Parse(data, f)
		if err != nil {
			return Model{}, err
		}
		if m.Source == source {
			return m, nil
		}
	}
	return Model{}, fmt.Errorf("%w fed by source %q in %s", ErrNotFound, source, dir)
}

package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/synth"
)

// TestShippedConfigs parses every configuration in configs/ and checks the
// demo model describes exactly the columns of the data the demo lands.
func TestShippedConfigs(t *testing.T) {
	files, err := filepath.Glob("../configs/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no configs found: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		m, err := Load("../configs", name)
		if err != nil {
			t.Fatalf("load %s: %v", f, err)
		}
		if name == "email-visit" && !reflect.DeepEqual(m.Schema().Names(), synth.Schema().Names()) {
			t.Errorf("email-visit columns %v, want synth's %v", m.Schema().Names(), synth.Schema().Names())
		}
	}
}

func TestParseRejects(t *testing.T) {
	base := "name: m\nsource: s\nclean:\n  schema:\n    columns:\n      - {name: y, kind: target}\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", base + "gate:\n  min_acu: 0.7\n", "min_acu"},
		{"bad name", strings.Replace(base, "name: m", "name: ../x", 1), "name"},
		{"no target", "name: m\nsource: s\nclean:\n  schema:\n    columns:\n      - {name: x, kind: numeric}\n", "target"},
		{"window too long", base + "window_days: 400\n", "window_days"},
		{"holdout too large", base + "holdout_fraction: 0.7\n", "holdout_fraction"},
		{"not yaml", "{{{", "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "test.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want one naming %q", err, tt.want)
			}
		})
	}
	m, err := Parse([]byte(base), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m.WindowDays != 7 || m.HoldoutFraction != 0.2 || m.Gate.MinRows == 0 {
		t.Errorf("defaults not filled: %+v", m)
	}
}

func TestLoadAndForSource(t *testing.T) {
	dir := t.TempDir()
	data := "name: a\nsource: feed\nclean:\n  schema:\n    columns:\n      - {name: y, kind: target}\n"
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load(missing) = %v, want ErrNotFound", err)
	}
	if _, err := Load(dir, "../a"); err == nil {
		t.Error("Load accepted a path-like model name")
	}
	m, err := ForSource(dir, "feed")
	if err != nil || m.Name != "a" {
		t.Errorf("ForSource(feed) = %q, %v; want model a", m.Name, err)
	}
	if _, err := ForSource(dir, "other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ForSource(other) = %v, want ErrNotFound", err)
	}
}

func TestParseTrainDecisions(t *testing.T) {
	base := "name: m\nsource: s\nclean:\n  schema:\n    columns:\n      - {name: x, kind: numeric}\n      - {name: spend, kind: numeric}\n      - {name: id, kind: id}\n      - {name: y, kind: target}\ntrain:\n"
	tests := []struct {
		name, yaml string
		want       learn.ThresholdRule
		wantErr    string
	}{
		{"default", "  seed: 1\n", learn.ThresholdRule{}, ""},
		{"f1", "  threshold: f1\n", learn.ThresholdRule{Rule: learn.ThresholdF1}, ""},
		{"youden", "  threshold: youden\n", learn.ThresholdRule{Rule: learn.ThresholdYouden}, ""},
		{"fixed", "  threshold: 0.3\n", learn.FixedThreshold(0.3), ""},
		{"top fraction", "  threshold: {top_fraction: 0.2}\n", learn.ThresholdRule{Rule: learn.ThresholdTopFraction, TopFraction: 0.2}, ""},
		{"cost", "  threshold: {cost: {false_positive: 1, false_negative: 5}}\n",
			learn.ThresholdRule{Rule: learn.ThresholdCost, FalsePositive: 1, FalseNegative: 5}, ""},
		{"unknown word", "  threshold: best\n", learn.ThresholdRule{}, "threshold \"best\""},
		{"fixed out of range", "  threshold: 1.5\n", learn.ThresholdRule{}, "train.threshold"},
		{"both forms", "  threshold: {top_fraction: 0.2, cost: {false_positive: 1, false_negative: 1}}\n", learn.ThresholdRule{}, "exactly one"},
		{"unknown key", "  threshold: {top: 0.2}\n", learn.ThresholdRule{}, "unknown key \"top\""},
		{"metric recall_at_20", "  metric: recall_at_20\n", learn.ThresholdRule{}, ""},
		{"unknown metric", "  metric: recall_at_200\n", learn.ThresholdRule{}, "train.metric"},
		{"qini needs treatment", "  metric: qini\n", learn.ThresholdRule{}, "train.metric"},
		{"post_outcome", "  post_outcome: [spend]\n  allow_features: [x]\n", learn.ThresholdRule{}, ""},
		{"post_outcome not in schema", "  post_outcome: [spent]\n", learn.ThresholdRule{}, "train.post_outcome: column \"spent\" is not in the schema"},
		{"allow_features not a feature", "  allow_features: [id]\n", learn.ThresholdRule{}, "train.allow_features: column \"id\" is not a feature (kind id)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(base+tt.yaml), "test.yaml")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.TrainConfig().Threshold; got != tt.want {
				t.Errorf("threshold = %+v, want %+v", got, tt.want)
			}
		})
	}
}

package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

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

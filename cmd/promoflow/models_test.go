package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/registry"
)

func TestModelsCommands(t *testing.T) {
	c := stacktest.MinIO(t)
	bucket := stacktest.Bucket(t, c)
	t.Setenv("PROMOFLOW_MINIO_BUCKET", bucket)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg := registry.New(c, bucket)
	for i, auc := range []float64{0.7, 0.75} {
		req := registry.RegisterRequest{
			Model:     "churn",
			RunID:     "run-" + string(rune('1'+i)),
			Metrics:   map[string]float64{"auc": auc},
			Artifacts: map[string][]byte{"model.json": []byte(`{}`)},
		}
		if _, err := reg.Register(ctx, req); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Promote(ctx, registry.MoveRequest{Model: "churn", To: i + 1, Actor: "test", Reason: "setup"}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		args     []string
		wantCode int
		want     []string
	}{
		{[]string{"models", "ls"}, 0, []string{"churn", "previous=1 production=2"}},
		{[]string{"models", "ls", "churn", "--json"}, 0, []string{`"auc": 0.75`, `"aliases": [`}},
		{[]string{"models", "ls", "churn"}, 0, []string{"auc=0.7 ", "auc=0.75", "production"}},
		{[]string{"models", "show", "churn@production"}, 0, []string{"version    2", "integrity  ok", "model.json"}},
		{[]string{"models", "show", "churn/1", "--json"}, 0, []string{`"integrity": "ok"`, `"previous"`}},
		{[]string{"models", "diff", "churn/1", "churn@production"}, 0, []string{"v1 → v2", "+0.05", "unchanged"}},
		{[]string{"models", "history", "churn"}, 0, []string{"promote  1     2"}},
		{[]string{"models", "history", "churn", "--alias", "previous", "--at", "2100-01-01"}, 0, []string{"churn@previous at 2100-01-01T00:00:00Z: v1"}},
		{[]string{"models", "gc", "churn", "--keep", "1", "--window", "0s", "--dry-run"}, 0, []string{"1        keep", "previous", "0 would remove"}},
		{[]string{"models", "show", "churn/9"}, 1, []string{"not found"}},
		{[]string{"models", "show", "Churn;drop"}, 1, []string{`invalid model "Churn;drop"`}},
		// Usage goes to the flag set's output (os.Stderr), not to run's.
		{[]string{"models", "diff", "churn/1"}, 2, nil},
		{[]string{"models", "frobnicate"}, 2, nil},
	}
	secret := os.Getenv("PROMOFLOW_MINIO_SECRET_KEY")
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(ctx, tt.args, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; output:\n%s", code, tt.wantCode, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if secret != "" && strings.Contains(out, secret) {
				t.Errorf("output contains the MinIO secret key")
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01 09:00", time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)},
		{"2026-11-01T09:00:30", time.Date(2026, 11, 1, 9, 0, 30, 0, time.UTC)},
		{"2026-11-01T09:00:00+02:00", time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := parseTime("yesterday"); err == nil {
		t.Error("parseTime(yesterday): no error")
	}
}

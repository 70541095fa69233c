package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/serve"
	"github.com/promoflow/promoflow/synth"
)

// TestPeopleThroughTheAPI changes production through the scoring service's
// API on the real stack: only an admin token may, its name is the actor in
// the audit log, and a read token is refused.
func TestPeopleThroughTheAPI(t *testing.T) {
	model := startStack(t, false)
	files, err := synth.WriteDays(t.TempDir(), synth.Config{Rows: 4000, Seed: 4, Days: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		day := filepath.Base(filepath.Dir(f))
		runCases(t, []cmdCase{
			{[]string{"ingest", "--source", model, "--day", day, "--file", f}, 0, nil},
			{[]string{"run", model, "--day", day}, 0, []string{"version " + string(rune('1'+i))}},
		})
	}
	cfg := control.FromEnv()
	reg, err := cfg.Registry()
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tc, err := cfg.Temporal()
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	tokens, err := serve.ParseTokens("ana:tok-ana-0123456789:admin,rita:tok-rita-0123456789:read")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serve.New(serve.Config{Registry: reg, Models: []string{model}, Tokens: tokens,
		Changer: &control.Changer{Temporal: tc, TaskQueue: cfg.TaskQueue, Audit: st}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	prod, err := reg.Resolve(context.Background(), model, registry.Production)
	if err != nil {
		t.Fatal(err)
	}
	other := 3 - prod

	post := func(token, path string, body any) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, ts.URL+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	base := "/v1/models/" + model
	tests := []struct {
		name, token, path string
		body              any
		want              int
		wantKey, wantVal  string
	}{
		{"a read token may not promote", "tok-rita-0123456789", base + "/promote", map[string]any{"version": other, "reason": "x", "force": true}, 403, "error", "needs role admin"},
		{"no reason", "tok-ana-0123456789", base + "/promote", map[string]any{"version": other, "force": true}, 400, "error", "reason is required"},
		{"unknown model", "tok-ana-0123456789", "/v1/models/nosuch/promote", map[string]any{"version": 1, "reason": "x"}, 404, "field", "model"},
		{"forced promotion", "tok-ana-0123456789", base + "/promote", map[string]any{"version": other, "reason": "api campaign", "force": true}, 200, "by", "ana"},
		{"rollback", "tok-ana-0123456789", base + "/rollback", map[string]any{"reason": "api campaign over"}, 200, "by", "ana"},
		{"approval of a run that does not wait", "tok-ana-0123456789", base + "/approve", map[string]any{"day": "2026-11-01", "version": 1, "reason": "ok"}, 502, "error", "approve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := post(tt.token, tt.path, tt.body)
			if code != tt.want || !strings.Contains(toString(out[tt.wantKey]), tt.wantVal) {
				t.Errorf("POST %s = %d %v, want %d with %s containing %q", tt.path, code, out, tt.want, tt.wantKey, tt.wantVal)
			}
		})
	}
	if got, _ := reg.Resolve(context.Background(), model, registry.Production); got != prod {
		t.Errorf("production = %d after promote and rollback, want %d", got, prod)
	}
	runCases(t, []cmdCase{{[]string{"audit", model}, 0, []string{"forced: api campaign", "api campaign over", "ana"}}})
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

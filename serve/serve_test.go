package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
)

const (
	modelName  = "hillstrom"
	scoreToken = "s3cr3t-score"
	readToken  = "s3cr3t-read"
	adminToken = "s3cr3t-admin"
)

// fixture is a registry holding two trained versions of one model, with
// production at the first.
type fixture struct {
	reg    *registry.Registry
	models map[int]*learn.Model // by version
	v1, v2 int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	v := stacktest.TwoVersions(t, modelName)
	f := &fixture{reg: v.Registry, models: v.Models, v1: v.V1, v2: v.V2}
	f.promote(t, f.v1)
	return f
}

func (f *fixture) promote(t *testing.T, v int) {
	t.Helper()
	if _, err := f.reg.Promote(context.Background(), registry.MoveRequest{Model: modelName, To: v, Actor: "test", Reason: "swap test"}); err != nil {
		t.Fatalf("promote v%d: %v", v, err)
	}
}

func testTokens(t *testing.T) Tokens {
	t.Helper()
	tok, err := ParseTokens("campaigns:" + scoreToken + ":score, grafana:" + readToken + ":read,ops:" + adminToken + ":admin")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// start runs a server until the test ends and waits until it is ready.
func start(t *testing.T, cfg Config) (*Server, *httptest.Server, *prometheus.Registry) {
	t.Helper()
	if cfg.Tokens == nil {
		cfg.Tokens = testTokens(t)
	}
	if cfg.Models == nil {
		cfg.Models = []string{modelName}
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	preg := prometheus.NewRegistry()
	srv, err := New(cfg, preg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	waitFor(t, "server ready", srv.Ready)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return srv, hs, preg
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func customer(id string, i int) map[string]any {
	return map[string]any{
		"customer_id": id, "recency": float64(1 + i%12), "history": 50.0 + float64(i%7)*30,
		"channel": []string{"Phone", "Web", "Multichannel"}[i%3], "zip_code": []string{"Urban", "Rural"}[i%2], "newbie": i%2 == 0,
	}
}

// rawRow is the row the model sees for customer(id, i).
func rawRow(c map[string]any) map[string]string {
	nb := "0"
	if c["newbie"].(bool) {
		nb = "1"
	}
	return map[string]string{
		"recency": fmt.Sprint(c["recency"]), "history": fmt.Sprint(c["history"]),
		"channel": c["channel"].(string), "zip_code": c["zip_code"].(string), "newbie": nb,
	}
}

func post(t testing.TB, client *http.Client, url, token string, body []byte) (int, []byte) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("post %s: %v", url, err)
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestSwapUnderLoad moves production between two versions several times
// while goroutines score: every request must succeed, name a registered
// version, and carry exactly that version's scores (no mixing).
func TestSwapUnderLoad(t *testing.T) {
	f := newFixture(t)
	srv, hs, preg := start(t, Config{Registry: f.reg, Poll: 20 * time.Millisecond})
	if got := srv.Version(modelName); got != f.v1 {
		t.Fatalf("serving v%d, want v%d", got, f.v1)
	}
	// Two customers per request: a mixed response would score them with
	// different versions.
	custs := []map[string]any{customer("a", 1), customer("b", 4)}
	body, _ := json.Marshal(map[string]any{"customers": custs})
	want := map[int][]learn.Score{}
	for v, m := range f.models {
		for _, c := range custs {
			s, err := m.Score(rawRow(c))
			if err != nil {
				t.Fatal(err)
			}
			want[v] = append(want[v], s)
		}
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	var total, failed atomic.Int64
	seen := make([]map[int]int, 4)
	for g := range seen {
		seen[g] = map[int]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				code, b := post(t, hs.Client(), hs.URL+"/v1/models/"+modelName+"/score", scoreToken, body)
				total.Add(1)
				if code != http.StatusOK {
					failed.Add(1)
					t.Errorf("status %d: %s", code, b)
					continue
				}
				var r ScoreResponse
				if err := json.Unmarshal(b, &r); err != nil {
					t.Errorf("decode: %v", err)
					continue
				}
				w, ok := want[r.Version]
				if !ok {
					t.Errorf("response names version %d, registered are %d and %d", r.Version, f.v1, f.v2)
					continue
				}
				for i, s := range r.Scores {
					if math.Abs(s.Propensity-w[i].Propensity) > 1e-12 {
						t.Errorf("customer %d: propensity %v, version %d gives %v: versions mixed", i, s.Propensity, r.Version, w[i].Propensity)
					}
				}
				seen[g][r.Version]++
			}
		}()
	}
	const moves = 6
	for k := 0; k < moves; k++ {
		to := f.v2
		if k%2 == 1 {
			to = f.v1
		}
		f.promote(t, to)
		waitFor(t, fmt.Sprintf("swap to v%d", to), func() bool { return srv.Version(modelName) == to })
		time.Sleep(50 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	counts := map[int]int{}
	for _, m := range seen {
		for v, n := range m {
			counts[v] += n
		}
	}
	t.Logf("%d requests, %d failed, by version %v", total.Load(), failed.Load(), counts)
	if counts[f.v1] == 0 || counts[f.v2] == 0 {
		t.Errorf("responses by version %v: want both versions to have answered", counts)
	}
	if got := metricValue(t, srv.metrics.swaps.WithLabelValues(modelName)); got != moves {
		t.Errorf("swaps metric %v, want %d", got, moves)
	}
	if _, err := preg.Gather(); err != nil {
		t.Errorf("gather metrics: %v", err)
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	_, hs, _ := start(t, Config{Registry: f.reg, MaxBodyBytes: 4096})
	good := customer("c1", 2)
	with := func(k string, v any) []byte {
		c := map[string]any{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		b, _ := json.Marshal(map[string]any{"customers": []any{c}})
		return b
	}
	okBody := with("recency", 3.0)
	tests := []struct {
		name      string
		method    string
		path      string
		token     string
		body      []byte
		wantCode  int
		wantField string // in the JSON error
	}{
		{"good request", "POST", "/v1/models/" + modelName + "/score", scoreToken, okBody, 200, ""},
		{"admin may score", "POST", "/v1/models/" + modelName + "/score", adminToken, okBody, 200, ""},
		{"unknown model", "POST", "/v1/models/nosuch/score", scoreToken, okBody, 404, "model"},
		{"missing feature", "POST", "/v1/models/" + modelName + "/score", scoreToken, with("recency", nil), 400, "customers[0].recency"},
		{"null required feature", "POST", "/v1/models/" + modelName + "/score", scoreToken, []byte(`{"customers":[{"recency":null,"history":1,"channel":"Web","zip_code":"Urban","newbie":true}]}`), 400, "customers[0].recency"},
		{"number as string", "POST", "/v1/models/" + modelName + "/score", scoreToken, with("history", "12.5"), 400, "customers[0].history"},
		{"category as number", "POST", "/v1/models/" + modelName + "/score", scoreToken, with("channel", 3), 400, "customers[0].channel"},
		{"flag out of range", "POST", "/v1/models/" + modelName + "/score", scoreToken, with("newbie", 2), 400, "customers[0].newbie"},
		{"unknown field", "POST", "/v1/models/" + modelName + "/score", scoreToken, with("favourite_colour", "red"), 400, "customers[0].favourite_colour"},
		{"customers not an array", "POST", "/v1/models/" + modelName + "/score", scoreToken, []byte(`{"customers":{"a":1}}`), 400, "customers"},
		{"no customers", "POST", "/v1/models/" + modelName + "/score", scoreToken, []byte(`{"customers":[]}`), 400, "customers"},
		{"malformed JSON", "POST", "/v1/models/" + modelName + "/score", scoreToken, []byte(`{"customers":[{"recency":1,}]}`), 400, "body"},
		{"empty body", "POST", "/v1/models/" + modelName + "/score", scoreToken, nil, 400, "body"},
		{"oversized body", "POST", "/v1/models/" + modelName + "/score", scoreToken, []byte(`{"customers":[` + strings.Repeat(`{"recency":1},`, 400) + `{}]}`), 413, "body"},
		{"no token", "POST", "/v1/models/" + modelName + "/score", "", okBody, 401, ""},
		{"wrong token", "POST", "/v1/models/" + modelName + "/score", "not-a-token", okBody, 401, ""},
		{"read role cannot score", "POST", "/v1/models/" + modelName + "/score", readToken, okBody, 403, ""},
		{"read role cannot reload", "POST", "/v1/models/" + modelName + "/reload", readToken, nil, 403, ""},
		{"score role cannot reload", "POST", "/v1/models/" + modelName + "/reload", scoreToken, nil, 403, ""},
		{"admin reloads", "POST", "/v1/models/" + modelName + "/reload", adminToken, nil, 200, ""},
		{"read role lists models", "GET", "/v1/models", readToken, nil, 200, ""},
		{"GET on score route", "GET", "/v1/models/" + modelName + "/score", scoreToken, nil, 405, ""},
		{"allocate unknown arm", "POST", "/v1/allocate", scoreToken, []byte(`{"model":"` + modelName + `","budget":1,"arms":[{"name":"Kids E-Mail","cost":1}],"customers":[{"recency":1,"history":1,"channel":"Web","zip_code":"Urban","newbie":true}]}`), 400, "arms"},
		{"allocate unknown model", "POST", "/v1/allocate", scoreToken, []byte(`{"model":"nosuch","budget":1,"arms":[{"name":"a","cost":1}],"customers":[]}`), 404, "model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, hs.URL+tt.path, bytes.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.wantCode, b)
			}
			if tt.wantCode >= 400 && tt.wantCode != 405 {
				var e apiError
				if err := json.Unmarshal(b, &e); err != nil || e.Msg == "" {
					t.Fatalf("error body %q is not a JSON error (%v)", b, err)
				}
				if e.Field != tt.wantField {
					t.Errorf("error field %q, want %q (message %q)", e.Field, tt.wantField, e.Msg)
				}
				if strings.Contains(string(b), "s3cr3t") {
					t.Errorf("error body leaks a token: %s", b)
				}
			}
		})
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := hs.Client().Get(hs.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d %s", p, resp.StatusCode, b)
		}
		if p == "/metrics" && !strings.Contains(string(b), `promoflow_serve_requests_total{code="400",model="hillstrom",route="score"}`) {
			t.Errorf("/metrics lacks the request counts by model and code:\n%s", b)
		}
	}
}

func TestParseTokens(t *testing.T) {
	tests := []struct {
		spec    string
		wantErr string
		n       int
	}{
		{"a:t1:read,b:t2:score,c:t3:admin", "", 3},
		{" a:t1:read , ", "", 1},
		{"a:t1", "not name:token:role", 0},
		{"a:t1:root", `role "root"`, 0},
		{"a:t1:read,b:t1:admin", "repeats", 0},
	}
	for _, tt := range tests {
		got, err := ParseTokens(tt.spec)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseTokens(%q) error %v, want one containing %q", tt.spec, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "t1") {
				t.Errorf("ParseTokens(%q) error %q names a token", tt.spec, err)
			}
			continue
		}
		if err != nil || len(got) != tt.n {
			t.Errorf("ParseTokens(%q) = %d tokens, %v; want %d", tt.spec, len(got), err, tt.n)
		}
	}
}

// TestScoringLog fills a one-request queue before the writer runs (the
// rest is dropped and counted), then lets it drain into PostgreSQL.
func TestScoringLog(t *testing.T) {
	f := newFixture(t)
	pool := stacktest.PGPool(t)
	st := store.New(pool)
	ctx := context.Background()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Registry: f.reg, Store: st, Models: []string{modelName}, Tokens: testTokens(t), LogBuffer: 1, LogFlush: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	body, _ := json.Marshal(map[string]any{"customers": []any{customer("c1", 1), customer("c2", 2)}})
	url := hs.URL + "/v1/models/" + modelName + "/score"
	for i := 0; i < 3; i++ { // the writer is not running: one queued, two dropped
		if code, b := post(t, hs.Client(), url, scoreToken, body); code != 200 {
			t.Fatalf("status %d: %s", code, b)
		}
	}
	if got := metricValue(t, srv.metrics.logDropped); got != 4 {
		t.Errorf("dropped rows %v, want 4 (two requests of two customers)", got)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	count := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM scoring_log WHERE model = $1 AND version = $2`, modelName, f.v1).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor(t, "queued rows written", func() bool { return count() == 2 })
	if code, b := post(t, hs.Client(), url, scoreToken, body); code != 200 {
		t.Fatalf("status %d: %s", code, b)
	}
	cancel() // Run flushes what is queued before returning
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 4 {
		t.Errorf("scoring_log has %d rows after shutdown, want 4", got)
	}
	var id, feats string
	var p float64
	if err := pool.QueryRow(ctx, `SELECT customer_id, features->>'channel', propensity FROM scoring_log ORDER BY at, customer_id LIMIT 1`).Scan(&id, &feats, &p); err != nil {
		t.Fatal(err)
	}
	if id != "c1" || feats != "Web" || !(p > 0 && p < 1) {
		t.Errorf("first row: customer %q channel %q propensity %v; want c1, Web and a probability", id, feats, p)
	}
	if got := metricValue(t, srv.metrics.logWritten); got != 4 {
		t.Errorf("written metric %v, want 4", got)
	}
}

// metricValue reads a counter or gauge.
func metricValue(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

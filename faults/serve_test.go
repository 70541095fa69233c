package faults

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
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/serve"
)

const scoreToken = "faults-score-token"

// newServer serves the test's model from its registry over real HTTP on
// loopback, polling the alias every poll; the test's cleanup stops it.
func (e *testEnv) newServer(t *testing.T, poll time.Duration) (*serve.Server, *httptest.Server) {
	t.Helper()
	srv := newScoringServer(t, e.reg, e.model, poll)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return srv, hs
}

// newScoringServer runs a scoring service for model until the test ends
// and waits until it has loaded production.
func newScoringServer(t testing.TB, reg *registry.Registry, model string, poll time.Duration) *serve.Server {
	t.Helper()
	tokens, err := serve.ParseTokens("faults:" + scoreToken + ":admin")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serve.New(serve.Config{
		Registry: reg, Models: []string{model}, Poll: poll, Tokens: tokens,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !srv.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("scoring service not ready within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return srv
}

// loadCustomer is a valid customer of synth's schema.
func loadCustomer(i int) map[string]any {
	return map[string]any{
		"customer_id": fmt.Sprintf("L%06d", i), "recency": float64(1 + i%12), "history": 40.0 + float64(i%11)*25,
		"channel": []string{"Phone", "Web", "Multichannel"}[i%3], "zip_code": []string{"Urban", "Rural", "Surburban"}[i%3], "newbie": i%2 == 0,
	}
}

// rawRow is the customer as the model's pipeline reads it.
func rawRow(c map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range c {
		switch x := v.(type) {
		case string:
			out[k] = x
		case float64:
			out[k] = fmt.Sprint(x)
		case bool:
			out[k] = map[bool]string{true: "1", false: "0"}[x]
		}
	}
	return out
}

// TestScoringUnderLoadWhileProductionMoves keeps four clients scoring
// without pause while production moves three times (v1→v2→v3→v4): every
// request must succeed, and every response must name the version whose
// model computed its scores (checked against each version's model scored
// locally), so no request fails or mixes versions during a swap.
func TestScoringUnderLoadWhileProductionMoves(t *testing.T) {
	requireFaultStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newTestEnv(t, false)
	models := e.registerVersions(t, ctx, 4)
	promote := func(v int) {
		if _, err := e.reg.Promote(ctx, registry.MoveRequest{Model: e.model, To: v, Actor: "faults", Reason: "load test"}); err != nil {
			t.Fatalf("promote v%d: %v", v, err)
		}
	}
	promote(1)
	srv, hs := e.newServer(t, 50*time.Millisecond)

	// Three customers per request: a mixed response would score them with
	// different versions.
	custs := []map[string]any{loadCustomer(1), loadCustomer(2), loadCustomer(3)}
	body, err := json.Marshal(map[string]any{"customers": custs})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int][]float64{}
	for v, m := range models {
		for _, c := range custs {
			s, err := m.Score(rawRow(c))
			if err != nil {
				t.Fatal(err)
			}
			want[v] = append(want[v], s.Propensity)
		}
	}

	t.Log("phase 1: four clients score without pause")
	const clients = 4
	var stop atomic.Bool
	var total, failed, wrong atomic.Int64
	var mu sync.Mutex
	byVersion := map[int]int{}
	var latencies []time.Duration
	var wg sync.WaitGroup
	url := hs.URL + "/v1/models/" + e.model + "/score"
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := map[int]int{}
			var lat []time.Duration
			for !stop.Load() {
				start := time.Now()
				code, b, err := postJSON(hs.Client(), url, body)
				lat = append(lat, time.Since(start))
				total.Add(1)
				if err != nil || code != http.StatusOK {
					failed.Add(1)
					t.Errorf("request failed: status %d, %v: %s", code, err, b)
					continue
				}
				var r serve.ScoreResponse
				if err := json.Unmarshal(b, &r); err != nil {
					failed.Add(1)
					t.Errorf("decode response: %v", err)
					continue
				}
				w, ok := want[r.Version]
				if !ok || len(r.Scores) != len(w) {
					wrong.Add(1)
					t.Errorf("response names version %d with %d scores", r.Version, len(r.Scores))
					continue
				}
				for i, s := range r.Scores {
					if math.Abs(s.Propensity-w[i]) > 1e-12 {
						wrong.Add(1)
						t.Errorf("customer %d: propensity %v, but version %d gives %v", i, s.Propensity, r.Version, w[i])
						break
					}
				}
				seen[r.Version]++
			}
			mu.Lock()
			defer mu.Unlock()
			for v, n := range seen {
				byVersion[v] += n
			}
			latencies = append(latencies, lat...)
		}()
	}
	began := time.Now()
	time.Sleep(time.Second)
	for _, v := range []int{2, 3, 4} {
		t.Logf("phase 2: move production to v%d under load", v)
		promote(v)
		deadline := time.Now().Add(30 * time.Second)
		for srv.Version(e.model) != v {
			if time.Now().After(deadline) {
				t.Fatalf("service still serves v%d 30 s after production moved to v%d", srv.Version(e.model), v)
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Second)
	}
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(began)

	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	t.Logf("load held: %d requests in %s (%.0f/s) by %d clients, %d failed, %d named the wrong version; by version %v; latency p50 %s p99 %s max %s",
		total.Load(), elapsed.Round(time.Millisecond), float64(total.Load())/elapsed.Seconds(), clients, failed.Load(), wrong.Load(),
		byVersion, pct(0.5), pct(0.99), latencies[len(latencies)-1])
	for v := 1; v <= 4; v++ {
		if byVersion[v] == 0 {
			t.Errorf("no response came from v%d: the swaps were not exercised under load (%v)", v, byVersion)
		}
	}
}

// postJSON posts body with the test's score token.
func postJSON(c *http.Client, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+scoreToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

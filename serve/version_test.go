package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/score"
)

// serveLoaded serves m as version 7 of modelName with the arms in off
// disabled, without a registry behind it.
func serveLoaded(t *testing.T, m *learn.Model, off []string) *httptest.Server {
	t.Helper()
	srv, err := New(Config{Registry: registry.New(nil, "unused"), Models: []string{modelName}, Tokens: testTokens(t),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	served, disabled := score.WithoutArms(m, off)
	srv.models[modelName].Store(newLoaded(modelName, 7, served, disabled, time.Now()))
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs
}

func TestScoreDecision(t *testing.T) {
	m := stacktest.TrainUplift(t, 1)
	var customers []map[string]any
	var props []float64
	for i := range 40 {
		c := customer(fmt.Sprintf("c%d", i), i)
		customers = append(customers, c)
		sc, err := m.Score(rawRow(c))
		if err != nil {
			t.Fatal(err)
		}
		props = append(props, sc.Propensity)
	}
	// A threshold amid the customers' propensities, so both decisions occur.
	sorted := slices.Sorted(slices.Values(props))
	withTh := *m
	withTh.Settings.Threshold = sorted[len(sorted)/2]
	hs := serveLoaded(t, &withTh, nil)
	body, _ := json.Marshal(map[string]any{"customers": customers})
	code, out := post(t, hs.Client(), hs.URL+"/v1/models/"+modelName+"/score", scoreToken, body)
	if code != http.StatusOK {
		t.Fatalf("score: %d %s", code, out)
	}
	var resp ScoreResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Threshold != withTh.Settings.Threshold {
		t.Errorf("threshold %g, want the model's %g", resp.Threshold, withTh.Settings.Threshold)
	}
	yes := 0
	for i, s := range resp.Scores {
		if want := props[i] >= withTh.Settings.Threshold; s.Decision != want {
			t.Errorf("customer %d: propensity %g, decision %v, want %v", i, s.Propensity, s.Decision, want)
		}
		if s.Decision {
			yes++
		}
	}
	if yes == 0 || yes == len(resp.Scores) {
		t.Errorf("%d of %d decisions positive; the threshold should split them", yes, len(resp.Scores))
	}
	if !strings.Contains(string(out), `"decision":false`) || !strings.Contains(string(out), `"threshold":`) {
		t.Errorf("response lacks the decision or threshold fields: %s", out)
	}
}

func TestDisabledArmsNeverOffered(t *testing.T) {
	m := stacktest.TrainUplift(t, 1)
	all := stacktest.ArmNames(m)
	off, on := all[0], all[1]
	hs := serveLoaded(t, m, []string{off})
	c := customer("c1", 1)

	body, _ := json.Marshal(map[string]any{"customers": []any{c}})
	code, out := post(t, hs.Client(), hs.URL+"/v1/models/"+modelName+"/score", scoreToken, body)
	var resp ScoreResponse
	if err := json.Unmarshal(out, &resp); code != http.StatusOK || err != nil {
		t.Fatalf("score: %d %s", code, out)
	}
	if _, ok := resp.Scores[0].Uplift[off]; ok {
		t.Errorf("score offers the disabled arm %s: %s", off, out)
	}
	if _, ok := resp.Scores[0].Uplift[on]; !ok {
		t.Errorf("score lacks the offered arm %s: %s", on, out)
	}

	alloc := func(arms ...string) (int, []byte) {
		req := AllocateRequest{Model: modelName, Customers: []map[string]any{c}, Budget: 1}
		for _, a := range arms {
			req.Arms = append(req.Arms, AllocateArm{Name: a, Cost: 1})
		}
		body, _ := json.Marshal(req)
		return post(t, hs.Client(), hs.URL+"/v1/allocate", scoreToken, body)
	}
	if code, out := alloc(on, off); code != http.StatusBadRequest || !strings.Contains(string(out), "disabled by its gate verdict") || !strings.Contains(string(out), `"field":"arms[1].name"`) {
		t.Errorf("allocate with the disabled arm: %d %s; want 400 naming arms[1].name", code, out)
	}
	if code, out := alloc(on); code != http.StatusOK {
		t.Errorf("allocate with offered arms only: %d %s", code, out)
	}

	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+readToken)
	r, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var models struct{ Models []ModelInfo }
	if err := json.NewDecoder(r.Body).Decode(&models); err != nil {
		t.Fatal(err)
	}
	if got := models.Models[0]; !slices.Equal(got.DisabledArms, []string{off}) || slices.Contains(got.Arms, off) {
		t.Errorf("GET /v1/models = arms %q, disabled %q; want %s disabled and not among the arms", got.Arms, got.DisabledArms, off)
	}
}

// TestServerDropsDisabledArms stores a verdict disabling an arm with a
// version and checks that the server following production never offers
// it (score.LoadVersion drops it).
func TestServerDropsDisabledArms(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	off := stacktest.ArmNames(f.models[f.v2])[0]
	data, err := json.Marshal(gate.Verdict{Model: modelName, Version: f.v2, Pass: true, DisabledArms: []string{off}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.reg.AddArtifact(ctx, modelName, f.v2, registry.VerdictArtifact, data); err != nil {
		t.Fatal(err)
	}
	f.promote(t, f.v2)
	_, hs, _ := start(t, Config{Registry: f.reg})
	body, _ := json.Marshal(map[string]any{"customers": []any{customer("c1", 1)}})
	code, out := post(t, hs.Client(), hs.URL+"/v1/models/"+modelName+"/score", scoreToken, body)
	var resp ScoreResponse
	if err := json.Unmarshal(out, &resp); code != http.StatusOK || err != nil {
		t.Fatalf("score: %d %s", code, out)
	}
	if _, ok := resp.Scores[0].Uplift[off]; ok || resp.Version != f.v2 {
		t.Errorf("production v%d served v%d with the disabled arm %s: %s", f.v2, resp.Version, off, out)
	}
}

package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/serve"
)

// FuzzScoreRequest sends arbitrary bodies to the scoring API's score route
// (serve has no fuzz target of its own for its request decoder). Whatever
// the body, the service must answer 200 with one finite propensity in
// [0, 1] per customer from the loaded version, or a 400/413 whose body is
// a JSON error; it must never panic or answer 5xx.
func FuzzScoreRequest(f *testing.F) {
	requireFaultsRun(f)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mc := stacktest.MinIO(f)
	reg := registry.New(mc, stacktest.Bucket(f, mc))
	model := "fuzz"
	registerModels(f, ctx, reg, model, 1)
	if _, err := reg.Promote(ctx, registry.MoveRequest{Model: model, To: 1, Actor: "fuzz", Reason: "fuzz the decoder"}); err != nil {
		f.Fatal(err)
	}
	h := newScoringServer(f, reg, model, time.Hour).Handler()

	for _, seed := range []string{
		`{"customers":[{"customer_id":"a","recency":3,"history":120.5,"channel":"Web","zip_code":"Urban","newbie":true}]}`,
		`{"customers":[{"recency":3,"history":1e308,"channel":"Phone","zip_code":"Rural","newbie":0}]}`,
		`{"customers":[{"recency":-1e308,"history":null,"channel":"","zip_code":"Urban","newbie":1}]}`,
		`{"customers":[{}]}`, `{"customers":[]}`, `{"customers":null}`, `{}`, `[]`, `null`, ``,
		`{"customers":[{"recency":3}],"x":1}`, `{"customers":[{"recency":3}]} {}`,
		`{"customers":[{"recency":"3"}]}`, `{"customers":[{"newbie":2}]}`, "{\"customers\":[{\"channel\":\"\xff\"}]}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/models/"+model+"/score", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+scoreToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		out := rec.Body.Bytes()
		switch rec.Code {
		case http.StatusOK:
			var r serve.ScoreResponse
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("200 with an undecodable body %q: %v", out, err)
			}
			if r.Version != 1 || len(r.Scores) == 0 {
				t.Fatalf("200 naming version %d with %d scores: %s", r.Version, len(r.Scores), out)
			}
			for i, s := range r.Scores {
				if math.IsNaN(s.Propensity) || s.Propensity < 0 || s.Propensity > 1 {
					t.Fatalf("customer %d: propensity %v", i, s.Propensity)
				}
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(out, &e); err != nil || e.Error == "" {
				t.Fatalf("status %d with a body that is not a JSON error: %q", rec.Code, out)
			}
		default:
			t.Fatalf("status %d for body %q: %s", rec.Code, body, out)
		}
	})
}

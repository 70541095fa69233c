package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/internal/stacktest"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/report"
	"github.com/promoflow/promoflow/report/reporttest"
	"github.com/promoflow/promoflow/store"
)

// pageDay is the monitored day of the page fixture's drift check.
var pageDay = time.Date(2026, 11, 6, 0, 0, 0, 0, time.UTC)

// startPages serves a registry of two versions (production v1, v2 with a
// verdict and a stored report, staging moved with a reason full of markup)
// and a drift check of pageDay.
func startPages(t *testing.T) (*fixture, *httptest.Server) {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t)
	lo, hi := 0.6, 0.7
	verdict, err := json.Marshal(gate.Verdict{Model: modelName, Version: f.v2, Production: f.v1, HoldoutRows: 600, Checks: []gate.Check{
		{Name: "min_auc", Value: 0.65, Limit: 0.6, Op: ">=", Lower: &lo, Upper: &hi, Pass: false, Basis: "95% DeLong lower bound"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.reg.AddArtifact(ctx, modelName, f.v2, registry.VerdictArtifact, verdict); err != nil {
		t.Fatal(err)
	}
	man, err := f.reg.Manifest(ctx, modelName, f.v2)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := report.WriteTraining(&b, report.Training{Manifest: man, Model: f.models[f.v2]}); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.AddArtifact(ctx, modelName, f.v2, registry.ReportArtifact, b.Bytes()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.MoveAlias(ctx, registry.MoveRequest{Model: modelName, Alias: "staging", To: f.v2, Actor: "ann",
		Reason: `<script>alert("reason")</script>`}); err != nil {
		t.Fatal(err)
	}
	st := store.New(stacktest.PGPool(t))
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	detail := json.RawMessage(`{"edges":[1,2],"ref_counts":[30,40,30],"cur_counts":[50,30,20],"ref_rows":100,"cur_rows":100}`)
	if err := st.RecordDrift(ctx, store.DriftCheck{Model: modelName, Day: pageDay, Version: f.v1, Rows: 100, DriftedShare: 1, DatasetDrift: true},
		[]store.DriftFeature{{Feature: "recency", Kind: "numeric", PSI: 0.3, JS: 0.1, Severity: "act", Drifted: true, Detail: detail}}); err != nil {
		t.Fatal(err)
	}
	_, hs, _ := start(t, Config{Registry: f.reg, Store: st})
	return f, hs
}

// get fetches path with the given Authorization header and cookie token.
func get(t *testing.T, hs *httptest.Server, path, bearer, cookie string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, hs.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: tokenCookie, Value: cookie})
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestPagesNeedReadToken(t *testing.T) {
	_, hs := startPages(t)
	paths := []string{"/ui/", "/ui/models/" + modelName, "/ui/models/" + modelName + "/versions/2/report", "/ui/models/" + modelName + "/drift/2026-11-06"}
	tests := []struct {
		name           string
		bearer, cookie string
		want           int
	}{
		{"no token", "", "", http.StatusUnauthorized},
		{"unknown bearer", "nope", "", http.StatusUnauthorized},
		{"unknown cookie", "", "nope", http.StatusUnauthorized},
		{"read bearer", readToken, "", http.StatusOK},
		{"read cookie", "", readToken, http.StatusOK},
		{"score bearer", scoreToken, "", http.StatusOK},
		{"admin cookie", "", adminToken, http.StatusOK},
	}
	for _, tt := range tests {
		for _, p := range paths {
			t.Run(tt.name+p, func(t *testing.T) {
				resp, body := get(t, hs, p, tt.bearer, tt.cookie)
				if resp.StatusCode != tt.want {
					t.Fatalf("GET %s: status %d, want %d: %s", p, resp.StatusCode, tt.want, body)
				}
				if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
					t.Errorf("GET %s: Content-Security-Policy %q", p, csp)
				}
				if tt.want == http.StatusUnauthorized && !strings.Contains(body, `action="/ui/login"`) {
					t.Errorf("GET %s without a token: no sign-in form", p)
				}
			})
		}
	}
}

func TestPagesLogin(t *testing.T) {
	_, hs := startPages(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name, token, next string
		want              int
		location          string
	}{
		{"unknown token", "nope", "/ui/", http.StatusUnauthorized, ""},
		{"empty token", "", "", http.StatusUnauthorized, ""},
		{"read token", readToken, "/ui/models/" + modelName, http.StatusSeeOther, "/ui/models/" + modelName},
		{"no open redirect", readToken, "//evil.example/ui/", http.StatusSeeOther, "/ui/"},
		{"only pages", readToken, "/v1/models", http.StatusSeeOther, "/ui/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.PostForm(hs.URL+"/ui/login", url.Values{"token": {tt.token}, "next": {tt.next}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want != http.StatusSeeOther {
				if len(resp.Cookies()) > 0 {
					t.Errorf("a failed sign-in set cookies %v", resp.Cookies())
				}
				return
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			var ck *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == tokenCookie {
					ck = c
				}
			}
			if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != PagesBase {
				t.Errorf("sign-in cookie %+v: want HttpOnly, SameSite=Strict, Path %s", ck, PagesBase)
			}
		})
	}
}

func TestPagesContent(t *testing.T) {
	f, hs := startPages(t)
	v2 := "/ui/models/" + modelName + "/versions/" + itoa(f.v2) + "/report"
	tests := []struct {
		path    string
		want    int
		has     []string
		hasNot  []string
		ctype   string
		minSize int
	}{
		{"/ui/", http.StatusOK, []string{`href="/ui/models/hillstrom"`, "v" + itoa(f.v1), `href="/ui/models/hillstrom/drift/2026-11-06"`, "100.0% drifted"}, nil, "text/html", 0},
		{"/ui/models/" + modelName, http.StatusOK, []string{"production → v" + itoa(f.v1), "staging → v" + itoa(f.v2),
			"&lt;script&gt;alert(&#34;reason&#34;)&lt;/script&gt;", `href="` + v2 + `"`, "failed</span>: min_auc", "swap test"}, []string{"<script"}, "text/html", 0},
		{v2, http.StatusOK, []string{"training report", "Coefficients"}, []string{"<script"}, "text/html", 1000},
		{"/ui/models/" + modelName + "/drift/2026-11-06", http.StatusOK, []string{"recency", "Population stability index"}, nil, "text/html", 0},
		{"/ui/models/nosuch", http.StatusNotFound, nil, nil, "text/plain", 0},
		{"/ui/models/" + modelName + "/versions/" + itoa(f.v1) + "/report", http.StatusNotFound, nil, nil, "text/plain", 0},
		{"/ui/models/" + modelName + "/versions/x/report", http.StatusNotFound, nil, nil, "text/plain", 0},
		{"/ui/models/" + modelName + "/drift/2026-11-07", http.StatusNotFound, nil, nil, "text/plain", 0},
		{"/ui/models/" + modelName + "/drift/yesterday", http.StatusNotFound, nil, nil, "text/plain", 0},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, hs, tt.path, readToken, "")
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.ctype) {
				t.Errorf("Content-Type %q, want %s", ct, tt.ctype)
			}
			for _, s := range tt.has {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tt.hasNot {
				if strings.Contains(body, s) {
					t.Errorf("page contains %q", s)
				}
			}
			if len(body) < tt.minSize {
				t.Errorf("page is %d bytes, want at least %d", len(body), tt.minSize)
			}
		})
	}
}

// TestPagesInChromium opens the registry pages in headless Chromium
// through a proxy that adds the read token, as a signed-in browser sends
// its cookie: every page loads with no console message and no script.
func TestPagesInChromium(t *testing.T) {
	reporttest.Chromium(t)
	f, hs := startPages(t)
	target, err := url.Parse(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.AddCookie(&http.Cookie{Name: tokenCookie, Value: readToken})
		r.URL.Scheme, r.URL.Host, r.Host = target.Scheme, target.Host, target.Host
		r.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	tests := []struct {
		name, path string
		has        string
		charts     int
	}{
		{"index", "/ui/", "Models", 0},
		{"model", "/ui/models/" + modelName, "Aliases", 0},
		{"report", "/ui/models/" + modelName + "/versions/" + itoa(f.v2) + "/report", "Coefficients", 1},
		{"drift", "/ui/models/" + modelName + "/drift/2026-11-06", "Distributions", 2},
		{"login", "/ui/login", "Sign in", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := reporttest.Visit(t, proxy.URL+tt.path, tt.name)
			if len(p.Console) > 0 {
				t.Errorf("console messages: %q", p.Console)
			}
			if strings.Contains(p.DOM, "<script") {
				t.Error("page holds a script")
			}
			if !strings.Contains(p.DOM, tt.has) {
				t.Errorf("page lacks %q", tt.has)
			}
			if got := strings.Count(p.DOM, "<svg "); got != tt.charts {
				t.Errorf("page shows %d charts, want %d", got, tt.charts)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

package report

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/promoflow/promoflow/report/reporttest"
)

// TestReportsInChromium loads the training and drift reports in headless
// Chromium: they must load with no console message, hold no script, show
// their charts, and leave screenshots as test artefacts. A page that logs
// to the console shows that the check can fail.
func TestReportsInChromium(t *testing.T) {
	reporttest.Chromium(t)
	pages := map[string][]byte{}
	var b bytes.Buffer
	if err := WriteTraining(&b, fixtureTraining(t, "email-visit")); err != nil {
		t.Fatal(err)
	}
	pages["/training"] = bytes.Clone(b.Bytes())
	b.Reset()
	if err := WriteDrift(&b, fixtureDrift(t, "email-visit")); err != nil {
		t.Fatal(err)
	}
	pages["/drift"] = bytes.Clone(b.Bytes())
	pages["/noisy"] = []byte(`<!doctype html><title>noisy</title><p>x</p><script>console.error("boom")</script>`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(body)
	}))
	defer srv.Close()

	tests := []struct {
		path        string
		wantConsole bool
		wantCharts  int
		wantText    []string
	}{
		{"/training", false, 6, []string{"Gate verdict", "disabled arms, never offered: Mens E-Mail", "Data quality of the training days"}},
		{"/drift", false, 3, []string{"Population stability index", "reference vs current"}},
		{"/noisy", true, 0, nil},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			p := reporttest.Visit(t, srv.URL+tt.path, strings.TrimPrefix(tt.path, "/"))
			if got := len(p.Console) > 0; got != tt.wantConsole {
				t.Errorf("console messages %q; want some: %t", p.Console, tt.wantConsole)
			}
			if tt.wantConsole {
				return
			}
			if strings.Contains(p.DOM, "<script") {
				t.Error("page holds a script")
			}
			if got := strings.Count(p.DOM, "<svg "); got != tt.wantCharts {
				t.Errorf("page shows %d charts, want %d", got, tt.wantCharts)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(p.DOM, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			// The model's curves and bars are drawn in #1f77b4.
			if n := reporttest.Inked(p.Image, 0x1f, 0x77, 0xb4, 24); n < 2000 {
				t.Errorf("screenshot has %d pixels of the chart colour; the charts did not render", n)
			}
		})
	}
}

package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promoflow/promoflow/drift"
	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
)

func TestBinLabels(t *testing.T) {
	tests := []struct {
		name    string
		bins    drift.Bins
		want    []string
		wantErr bool
	}{
		{"numeric", drift.Bins{Edges: []float64{1, 2.5}, RefCounts: make([]int64, 3)}, []string{"≤ 1", "(1, 2.5]", "> 2.5"}, false},
		{"one bin", drift.Bins{RefCounts: make([]int64, 1)}, []string{"all"}, false},
		{"categorical", drift.Bins{Levels: []string{"a", "b"}, RefCounts: make([]int64, 2)}, []string{"a", "b"}, false},
		{"edges do not fit", drift.Bins{Edges: []float64{1}, RefCounts: make([]int64, 3)}, nil, true},
		{"levels do not fit", drift.Bins{Levels: []string{"a"}, RefCounts: make([]int64, 2)}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := binLabels(tt.bins)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("binLabels = %q, %v; want %q, error %t", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestTopCoefficients(t *testing.T) {
	m := &learn.Model{
		Pipeline:   &learn.Pipeline{Features: []learn.Feature{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}}},
		Propensity: &learn.LogReg{Coef: []float64{0.1, -2, 0.5, 2}},
	}
	tests := []struct {
		n    int
		want []string
	}{
		{2, []string{"b", "d"}}, // |−2| = |2|: by name
		{3, []string{"b", "d", "c"}},
		{10, []string{"b", "d", "c", "a"}},
	}
	for _, tt := range tests {
		rows, total := topCoefficients(m, tt.n)
		var got []string
		for _, r := range rows {
			got = append(got, r.Feature)
		}
		if !slices.Equal(got, tt.want) || total != 4 {
			t.Errorf("topCoefficients(%d) = %q of %d; want %q of 4", tt.n, got, total, tt.want)
		}
	}
}

func TestWriteTraining(t *testing.T) {
	full := fixtureTraining(t, "email-visit")
	noVerdict := full
	noVerdict.Verdict, noVerdict.Holdout, noVerdict.Rows, noVerdict.Days = nil, nil, nil, nil
	noVerdict.HoldoutNote = "holdout holds a single class"
	tests := []struct {
		name    string
		in      Training
		want    []string
		notWant []string
		svgs    int
	}{
		{"full", full, []string{
			"email-visit v3", `id="verdict"`, "FAILED", "max_quarantine_share", "[0.6100, 0.6600]", "95% DeLong lower bound",
			"ROC curve (AUC", "Calibration by decile", "Qini curve, arm Mens E-Mail", "Qini curve, arm Womens E-Mail",
			"Observed uplift by decile", "Largest coefficients", "range 60, required 40", "6.2%", "not cleaned", "&lt;b&gt;broken export&lt;/b&gt;",
			"qini_positive[Mens E-Mail]</td><td><span class=\"fail\">FAIL</span> <span class=\"fail\">OFF</span>",
			"qini_positive[Womens E-Mail]</td><td><span class=\"pass\">pass</span></td>",
			"disabled arms, never offered: Mens E-Mail</p>",
			"threshold (f1)", "recall in the top 20 %", "lift in the top 30 %", `id="feature-selection"`,
		}, []string{"<b>broken export</b>", "<script"}, 6},
		{"nothing measured", noVerdict, []string{"has not judged this version", "holdout holds a single class",
			"chart not drawn: no scored holdout rows", "No data-quality record"}, []string{"<script"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteTraining(&b, tt.in); err != nil {
				t.Fatalf("WriteTraining: %v", err)
			}
			html := b.String()
			for _, s := range tt.want {
				if !strings.Contains(html, s) {
					t.Errorf("report lacks %q", s)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(html, s) {
					t.Errorf("report contains %q", s)
				}
			}
			if got := strings.Count(html, "<svg "); got != tt.svgs {
				t.Errorf("report has %d charts, want %d", got, tt.svgs)
			}
		})
	}
}

func TestWriteTrainingIsDeterministic(t *testing.T) {
	// The activity adds report.html once; a retry must render the same
	// bytes or the registry refuses it as a different artifact.
	in := fixtureTraining(t, "email-visit")
	var a, b bytes.Buffer
	if err := WriteTraining(&a, in); err != nil {
		t.Fatal(err)
	}
	if err := WriteTraining(&b, in); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two renderings of the same report differ")
	}
	if a.Len() > 400_000 {
		t.Errorf("report is %d bytes; the curves should be thinned", a.Len())
	}
}

func TestWriteTrainingNeedsModel(t *testing.T) {
	if err := WriteTraining(&bytes.Buffer{}, Training{}); err == nil {
		t.Error("WriteTraining without manifest and model: no error")
	}
}

func TestWriteDrift(t *testing.T) {
	d := fixtureDrift(t, "email-visit")
	var b bytes.Buffer
	if err := WriteDrift(&b, d); err != nil {
		t.Fatalf("WriteDrift: %v", err)
	}
	html := b.String()
	for _, s := range []string{
		"email-visit · drift on 2026-11-06", "Population stability index by feature", "drifted_share 0.5000 over 0.4000",
		"AUC 0.6100 (validation 0.6500, drop 0.0400)", "&lt;script&gt;alert(1)&lt;/script&gt;", "(1, 2.5]", "&lt;b&gt;x&lt;/b&gt;",
		"chart not drawn", // the empty score bins
	} {
		if !strings.Contains(html, s) {
			t.Errorf("drift report lacks %q", s)
		}
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "<b>x</b>") {
		t.Error("drift report contains unescaped markup from feature names or levels")
	}
	// The PSI bars and one distribution per feature with bins.
	if got := strings.Count(html, "<svg "); got != 3 {
		t.Errorf("drift report has %d charts, want 3", got)
	}
}

func TestWriteDriftBadDetail(t *testing.T) {
	d := fixtureDrift(t, "m")
	d.Check.Breaches = json.RawMessage(`{`)
	if err := WriteDrift(&bytes.Buffer{}, d); err == nil || !strings.Contains(err.Error(), "breaches") {
		t.Errorf("WriteDrift with broken breaches: error %v, want one naming the breaches", err)
	}
}

func TestPages(t *testing.T) {
	paths := Paths{Base: "/ui"}
	created := time.Date(2026, 11, 6, 4, 0, 0, 0, time.UTC)
	m2 := &registry.Manifest{Model: "email-visit", Version: 2, CreatedAt: created, Metrics: map[string]float64{"roc_auc": 0.65, "log_loss": 0.4}}
	check := store.DriftCheck{Model: "email-visit", Day: created, Version: 2, DriftedShare: 0.25, Breached: true}
	move := registry.AliasMove{Model: "email-visit", Alias: "production", Seq: 2, Version: 2, Previous: 1, Kind: registry.KindRollback,
		MovedAt: created, MovedBy: "ann", Reason: `<img src=x onerror="alert(1)">`}
	tests := []struct {
		name    string
		render  func(*bytes.Buffer) error
		want    []string
		notWant []string
	}{
		{"index", func(b *bytes.Buffer) error {
			return WriteIndex(b, Index{Paths: paths, Who: "reader", Models: []ModelSummary{{Name: "email-visit", Versions: 2, Latest: m2, Production: m2, Drift: &check}}})
		}, []string{`href="/ui/models/email-visit"`, "0.6500", "0.4000", `href="/ui/models/email-visit/drift/2026-11-06"`, "breached", "signed in as reader"}, nil},
		{"empty index", func(b *bytes.Buffer) error { return WriteIndex(b, Index{Paths: paths}) }, []string{"holds no model yet"}, nil},
		{"model", func(b *bytes.Buffer) error {
			return WriteModel(b, ModelPage{Paths: paths, Name: "email-visit",
				Aliases:  []AliasHistory{{Current: move, History: []registry.AliasMove{move}}},
				Versions: []VersionRow{{Manifest: m2, Aliases: []string{"production"}, Verdict: &gate.Verdict{Pass: true, DisabledArms: []string{"Mens E-Mail"}}, HasReport: true}},
				Drift:    []store.DriftCheck{check}})
		}, []string{"production → v2", "rollback", "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;", `href="/ui/models/email-visit/versions/2/report"`, "passed",
			`<span class="fail">OFF</span> disabled arms, never offered: Mens E-Mail`, "25.0%"},
			[]string{"<img"}},
		{"login", func(b *bytes.Buffer) error {
			return WriteLogin(b, Login{Paths: paths, Error: "unknown <token>", Next: "/ui/models/x"})
		},
			[]string{`action="/ui/login"`, `value="/ui/models/x"`, "unknown &lt;token&gt;"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.render(&b); err != nil {
				t.Fatalf("render: %v", err)
			}
			html := b.String()
			for _, s := range tt.want {
				if !strings.Contains(html, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range append(tt.notWant, "<script") {
				if strings.Contains(html, s) {
					t.Errorf("page contains %q", s)
				}
			}
		})
	}
}

// Package report renders promoflow's HTML pages on the server: the
// training report stored with each model version (report.html), the drift
// report of a monitored day, and the registry pages of `promoflow serve`.
// Charts are SVG drawn with gonum/plot and inlined, so a page is one file
// that needs no JavaScript and no other request to show. Every page goes
// through html/template: model names, reasons and feature names come from
// users and data and are escaped.
package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"

	"github.com/promoflow/promoflow/gate"
)

//go:embed templates/*.html
var templateFS embed.FS

// funcs are the formatting helpers the templates share.
var funcs = template.FuncMap{
	"f4":   f4,
	"pct":  pct,
	"day":  func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") },
	"interval": func(c gate.Check) string {
		if c.Lower == nil || c.Upper == nil {
			return ""
		}
		return fmt.Sprintf("[%s, %s]", f4(*c.Lower), f4(*c.Upper))
	},
	"vnum": func(v int) string {
		if v <= 0 {
			return "–"
		}
		return fmt.Sprintf("v%d", v)
	},
}

// f4 formats a value with four decimals; NaN and infinities read "–".
func f4(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.4f", v)
}

// pct formats a share as a percentage with one decimal.
func pct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

// page parses the layout with one page's template.
func page(name string) *template.Template {
	return template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
}

// Templates of each page, parsed once.
var (
	trainingTmpl = page("training")
	driftTmpl    = page("drift")
	indexTmpl    = page("index")
	modelTmpl    = page("model")
	loginTmpl    = page("login")
)

// execute renders the layout of t with data to w, whole or not at all: a
// failing template writes nothing.
func execute(w io.Writer, t *template.Template, data any) error {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		return fmt.Errorf("render %s: %w", t.Name(), err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", t.Name(), err)
	}
	return nil
}

// chartOrNote keeps a chart that could be drawn and otherwise the reason
// it could not, so one bad chart does not lose the report.
type chartOrNote struct {
	SVG  template.HTML
	Note string
}

func chart(svg template.HTML, err error) chartOrNote {
	if err != nil {
		return chartOrNote{Note: err.Error()}
	}
	return chartOrNote{SVG: svg}
}

// title joins the non-empty parts of a page title.
func title(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, " · ")
}

// joinOr joins parts with ", ", or returns empty when there are none.
func joinOr(parts []string, empty string) string {
	if len(parts) == 0 {
		return empty
	}
	return strings.Join(parts, ", ")
}

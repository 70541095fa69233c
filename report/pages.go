package report

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
)

// Paths builds the links between the registry pages under a prefix such
// as "/ui". Path segments are escaped; model names are the registry's
// (letters, digits, '-', '_', '.'), so they need none in practice.
type Paths struct {
	Base string
}

// Index is the link of the front page.
func (p Paths) Index() string { return p.Base + "/" }

// Model is the link of a model's page.
func (p Paths) Model(model string) string { return p.Base + "/models/" + url.PathEscape(model) }

// Report is the link of a version's stored training report.
func (p Paths) Report(model string, version int) string {
	return p.Model(model) + "/versions/" + strconv.Itoa(version) + "/report"
}

// Drift is the link of a model's drift report of day.
func (p Paths) Drift(model string, day time.Time) string {
	return p.Model(model) + "/drift/" + day.UTC().Format(time.DateOnly)
}

// Login is the link of the sign-in form.
func (p Paths) Login() string { return p.Base + "/login" }

// Logout is the link that forgets the sign-in.
func (p Paths) Logout() string { return p.Base + "/logout" }

// ModelSummary is one model's line on the front page.
type ModelSummary struct {
	Name string
	// Versions counts the committed versions; Latest is the newest one's
	// manifest (nil without any).
	Versions int
	Latest   *registry.Manifest
	// Production is the manifest production points at; nil when unset.
	Production *registry.Manifest
	// Drift is the latest drift check; nil without one.
	Drift *store.DriftCheck
}

// Index is the registry's front page.
type Index struct {
	Paths  Paths
	Who    string // the signed-in principal
	Models []ModelSummary
	// Note explains a part that could not be shown (e.g. no drift history
	// without PostgreSQL).
	Note string
}

// AliasHistory is an alias's current move and every move before it,
// newest first.
type AliasHistory struct {
	Current registry.AliasMove
	History []registry.AliasMove
}

// VersionRow is one version on a model's page.
type VersionRow struct {
	Manifest *registry.Manifest
	Aliases  []string
	// Verdict is nil when the gate has not judged the version.
	Verdict   *gate.Verdict
	HasReport bool
}

// ModelPage is one model's page: aliases with their history, versions
// with metrics and verdicts, and the drift history.
type ModelPage struct {
	Paths    Paths
	Who      string
	Name     string
	Aliases  []AliasHistory
	Versions []VersionRow // newest first
	// Drift is the drift history, newest first.
	Drift []store.DriftCheck
	Note  string
}

// Login is the sign-in form; Error says why the last attempt failed.
type Login struct {
	Paths Paths
	Error string
	// Next is where to go after signing in (a path under Paths.Base).
	Next string
}

// pageView wraps a page's data with its title and navigation.
type pageView[T any] struct {
	Title string
	Nav   []Link
	P     T
	// Metric reads a manifest's metric for the templates; "–" when absent.
	Metric func(m *registry.Manifest, name string) string
}

func metric(m *registry.Manifest, name string) string {
	if m == nil {
		return "–"
	}
	v, ok := m.Metrics[name]
	if !ok {
		return "–"
	}
	return f4(v)
}

// WriteIndex renders the registry's front page.
func WriteIndex(w io.Writer, ix Index) error {
	return execute(w, indexTmpl, pageView[Index]{Title: "promoflow model registry", P: ix, Metric: metric})
}

// WriteModel renders a model's page.
func WriteModel(w io.Writer, mp ModelPage) error {
	v := pageView[ModelPage]{
		Title:  title(mp.Name, "promoflow model registry"),
		Nav:    []Link{{Text: "models", Href: mp.Paths.Index()}, {Text: mp.Name, Href: mp.Paths.Model(mp.Name)}},
		P:      mp,
		Metric: metric,
	}
	return execute(w, modelTmpl, v)
}

// WriteLogin renders the sign-in form.
func WriteLogin(w io.Writer, l Login) error {
	return execute(w, loginTmpl, pageView[Login]{Title: "promoflow: sign in", P: l, Metric: metric})
}

// String names a version row for links and titles.
func (v VersionRow) String() string {
	return fmt.Sprintf("%s v%d", v.Manifest.Model, v.Manifest.Version)
}

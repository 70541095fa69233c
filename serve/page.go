package serve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/report"
	"github.com/promoflow/promoflow/store"
)

// PagesBase is the URL prefix of the registry pages: read-only HTML for
// people, behind a token with the read role, that needs no JavaScript.
const PagesBase = "/ui"

// tokenCookie holds the API token of a browser signed in on the login
// form; a bearer header works too.
const tokenCookie = "promoflow_token"

// pageVersions bounds the versions listed on a model's page, newest first.
const pageVersions = 50

// pageDriftChecks bounds the drift checks listed on a model's page.
const pageDriftChecks = 30

// pageHeaders forbid scripts, outside resources and framing on every page,
// stored reports included: charts are inline SVG and styles inline.
var pageHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "no-referrer",
	"Cache-Control":           "no-store",
}

var pagePaths = report.Paths{Base: PagesBase}

// mountPages adds the registry pages to mux.
func (s *Server) mountPages(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PagesBase, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, pagePaths.Index(), http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET "+PagesBase+"/login", s.handleLoginForm)
	mux.HandleFunc("POST "+PagesBase+"/login", s.handleLogin)
	mux.HandleFunc("GET "+PagesBase+"/logout", s.handleLogout)
	mux.Handle("GET "+PagesBase+"/{$}", s.page("ui_index", s.pageIndex))
	mux.Handle("GET "+PagesBase+"/models/{model}", s.page("ui_model", s.pageModel))
	mux.Handle("GET "+PagesBase+"/models/{model}/versions/{version}/report", s.page("ui_report", s.pageReport))
	mux.Handle("GET "+PagesBase+"/models/{model}/drift/{day}", s.page("ui_drift", s.pageDrift))
}

// pageError is an error page's status and message.
type pageError struct {
	status int
	msg    string
}

func (e *pageError) Error() string { return e.msg }

// page authenticates a page request by bearer header or sign-in cookie,
// needs the read role, and counts it under route.
func (s *Server) page(route string, h func(w http.ResponseWriter, r *http.Request, who Principal) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range pageHeaders {
			w.Header().Set(k, v)
		}
		status := http.StatusOK
		defer func() { s.metrics.requests.WithLabelValues(route, "", strconv.Itoa(status)).Inc() }()
		who, ok := s.pagePrincipal(r)
		switch {
		case !ok:
			status = http.StatusUnauthorized
			w.Header().Set("WWW-Authenticate", `Bearer realm="promoflow"`)
			s.writeLogin(w, status, "", r.URL.Path)
			return
		case who.Role < RoleRead:
			status = http.StatusForbidden
			http.Error(w, "this page needs role read", status)
			return
		}
		if err := h(w, r, who); err != nil {
			var pe *pageError
			if !errors.As(err, &pe) {
				s.cfg.Logger.Error("registry page", "route", route, "path", r.URL.Path, "err", err)
				pe = &pageError{status: http.StatusInternalServerError, msg: "the page could not be built; the service log says why"}
			}
			status = pe.status
			http.Error(w, pe.msg, status)
		}
	})
}

// pagePrincipal returns who the bearer header's or the cookie's token
// belongs to.
func (s *Server) pagePrincipal(r *http.Request) (Principal, bool) {
	if p, ok := s.cfg.Tokens.authenticate(r); ok {
		return p, true
	}
	c, err := r.Cookie(tokenCookie)
	if err != nil || c.Value == "" {
		return Principal{}, false
	}
	p, ok := s.cfg.Tokens[sha256.Sum256([]byte(c.Value))]
	return p, ok
}

// writeLogin answers with the sign-in form.
func (s *Server) writeLogin(w http.ResponseWriter, status int, msg, next string) {
	var b bytes.Buffer
	if err := report.WriteLogin(&b, report.Login{Paths: pagePaths, Error: msg, Next: safeNext(next)}); err != nil {
		s.cfg.Logger.Error("login page", "err", err)
		http.Error(w, "sign-in page could not be built", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// safeNext keeps a redirect target only when it is a page of this service.
func safeNext(next string) string {
	if !strings.HasPrefix(next, PagesBase+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return pagePaths.Index()
	}
	return next
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	for k, v := range pageHeaders {
		w.Header().Set(k, v)
	}
	s.writeLogin(w, http.StatusOK, "", r.URL.Query().Get("next"))
}

// handleLogin checks the posted token and keeps it in an HttpOnly cookie
// for the pages only.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	for k, v := range pageHeaders {
		w.Header().Set(k, v)
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<14)
	if err := r.ParseForm(); err != nil {
		s.writeLogin(w, http.StatusBadRequest, "the form could not be read", "")
		return
	}
	tok, next := r.PostForm.Get("token"), r.PostForm.Get("next")
	p, ok := s.cfg.Tokens[sha256.Sum256([]byte(tok))]
	if tok == "" || !ok || p.Role < RoleRead {
		s.metrics.requests.WithLabelValues("ui_login", "", "401").Inc()
		s.writeLogin(w, http.StatusUnauthorized, "unknown token", next)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: tok, Path: PagesBase, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: int((8 * time.Hour).Seconds())})
	s.metrics.requests.WithLabelValues("ui_login", "", "303").Inc()
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: "", Path: PagesBase, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, pagePaths.Login(), http.StatusSeeOther)
}

// writePage sends a rendered page.
func writePage(w http.ResponseWriter, render func(*bytes.Buffer) error) error {
	var b bytes.Buffer
	if err := render(&b); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err := w.Write(b.Bytes())
	return err
}

// notFound maps a registry miss or an invalid name to 404.
func notFound(err error, what string) error {
	var invalid *registry.ValidationError
	if errors.Is(err, registry.ErrNotFound) || errors.As(err, &invalid) {
		return &pageError{status: http.StatusNotFound, msg: what + " not found"}
	}
	return err
}

func (s *Server) pageIndex(w http.ResponseWriter, r *http.Request, who Principal) error {
	ctx := r.Context()
	names, err := s.cfg.Registry.Models(ctx)
	if err != nil {
		return fmt.Errorf("list models: %w", err)
	}
	ix := report.Index{Paths: pagePaths, Who: who.Name}
	if s.cfg.Store == nil {
		ix.Note = "Drift history needs PostgreSQL: this service runs without it (--no-log)."
	}
	for _, name := range names {
		ms, err := s.modelSummary(ctx, name)
		if err != nil {
			return err
		}
		ix.Models = append(ix.Models, ms)
	}
	return writePage(w, func(b *bytes.Buffer) error { return report.WriteIndex(b, ix) })
}

// modelSummary is a model's line on the front page.
func (s *Server) modelSummary(ctx context.Context, name string) (report.ModelSummary, error) {
	reg := s.cfg.Registry
	ms := report.ModelSummary{Name: name}
	nums, err := reg.VersionNumbers(ctx, name)
	if err != nil {
		return ms, fmt.Errorf("versions of %s: %w", name, err)
	}
	ms.Versions = len(nums)
	if len(nums) > 0 {
		if ms.Latest, err = reg.Manifest(ctx, name, nums[len(nums)-1]); err != nil && !errors.Is(err, registry.ErrNotFound) {
			return ms, err
		}
	}
	switch prod, err := reg.Resolve(ctx, name, registry.Production); {
	case errors.Is(err, registry.ErrNotFound):
	case err != nil:
		return ms, err
	default:
		if ms.Production, err = reg.Manifest(ctx, name, prod); err != nil && !errors.Is(err, registry.ErrNotFound) {
			return ms, err
		}
	}
	if s.cfg.Store != nil {
		checks, err := s.cfg.Store.DriftChecks(ctx, name, 1)
		if err != nil {
			return ms, err
		}
		if len(checks) > 0 {
			ms.Drift = &checks[0]
		}
	}
	return ms, nil
}

func (s *Server) pageModel(w http.ResponseWriter, r *http.Request, who Principal) error {
	ctx := r.Context()
	reg := s.cfg.Registry
	name := r.PathValue("model")
	mp := report.ModelPage{Paths: pagePaths, Who: who.Name, Name: name}
	aliases, err := reg.Aliases(ctx, name)
	if err != nil {
		return notFound(err, "model")
	}
	versionAliases := map[int][]string{}
	for _, a := range aliases {
		hist, err := reg.History(ctx, name, a.Alias)
		if err != nil {
			return err
		}
		slices.Reverse(hist)
		mp.Aliases = append(mp.Aliases, report.AliasHistory{Current: a, History: hist})
		versionAliases[a.Version] = append(versionAliases[a.Version], a.Alias)
	}
	nums, err := reg.VersionNumbers(ctx, name)
	if err != nil {
		return notFound(err, "model")
	}
	if len(nums) == 0 && len(aliases) == 0 {
		return &pageError{status: http.StatusNotFound, msg: "model not found"}
	}
	slices.Reverse(nums)
	for _, n := range nums[:min(len(nums), pageVersions)] {
		row, err := s.versionRow(ctx, name, n)
		if errors.Is(err, registry.ErrNotFound) {
			continue // removed since listing
		}
		if err != nil {
			return err
		}
		row.Aliases = versionAliases[n]
		mp.Versions = append(mp.Versions, row)
	}
	if s.cfg.Store == nil {
		mp.Note = "Drift history needs PostgreSQL: this service runs without it (--no-log)."
	} else if mp.Drift, err = s.cfg.Store.DriftChecks(ctx, name, pageDriftChecks); err != nil {
		return err
	}
	return writePage(w, func(b *bytes.Buffer) error { return report.WriteModel(b, mp) })
}

// versionRow reads a version's manifest, verdict and whether it has a
// report.
func (s *Server) versionRow(ctx context.Context, model string, n int) (report.VersionRow, error) {
	reg := s.cfg.Registry
	m, err := reg.Manifest(ctx, model, n)
	if err != nil {
		return report.VersionRow{}, err
	}
	row := report.VersionRow{Manifest: m}
	added, err := reg.AddedArtifacts(ctx, model, n)
	if err != nil {
		return row, fmt.Errorf("artifacts of %s v%d: %w", model, n, err)
	}
	has := func(name string) bool {
		_, a := added[name]
		_, b := m.Artifacts[name]
		return a || b
	}
	row.HasReport = has(registry.ReportArtifact)
	if has(registry.VerdictArtifact) {
		data, err := reg.Artifact(ctx, model, n, registry.VerdictArtifact)
		if err != nil {
			return row, err
		}
		var v gate.Verdict
		if err := json.Unmarshal(data, &v); err != nil {
			return row, fmt.Errorf("verdict of %s v%d: %w", model, n, err)
		}
		row.Verdict = &v
	}
	return row, nil
}

// pageReport sends a version's stored training report.
func (s *Server) pageReport(w http.ResponseWriter, r *http.Request, _ Principal) error {
	model := r.PathValue("model")
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n < 1 {
		return &pageError{status: http.StatusNotFound, msg: "version not found"}
	}
	data, err := s.cfg.Registry.Artifact(r.Context(), model, n, registry.ReportArtifact)
	if err != nil {
		return notFound(err, "report")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err = w.Write(data)
	return err
}

// pageDrift renders a model's drift report of one day from the history.
func (s *Server) pageDrift(w http.ResponseWriter, r *http.Request, _ Principal) error {
	if s.cfg.Store == nil {
		return &pageError{status: http.StatusNotFound, msg: "drift history needs PostgreSQL: this service runs without it (--no-log)"}
	}
	ctx := r.Context()
	model := r.PathValue("model")
	day, err := store.ParseDay(r.PathValue("day"))
	if err != nil {
		return &pageError{status: http.StatusNotFound, msg: "day not found"}
	}
	checks, err := s.cfg.Store.DriftChecks(ctx, model, 0)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(checks, func(c store.DriftCheck) bool { return c.Day.Equal(day) })
	if i < 0 {
		return &pageError{status: http.StatusNotFound, msg: "drift check not found"}
	}
	features, err := s.cfg.Store.DriftFeatures(ctx, model, day)
	if err != nil {
		return err
	}
	d := report.Drift{Check: checks[i], Features: features,
		Nav: []report.Link{{Text: "models", Href: pagePaths.Index()}, {Text: model, Href: pagePaths.Model(model)}}}
	return writePage(w, func(b *bytes.Buffer) error { return report.WriteDrift(b, d) })
}

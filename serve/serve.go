// Package serve is promoflow's scoring service: an HTTP JSON API that
// scores customers with the version behind a model's `production` alias,
// allocates offers within a budget, and logs what it scored for drift
// monitoring. Batch scoring of a day's clean customers is package score.
//
// # Following production
//
// Each served model sits behind an atomic.Pointer to an immutable loaded
// version. Run polls the alias object every Poll; when it names another
// version, that version is loaded and its checksums verified
// (score.LoadVersion) before one atomic store swaps it in. A request reads the
// pointer once and scores every customer with that version, whose number it
// returns, so no request fails or mixes versions during a swap. A version
// that fails to load or verify is never swapped in; the old one keeps
// serving and the failure is counted.
//
// # Disabled arms
//
// score.LoadVersion drops the uplift arms a version's gate verdict
// (verdict.json) disabled under `gate.arms: any`: they are absent from
// every uplift map, refused by /v1/allocate and listed as disabled_arms
// in GET /v1/models, and batch scoring never scores them.
//
// # API
//
//	POST /v1/models/{model}/score    score role  {"customers": [{feature: value, ...}, ...]}
//	POST /v1/allocate                score role  customers, arms, budget → offers and report
//	GET  /v1/models                  read role   the loaded versions
//	POST /v1/models/{model}/reload   admin role  poll one model's alias now
//	GET  /healthz, /readyz, /metrics             no token
//
// Requests carry "Authorization: Bearer <token>"; tokens and their roles
// come from PROMOFLOW_API_TOKENS (see ParseTokens). Errors are JSON
// {"error": "...", "field": "..."}: 400 for malformed JSON or a missing,
// unknown or wrongly typed field (named as in customers[3].recency), 401
// without a valid token, 403 when the role is too weak, 404 for a model not
// served, 413 for a body above MaxBodyBytes, 503 while no version is loaded.
//
// Feature values are JSON numbers for numeric columns, true/false or 0/1
// for flags and strings for categorical columns. A column the model's
// schema marks required must be present and not null; other feature
// columns may be absent or null and are then imputed as in training.
// Fields that are not columns of the schema are rejected.
//
// A score response is {"model", "version", "request_id", "threshold",
// "scores": [...]}, one score per customer in request order:
// {"customer_id", "propensity", "decision", "uplift": {arm: uplift}}.
// decision is propensity >= threshold, the version's decision threshold
// (learn.Settings.Threshold); uplift holds the offered arms only.
//
// # Scoring log
//
// A scored request (a LogSample fraction of them) is queued on a bounded
// channel; a background writer drains it in batches into the scoring_log
// table with COPY. When the channel is full the rows are dropped and
// counted, so PostgreSQL never slows the response path.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/schema"
	"github.com/promoflow/promoflow/score"
	"github.com/promoflow/promoflow/store"
)

// Config configures a Server. Zero fields take the defaults named on each.
type Config struct {
	Registry *registry.Registry
	// Store receives the scoring log; nil turns logging off.
	Store *store.Store
	// Models are the model names served.
	Models []string
	// Alias is the alias followed (default registry.Production).
	Alias string
	// Poll is how often the alias objects are read (default 10s).
	Poll time.Duration
	// Tokens are the accepted API tokens; none means every request is
	// refused.
	Tokens Tokens
	// MaxBodyBytes bounds a request body (default 1 MiB); MaxCustomers the
	// customers of one request (default 10,000).
	MaxBodyBytes int64
	MaxCustomers int
	// LogSample is the fraction of scored requests logged: 0 or 1 logs
	// all (the default), 0.1 one in ten.
	LogSample float64
	// LogBuffer is the capacity of the log channel in requests (default
	// 4096); LogBatch the rows per COPY (default 1000); LogFlush the
	// longest a queued row waits (default 1s).
	LogBuffer int
	LogBatch  int
	LogFlush  time.Duration
	// Changer, when set, lets admin tokens promote, approve and roll back
	// through the API; nil answers those routes with 503.
	Changer *control.Changer
	// Logger receives the service's own log (default slog.Default()).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Alias == "" {
		c.Alias = registry.Production
	}
	if c.Poll <= 0 {
		c.Poll = 10 * time.Second
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxCustomers <= 0 {
		c.MaxCustomers = 10_000
	}
	if c.LogSample <= 0 || c.LogSample > 1 {
		c.LogSample = 1
	}
	if c.LogBuffer <= 0 {
		c.LogBuffer = 4096
	}
	if c.LogBatch <= 0 {
		c.LogBatch = 1000
	}
	if c.LogFlush <= 0 {
		c.LogFlush = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// loaded is one verified model version, never changed after it is built.
type loaded struct {
	name     string
	version  int
	model    *learn.Model
	loadedAt time.Time
	features []schema.Column // feature columns, in schema order
	columns  map[string]bool // every column name of the schema
	idColumn string          // "" when the schema has none
	arms     []string        // uplift arms offered, sorted
	disabled []string        // uplift arms the gate disabled, sorted
}

// newLoaded wraps a version as score.LoadVersion returns it: m without the
// disabled arms.
func newLoaded(name string, version int, m *learn.Model, disabled []string, at time.Time) *loaded {
	l := &loaded{name: name, version: version, model: m, loadedAt: at, columns: map[string]bool{}, disabled: disabled}
	for _, c := range m.Schema.Columns {
		l.columns[c.Name] = true
		if c.Kind.IsFeature() {
			l.features = append(l.features, c)
		}
		if c.Kind == schema.ID {
			l.idColumn = c.Name
		}
	}
	if m.Uplift != nil {
		for _, a := range m.Uplift.Arms {
			l.arms = append(l.arms, a.Arm)
		}
		slices.Sort(l.arms)
	}
	return l
}

// Server serves the models of a Config. Create it with New, serve
// Handler, and keep Run going for alias moves and the scoring log.
type Server struct {
	cfg      Config
	models   map[string]*atomic.Pointer[loaded]
	metrics  *metrics
	gatherer prometheus.Gatherer
	log      *scoreLog // nil without a store
	reqSeq   atomic.Uint64
	// bootID prefixes request ids so ids of two runs never collide.
	bootID string
}

// New builds a server. promReg receives the service's metrics; when it is
// also a prometheus.Gatherer (a *prometheus.Registry), Handler serves them
// on /metrics. nil means a fresh registry.
func New(cfg Config, promReg prometheus.Registerer) (*Server, error) {
	cfg = cfg.withDefaults()
	if cfg.Registry == nil {
		return nil, errors.New("serve: config has no registry")
	}
	if len(cfg.Models) == 0 {
		return nil, errors.New("serve: config names no model")
	}
	if promReg == nil {
		promReg = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, models: map[string]*atomic.Pointer[loaded]{}, bootID: strconv.FormatUint(rand.Uint64()&0xffffffff, 36)}
	for _, m := range cfg.Models {
		if _, dup := s.models[m]; dup {
			return nil, fmt.Errorf("serve: model %q named twice", m)
		}
		s.models[m] = new(atomic.Pointer[loaded])
	}
	met, err := newMetrics(promReg)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s.metrics = met
	if g, ok := promReg.(prometheus.Gatherer); ok {
		s.gatherer = g
	}
	if cfg.Store != nil {
		s.log = newScoreLog(cfg, met)
	}
	return s, nil
}

// Handler returns the HTTP API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/models/{model}/score", s.instrument("score", RoleScore, s.handleScore))
	mux.Handle("POST /v1/models/{model}/reload", s.instrument("reload", RoleAdmin, s.handleReload))
	mux.Handle("GET /v1/models", s.instrument("models", RoleRead, s.handleModels))
	mux.Handle("POST /v1/allocate", s.instrument("allocate", RoleScore, s.handleAllocate))
	s.mountPeople(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.handleReady)
	s.mountPages(mux)
	if s.gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	}
	return mux
}

// Ready reports whether every served model has a version loaded.
func (s *Server) Ready() bool {
	for _, p := range s.models {
		if p.Load() == nil {
			return false
		}
	}
	return true
}

// Version returns the version of model being served, 0 when none is.
func (s *Server) Version(model string) int {
	if p, ok := s.models[model]; ok {
		if l := p.Load(); l != nil {
			return l.version
		}
	}
	return 0
}

// Run loads the models, then follows their alias every Poll and writes the
// scoring log, until ctx ends; it then flushes the queued log rows (for at
// most 10s) and returns nil.
func (s *Server) Run(ctx context.Context) error {
	logDone := make(chan struct{})
	if s.log != nil {
		go func() {
			defer close(logDone)
			s.log.run(ctx, s.cfg.Store, s.cfg.Logger)
		}()
	} else {
		close(logDone)
	}
	if err := s.Refresh(ctx); err != nil {
		s.cfg.Logger.Warn("initial model load", "err", err)
	}
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			<-logDone
			return nil
		case <-t.C:
			if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("poll models", "err", err)
			}
		}
	}
}

// Refresh reads every served model's alias once and swaps in the version
// it names when that differs from the one served. Errors of single models
// are joined; the other models are still refreshed.
func (s *Server) Refresh(ctx context.Context) error {
	var errs []error
	for _, m := range s.cfg.Models {
		if _, err := s.refresh(ctx, m); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// refresh follows one model's alias and returns the version served after.
func (s *Server) refresh(ctx context.Context, model string) (int, error) {
	ptr := s.models[model]
	cur := ptr.Load()
	v, err := s.cfg.Registry.Resolve(ctx, model, s.cfg.Alias)
	if err != nil {
		s.metrics.pollErrors.WithLabelValues(model).Inc()
		return curVersion(cur), fmt.Errorf("follow %s@%s: %w", model, s.cfg.Alias, err)
	}
	if cur != nil && cur.version == v {
		return v, nil
	}
	m, disabled, err := score.LoadVersion(ctx, s.cfg.Registry, model, v)
	if err != nil {
		s.metrics.pollErrors.WithLabelValues(model).Inc()
		return curVersion(cur), err
	}
	next := newLoaded(model, v, m, disabled, time.Now())
	// Two refreshes of one model (the poller and an admin reload) may
	// race; the compare-and-swap keeps whichever stored first and the
	// loser's next poll converges.
	if !ptr.CompareAndSwap(cur, next) {
		return curVersion(ptr.Load()), nil
	}
	s.metrics.version.WithLabelValues(model).Set(float64(v))
	if cur != nil {
		s.metrics.swaps.WithLabelValues(model).Inc()
	}
	s.cfg.Logger.Info("serving model version", "model", model, "version", v, "previous", curVersion(cur), "disabled_arms", disabled)
	return v, nil
}

func curVersion(l *loaded) int {
	if l == nil {
		return 0
	}
	return l.version
}

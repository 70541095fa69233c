package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/schema"
)

// apiError is an error answered to the client.
type apiError struct {
	Status int    `json:"-"`
	Msg    string `json:"error"`
	Field  string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Msg }

func badField(field, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Field: field, Msg: field + ": " + fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b = []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, e)
}

// call is one API request in flight: the response and the model label its
// metrics carry.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	who    Principal
	model  string
	status int
}

func (c *call) json(code int, v any) {
	c.status = code
	writeJSON(c.w, code, v)
}

func (c *call) fail(e *apiError) {
	c.status = e.Status
	writeError(c.w, e)
}

// instrument authenticates and authorises a route and counts it.
func (s *Server) instrument(route string, need Role, h func(*call)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		c := &call{w: w, r: r, model: "", status: http.StatusOK}
		if m := r.PathValue("model"); m != "" {
			if _, ok := s.models[m]; ok {
				c.model = m
			} else {
				c.model = "unknown"
			}
		}
		who, ok := s.cfg.Tokens.authenticate(r)
		switch {
		case !ok:
			w.Header().Set("WWW-Authenticate", `Bearer realm="promoflow"`)
			c.fail(&apiError{Status: http.StatusUnauthorized, Msg: "missing or unknown bearer token"})
		case who.Role < need:
			c.fail(&apiError{Status: http.StatusForbidden, Msg: fmt.Sprintf("%s may %s; this route needs role %s", who.Name, who.Role, need)})
		default:
			c.who = who
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
			h(c)
		}
		code := strconv.Itoa(c.status)
		s.metrics.requests.WithLabelValues(route, c.model, code).Inc()
		s.metrics.latency.WithLabelValues(route, c.model, code).Observe(time.Since(start).Seconds())
	})
}

// model returns the version served for the request's model.
func (s *Server) model(name string) (*loaded, *apiError) {
	p, ok := s.models[name]
	if !ok {
		return nil, &apiError{Status: http.StatusNotFound, Field: "model", Msg: fmt.Sprintf("model %q is not served", name)}
	}
	l := p.Load()
	if l == nil {
		return nil, &apiError{Status: http.StatusServiceUnavailable, Field: "model", Msg: fmt.Sprintf("model %q has no version loaded yet", name)}
	}
	return l, nil
}

// decode reads the JSON body into v, rejecting unknown fields and
// trailing data, and maps failures to client errors.
func decode(r *http.Request, v any) *apiError {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Field: "body", Msg: fmt.Sprintf("body larger than %d bytes", mbe.Limit)}
		}
		return &apiError{Status: http.StatusBadRequest, Field: "body", Msg: "read body: " + err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return &apiError{Status: http.StatusBadRequest, Field: "body", Msg: fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)}
		case errors.As(err, &te):
			return badField(te.Field, "want %s, got JSON %s", te.Type, te.Value)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return &apiError{Status: http.StatusBadRequest, Field: "body", Msg: "malformed JSON: body empty or cut short"}
		default:
			// Unknown fields: "json: unknown field \"x\"".
			return &apiError{Status: http.StatusBadRequest, Field: "body", Msg: err.Error()}
		}
	}
	if dec.More() {
		return &apiError{Status: http.StatusBadRequest, Field: "body", Msg: "malformed JSON: data after the request object"}
	}
	return nil
}

// scoreRequest is the body of a score request.
type scoreRequest struct {
	Customers []map[string]any `json:"customers"`
}

// CustomerScore is the score of one customer in a response.
type CustomerScore struct {
	CustomerID string  `json:"customer_id,omitempty"`
	Propensity float64 `json:"propensity"`
	// Decision is Propensity >= the response's Threshold.
	Decision bool `json:"decision"`
	// Uplift holds the offered arms: never one the gate disabled.
	Uplift map[string]float64 `json:"uplift,omitempty"`
}

// ScoreResponse answers a score request: the version that scored every
// customer, its decision threshold, and their scores in request order.
type ScoreResponse struct {
	Model     string          `json:"model"`
	Version   int             `json:"version"`
	RequestID string          `json:"request_id"`
	Threshold float64         `json:"threshold"`
	Scores    []CustomerScore `json:"scores"`
}

// rows validates customers against l's schema and converts them to the
// raw rows the model scores. ids are the customers' id column values.
func (l *loaded) rows(customers []map[string]any, max int) (rows []map[string]string, ids []string, e *apiError) {
	if len(customers) == 0 {
		return nil, nil, badField("customers", "want at least one customer")
	}
	if len(customers) > max {
		return nil, nil, badField("customers", "%d customers, at most %d per request", len(customers), max)
	}
	rows = make([]map[string]string, len(customers))
	ids = make([]string, len(customers))
	for i, c := range customers {
		if c == nil {
			return nil, nil, badField(fmt.Sprintf("customers[%d]", i), "want an object")
		}
		for k := range c {
			if !l.columns[k] {
				return nil, nil, badField(fmt.Sprintf("customers[%d].%s", i, k), "not a column of model %s v%d", l.name, l.version)
			}
		}
		row := make(map[string]string, len(l.features))
		for _, f := range l.features {
			v, ok := c[f.Name]
			if !ok || v == nil {
				if f.Required {
					return nil, nil, badField(fmt.Sprintf("customers[%d].%s", i, f.Name), "missing required %s feature", f.Kind)
				}
				continue
			}
			s, err := featureString(f.Kind, v)
			if err != "" {
				return nil, nil, badField(fmt.Sprintf("customers[%d].%s", i, f.Name), "%s", err)
			}
			row[f.Name] = s
		}
		if l.idColumn != "" {
			switch id := c[l.idColumn].(type) {
			case nil:
			case string:
				ids[i] = id
			default:
				return nil, nil, badField(fmt.Sprintf("customers[%d].%s", i, l.idColumn), "want a string id, got %s", jsonType(id))
			}
		}
		rows[i] = row
	}
	return rows, ids, nil
}

// featureString converts a JSON value to the raw string the model's
// pipeline parses, or says why the type is wrong.
func featureString(k schema.Kind, v any) (string, string) {
	switch k {
	case schema.Numeric:
		if x, ok := v.(float64); ok {
			return strconv.FormatFloat(x, 'g', -1, 64), ""
		}
		return "", "want a number, got " + jsonType(v)
	case schema.Flag:
		switch x := v.(type) {
		case bool:
			if x {
				return "1", ""
			}
			return "0", ""
		case float64:
			if x == 0 || x == 1 {
				return strconv.FormatFloat(x, 'g', -1, 64), ""
			}
			return "", fmt.Sprintf("want true, false, 0 or 1, got %v", x)
		}
		return "", "want true, false, 0 or 1, got " + jsonType(v)
	default:
		if x, ok := v.(string); ok {
			return x, ""
		}
		return "", "want a string, got " + jsonType(v)
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "null"
}

// score scores validated rows with one loaded version.
func (l *loaded) score(rows []map[string]string) ([]learn.Score, *apiError) {
	out := make([]learn.Score, len(rows))
	for i, row := range rows {
		sc, err := l.model.Score(row)
		if err != nil {
			// The pipeline rejects a value the type check let through
			// (an infinite number, say).
			return nil, badField(fmt.Sprintf("customers[%d]", i), "%v", err)
		}
		out[i] = sc
	}
	return out, nil
}

func (s *Server) requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 128 {
		return id
	}
	return s.bootID + "-" + strconv.FormatUint(s.reqSeq.Add(1), 10)
}

func (s *Server) handleScore(c *call) {
	var req scoreRequest
	if e := decode(c.r, &req); e != nil {
		c.fail(e)
		return
	}
	l, e := s.model(c.r.PathValue("model"))
	if e != nil {
		c.fail(e)
		return
	}
	rows, ids, e := l.rows(req.Customers, s.cfg.MaxCustomers)
	if e != nil {
		c.fail(e)
		return
	}
	scores, e := l.score(rows)
	if e != nil {
		c.fail(e)
		return
	}
	th := l.model.Settings.Threshold
	resp := ScoreResponse{Model: l.name, Version: l.version, RequestID: s.requestID(c.r), Threshold: th, Scores: make([]CustomerScore, len(scores))}
	for i, sc := range scores {
		resp.Scores[i] = CustomerScore{CustomerID: ids[i], Propensity: sc.Propensity, Decision: sc.Propensity >= th, Uplift: sc.Uplift}
	}
	s.metrics.scored.WithLabelValues(l.name).Add(float64(len(scores)))
	if s.log != nil && (s.cfg.LogSample >= 1 || rand.Float64() < s.cfg.LogSample) {
		s.log.enqueue(&logEntry{at: time.Now(), model: l.name, version: l.version, requestID: resp.RequestID, ids: ids, customers: req.Customers, scores: scores})
	}
	c.json(http.StatusOK, resp)
}

// ModelInfo describes a served model in GET /v1/models.
type ModelInfo struct {
	Model    string    `json:"model"`
	Version  int       `json:"version"` // 0 while none is loaded
	LoadedAt time.Time `json:"loaded_at,omitzero"`
	Features []string  `json:"features,omitempty"`
	Arms     []string  `json:"arms,omitempty"`
	// DisabledArms are the arms the gate disabled: never offered.
	DisabledArms []string `json:"disabled_arms,omitempty"`
}

func (s *Server) handleModels(c *call) {
	out := make([]ModelInfo, 0, len(s.cfg.Models))
	for _, m := range s.cfg.Models {
		info := ModelInfo{Model: m}
		if l := s.models[m].Load(); l != nil {
			info.Version, info.LoadedAt, info.Arms, info.DisabledArms = l.version, l.loadedAt, l.arms, l.disabled
			for _, f := range l.features {
				info.Features = append(info.Features, f.Name)
			}
		}
		out = append(out, info)
	}
	c.json(http.StatusOK, map[string]any{"models": out})
}

func (s *Server) handleReload(c *call) {
	name := c.r.PathValue("model")
	if _, ok := s.models[name]; !ok {
		c.fail(&apiError{Status: http.StatusNotFound, Field: "model", Msg: fmt.Sprintf("model %q is not served", name)})
		return
	}
	v, err := s.refresh(c.r.Context(), name)
	if err != nil {
		c.fail(&apiError{Status: http.StatusBadGateway, Msg: err.Error()})
		return
	}
	s.cfg.Logger.Info("model reloaded on request", "model", name, "version", v, "by", c.who.Name)
	c.json(http.StatusOK, map[string]any{"model": name, "version": v})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	status := map[string]int{}
	for _, m := range s.cfg.Models {
		status[m] = s.Version(m)
	}
	if !s.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "versions": status})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true, "versions": status})
}

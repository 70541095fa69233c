package serve

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/promoflow/promoflow/allocate"
)

// AllocateArm is an offer arm of an allocation request.
type AllocateArm struct {
	Name string  `json:"name"`
	Cost float64 `json:"cost"`
	// Value is the revenue of one incremental conversion under the arm;
	// 0 counts conversions.
	Value float64 `json:"value,omitempty"`
	Cap   int     `json:"cap,omitempty"`
}

// AllocateRequest is the body of POST /v1/allocate.
type AllocateRequest struct {
	Model     string           `json:"model"`
	Customers []map[string]any `json:"customers"`
	Arms      []AllocateArm    `json:"arms"`
	Budget    float64          `json:"budget"`
	MinGain   float64          `json:"min_gain,omitempty"`
	Tiers     []allocate.Tier  `json:"tiers,omitempty"`
	Seed      int64            `json:"seed,omitempty"`
}

// AllocateResponse is the plan and the version that scored the customers.
type AllocateResponse struct {
	Model   string `json:"model"`
	Version int    `json:"version"`
	allocate.Plan
}

func (s *Server) handleAllocate(c *call) {
	var req AllocateRequest
	if e := decode(c.r, &req); e != nil {
		c.fail(e)
		return
	}
	if _, ok := s.models[req.Model]; ok {
		c.model = req.Model
	} else {
		c.model = "unknown"
	}
	l, e := s.model(req.Model)
	if e != nil {
		c.fail(e)
		return
	}
	if len(req.Arms) == 0 {
		c.fail(badField("arms", "want at least one arm"))
		return
	}
	arms := make([]allocate.Arm, len(req.Arms))
	var values []float64
	for i, a := range req.Arms {
		if slices.Contains(l.disabled, a.Name) {
			c.fail(badField(fmt.Sprintf("arms[%d].name", i), "arm %q of %s v%d is disabled by its gate verdict and never offered", a.Name, l.name, l.version))
			return
		}
		arms[i] = allocate.Arm{Name: a.Name, Cost: a.Cost, Cap: a.Cap}
		if a.Value != 0 {
			values = make([]float64, len(req.Arms))
		}
	}
	if values != nil {
		for i, a := range req.Arms {
			values[i] = a.Value
			if a.Value == 0 {
				values[i] = 1
			}
		}
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
	for i := range ids {
		if ids[i] == "" {
			ids[i] = fmt.Sprintf("#%d", i)
		}
	}
	customers, err := allocate.FromScores(ids, scores, arms, values)
	if err != nil {
		c.fail(badField("arms", "%v", err))
		return
	}
	plan, err := allocate.Solve(allocate.Problem{Arms: arms, Customers: customers, Budget: req.Budget, MinGain: req.MinGain, Tiers: req.Tiers, Seed: req.Seed})
	if errors.Is(err, allocate.ErrInvalid) {
		c.fail(&apiError{Status: http.StatusBadRequest, Msg: err.Error()})
		return
	}
	if err != nil {
		c.fail(&apiError{Status: http.StatusInternalServerError, Msg: err.Error()})
		return
	}
	s.metrics.scored.WithLabelValues(l.name).Add(float64(len(scores)))
	c.json(http.StatusOK, AllocateResponse{Model: l.name, Version: l.version, Plan: *plan})
}

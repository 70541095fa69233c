package serve

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/workflows"
)

// promoteRequest is the body of POST /v1/models/{model}/promote.
type promoteRequest struct {
	Version int    `json:"version"`
	Reason  string `json:"reason"`
	Force   bool   `json:"force"`
}

// rollbackRequest is the body of POST /v1/models/{model}/rollback.
type rollbackRequest struct {
	To     int    `json:"to"`
	Reason string `json:"reason"`
}

// approveRequest is the body of POST /v1/models/{model}/approve: the
// waiting run is the model's DailyRetrain of Day, or Run when given.
type approveRequest struct {
	Day     string `json:"day"`
	Run     string `json:"run"`
	Version int    `json:"version"`
	Reason  string `json:"reason"`
}

// mountPeople adds the routes people change production through. They need
// the admin role, and the token's name is the actor the audit log records.
func (s *Server) mountPeople(mux *http.ServeMux) {
	mux.Handle("POST /v1/models/{model}/promote", s.instrument("promote", RoleAdmin, s.handlePromote))
	mux.Handle("POST /v1/models/{model}/rollback", s.instrument("rollback", RoleAdmin, s.handleRollback))
	mux.Handle("POST /v1/models/{model}/approve", s.instrument("approve", RoleAdmin, s.handleApprove))
}

// changer returns the configured control.Changer and the served model named
// by the path, or fails the call.
func (s *Server) changer(c *call) (*control.Changer, string, bool) {
	name := c.r.PathValue("model")
	if _, ok := s.models[name]; !ok {
		c.fail(&apiError{Status: http.StatusNotFound, Field: "model", Msg: fmt.Sprintf("model %q is not served", name)})
		return nil, "", false
	}
	if s.cfg.Changer == nil {
		c.fail(&apiError{Status: http.StatusServiceUnavailable, Msg: "this service was started without Temporal: it cannot change production"})
		return nil, "", false
	}
	return s.cfg.Changer, name, true
}

func (s *Server) handlePromote(c *call) {
	ch, model, ok := s.changer(c)
	if !ok {
		return
	}
	var req promoteRequest
	if e := decode(c.r, &req); e != nil {
		c.fail(e)
		return
	}
	res, err := ch.Promote(c.r.Context(), workflows.PromoteInput{
		Model: model, Version: req.Version, Actor: c.who.Name, Reason: req.Reason, Force: req.Force,
	})
	if err != nil {
		s.failChange(c, err)
		return
	}
	s.cfg.Logger.Info("production promoted", "model", model, "from", res.Move.From, "to", res.Move.To, "by", c.who.Name)
	c.json(http.StatusOK, map[string]any{"model": model, "from": res.Move.From, "to": res.Move.To, "by": c.who.Name, "verdict": res.Verdict})
}

func (s *Server) handleRollback(c *call) {
	ch, model, ok := s.changer(c)
	if !ok {
		return
	}
	var req rollbackRequest
	if e := decode(c.r, &req); e != nil {
		c.fail(e)
		return
	}
	mv, err := ch.Rollback(c.r.Context(), workflows.RollbackInput{Model: model, To: req.To, Actor: c.who.Name, Reason: req.Reason})
	if err != nil {
		s.failChange(c, err)
		return
	}
	s.cfg.Logger.Info("production rolled back", "model", model, "from", mv.From, "to", mv.To, "by", c.who.Name)
	c.json(http.StatusOK, map[string]any{"model": model, "from": mv.From, "to": mv.To, "by": c.who.Name})
}

func (s *Server) handleApprove(c *call) {
	ch, model, ok := s.changer(c)
	if !ok {
		return
	}
	var req approveRequest
	if e := decode(c.r, &req); e != nil {
		c.fail(e)
		return
	}
	run := req.Run
	if run == "" && req.Day != "" {
		run = workflows.DailyWorkflowID(model, req.Day)
	}
	v, err := ch.Approve(c.r.Context(), run, workflows.ApproveRequest{Version: req.Version, Actor: c.who.Name, Reason: req.Reason})
	if err != nil {
		s.failChange(c, err)
		return
	}
	c.json(http.StatusOK, map[string]any{"model": model, "run": run, "version": v, "by": c.who.Name})
}

// failChange maps a refused change to its status: 400 for a bad request,
// 409 while another change runs, 422 with the verdict when the gate said
// no, 502 for anything else (the pipeline behind the service failed).
func (s *Server) failChange(c *call, err error) {
	var ge *control.GateError
	switch {
	case errors.Is(err, control.ErrInvalid):
		c.fail(&apiError{Status: http.StatusBadRequest, Msg: err.Error()})
	case errors.Is(err, control.ErrBusy):
		c.fail(&apiError{Status: http.StatusConflict, Msg: err.Error()})
	case errors.As(err, &ge):
		c.json(http.StatusUnprocessableEntity, map[string]any{"error": err.Error(), "verdict": ge.Verdict})
	default:
		c.fail(&apiError{Status: http.StatusBadGateway, Msg: err.Error()})
	}
}

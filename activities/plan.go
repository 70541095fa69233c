package activities

import (
	"context"

	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/workflows"
)

// Plan holds the activity that starts a run: reading the part of a
// model's configuration the run follows.
type Plan struct {
	// Config returns a model's configuration.
	Config func(model string) (config.Model, error)
}

// LoadPlan returns the part of a model's configuration a run follows.
func (p *Plan) LoadPlan(ctx context.Context, model string) (workflows.Plan, error) {
	cfg, err := modelConfig(p.Config, model)
	if err != nil {
		return workflows.Plan{}, err
	}
	return workflows.Plan{
		Model: cfg.Name, Source: cfg.Source, WindowDays: cfg.WindowDays,
		RequireApproval: cfg.Approval.Required, ApprovalTimeout: cfg.Approval.Timeout,
	}, nil
}

package control

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/promoflow/promoflow/gate"
	"github.com/promoflow/promoflow/workflows"
)

// TestRefusesIncompleteRequests checks what is refused before anything is
// started: no Temporal client is needed (a nil one would panic if used).
func TestRefusesIncompleteRequests(t *testing.T) {
	c := &Changer{}
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"promote without reason", func() error {
			_, err := c.Promote(ctx, workflows.PromoteInput{Model: "m", Version: 1, Actor: "ana"})
			return err
		}, "reason"},
		{"promote without actor", func() error {
			_, err := c.Promote(ctx, workflows.PromoteInput{Model: "m", Version: 1, Reason: "r"})
			return err
		}, "actor"},
		{"promote version 0", func() error {
			_, err := c.Promote(ctx, workflows.PromoteInput{Model: "m", Actor: "ana", Reason: "r"})
			return err
		}, "version 0"},
		{"rollback without model", func() error {
			_, err := c.Rollback(ctx, workflows.RollbackInput{Actor: "ana", Reason: "r"})
			return err
		}, "model"},
		{"approve without run", func() error {
			_, err := c.Approve(ctx, "", workflows.ApproveRequest{Version: 1, Actor: "ana", Reason: "r"})
			return err
		}, "run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want ErrInvalid naming %q", err, tt.want)
			}
		})
	}
}

func TestGateErrorNamesFailedChecks(t *testing.T) {
	err := &GateError{Verdict: gate.Verdict{Checks: []gate.Check{
		{Name: "min_auc", Pass: true}, {Name: "max_quarantine_share"}, {Name: "auc_vs_production"},
	}}}
	if got, want := err.Error(), "gate refused the promotion: failed max_quarantine_share, auc_vs_production"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

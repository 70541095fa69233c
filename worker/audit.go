package worker

import (
	"context"

	"github.com/promoflow/promoflow/metrics"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
)

// auditLog records the registry's alias moves in PostgreSQL's audit log
// and counts each move once in the metrics.
type auditLog struct {
	store   *store.Store
	metrics *metrics.Metrics
}

var _ registry.Auditor = auditLog{}

// RecordAliasMove appends a move once, however often it is retried.
func (a auditLog) RecordAliasMove(ctx context.Context, m registry.AliasMove) error {
	inserted, err := a.store.RecordAudit(ctx, store.AuditEntry{
		At: m.MovedAt, Actor: m.MovedBy, Action: m.Kind, Model: m.Model, Alias: m.Alias,
		FromVersion: m.Previous, ToVersion: m.Version, Reason: m.Reason,
		WorkflowID: m.WorkflowID, MoveID: m.MoveID,
	})
	if inserted && a.metrics != nil {
		a.metrics.ObserveMove(m.Model, m.Alias, m.Kind, m.MovedBy)
	}
	return err
}

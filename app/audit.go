package app

import (
	"context"

	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
)

// auditLog records the registry's alias moves in PostgreSQL's audit log.
type auditLog struct{ store *store.Store }

var _ registry.Auditor = auditLog{}

// RecordAliasMove appends a move once, however often it is retried.
func (a auditLog) RecordAliasMove(ctx context.Context, m registry.AliasMove) error {
	_, err := a.store.RecordAudit(ctx, store.AuditEntry{
		At: m.MovedAt, Actor: m.MovedBy, Action: m.Kind, Model: m.Model, Alias: m.Alias,
		FromVersion: m.Previous, ToVersion: m.Version, Reason: m.Reason,
		WorkflowID: m.WorkflowID, MoveID: m.MoveID,
	})
	return err
}

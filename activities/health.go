// Package activities holds promoflow's Temporal activities. Each group is a
// struct holding the clients it needs; its exported methods are the
// activities, registered by name with the worker.
package activities

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	"github.com/promoflow/promoflow/workflows"
)

// Health checks that the worker reaches its servers.
type Health struct {
	DB     *pgxpool.Pool
	MinIO  *minio.Client
	Bucket string
}

// CheckStack asks PostgreSQL for its version and MinIO whether the model
// bucket exists.
func (h *Health) CheckStack(ctx context.Context) (workflows.StackReport, error) {
	var r workflows.StackReport
	if err := h.DB.QueryRow(ctx, "SHOW server_version").Scan(&r.PostgresVersion); err != nil {
		return r, fmt.Errorf("query postgres version: %w", err)
	}
	ok, err := h.MinIO.BucketExists(ctx, h.Bucket)
	if err != nil {
		return r, fmt.Errorf("check bucket %s: %w", h.Bucket, err)
	}
	r.Bucket, r.BucketExists = h.Bucket, ok
	return r, nil
}

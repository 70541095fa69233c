package stacktest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestServeUserIsReadOnly proves the scoring service's MinIO user, created
// by `make up`, reads models but can write nothing and read nothing else.
func TestServeUserIsReadOnly(t *testing.T) {
	worker := MinIO(t)
	endpoint := Env(t, "PROMOFLOW_MINIO_ENDPOINT")
	serve, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(
		Env(t, "PROMOFLOW_MINIO_SERVE_ACCESS_KEY"), Env(t, "PROMOFLOW_MINIO_SERVE_SECRET_KEY"), "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const bucket = "promoflow"
	if ok, err := worker.BucketExists(ctx, bucket); err != nil {
		t.Fatal(err)
	} else if !ok {
		if err := worker.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	model := "models/" + Unique("sec-") + "/versions/1/model.json"
	landing := "landing/" + Unique("sec-") + "/2026-11-01/a.csv"
	body := []byte(`{"ok":true}`)
	for _, key := range []string{model, landing} {
		if _, err := worker.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("worker put %s: %v", key, err)
		}
		t.Cleanup(func() { _ = worker.RemoveObject(context.Background(), bucket, key, minio.RemoveObjectOptions{}) })
	}

	obj, err := serve.GetObject(ctx, bucket, model, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, body) {
		t.Errorf("serve user reading a model: %q, %v; want the model", got, err)
	}
	denied := func(what string, err error) {
		t.Helper()
		if code := minio.ToErrorResponse(err).Code; code != "AccessDenied" {
			t.Errorf("serve user %s: error code %q (%v), want AccessDenied", what, code, err)
		}
	}
	_, err = serve.PutObject(ctx, bucket, "models/x/aliases/production.json", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
	denied("moving an alias", err)
	denied("deleting a model", serve.RemoveObject(ctx, bucket, model, minio.RemoveObjectOptions{}))
	_, err = serve.StatObject(ctx, bucket, landing, minio.StatObjectOptions{})
	denied("reading landing data", err)
	denied("creating a bucket", serve.MakeBucket(ctx, Unique("t-"), minio.MakeBucketOptions{}))
}

// TestAppRoleIsNotPrivileged proves the application's PostgreSQL role can
// neither act as superuser nor create databases or roles.
func TestAppRoleIsNotPrivileged(t *testing.T) {
	pool := PGPool(t)
	var super, createDB, createRole bool
	err := pool.QueryRow(context.Background(),
		"SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user").Scan(&super, &createDB, &createRole)
	if err != nil {
		t.Fatal(err)
	}
	if super || createDB || createRole {
		t.Errorf("app role: superuser=%v createdb=%v createrole=%v, want all false", super, createDB, createRole)
	}
	// It cannot create a schema of its own choosing, nor tables outside
	// its schema.
	for _, sql := range []string{"CREATE SCHEMA sneaky", "CREATE TABLE public.sneaky (x int)"} {
		_, err := pool.Exec(context.Background(), sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" { // insufficient_privilege
			t.Errorf("%s as the app role: %v, want insufficient_privilege", sql, err)
		}
	}
}

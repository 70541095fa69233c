// Package stacktest gives integration tests their handles on the real local
// stack started by `make up`: PostgreSQL, MinIO and the Temporal dev server.
//
// The endpoints come from the environment written to .stack/env by
// scripts/stack.sh. When a variable is missing the test is skipped, unless
// PROMOFLOW_REQUIRE_STACK=1 (set by `make test`), in which case it fails:
// in CI an integration test can never pass by not running.
package stacktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Env reads a stack variable or skips (or fails, when the stack is required)
// the test when it is not set.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("PROMOFLOW_REQUIRE_STACK") == "1" {
			t.Fatalf("%s is not set but PROMOFLOW_REQUIRE_STACK=1: run `make up` and `source .stack/env`", name)
		}
		t.Skipf("%s not set: integration test needs the stack (make up; source .stack/env)", name)
	}
	return v
}

// Unique returns prefix followed by a random lower-case hex suffix, usable
// as a schema, bucket or workflow id that no other test run shares.
func Unique(prefix string) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b)
}

// PGURL returns a connection URL to the stack's PostgreSQL, as the app's
// role, whose search_path is a fresh schema owned by that role and dropped
// when the test ends, so tests never see each other's tables. The schema is
// made with PROMOFLOW_PG_ADMIN_URL because the app's role may not create
// schemas.
func PGURL(t testing.TB) string {
	t.Helper()
	base := Env(t, "PROMOFLOW_PG_URL")
	admin := Env(t, "PROMOFLOW_PG_ADMIN_URL")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse PROMOFLOW_PG_URL: %v", err)
	}
	schema := Unique("t_")
	adminExec(t, admin, "CREATE SCHEMA "+schema+" AUTHORIZATION "+pgx.Identifier{u.User.Username()}.Sanitize())
	t.Cleanup(func() { adminExec(t, admin, "DROP SCHEMA "+schema+" CASCADE") })
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// adminExec runs one statement with the admin URL.
func adminExec(t testing.TB, admin, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect %s: %v", redact(admin), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// PGPool connects to a fresh schema (see PGURL) and closes the pool when the
// test ends.
func PGPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return PGPoolURL(t, PGURL(t))
}

// PGPoolURL connects to url and closes the pool when the test ends.
func PGPoolURL(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", redact(url), err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// MinIO returns a client for the stack's MinIO with the worker's credentials.
func MinIO(t testing.TB) *minio.Client {
	t.Helper()
	endpoint := Env(t, "PROMOFLOW_MINIO_ENDPOINT")
	c, err := minio.New(endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(Env(t, "PROMOFLOW_MINIO_ACCESS_KEY"), Env(t, "PROMOFLOW_MINIO_SECRET_KEY"), ""),
	})
	if err != nil {
		t.Fatalf("minio client for %s: %v", endpoint, err)
	}
	return c
}

// Bucket creates a fresh bucket, removed with its objects when the test ends.
func Bucket(t testing.TB, c *minio.Client) string {
	t.Helper()
	name := strings.ReplaceAll(Unique("t-"), "_", "-")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for obj := range c.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
			if obj.Err != nil {
				t.Errorf("list %s: %v", name, obj.Err)
				return
			}
			if err := c.RemoveObject(ctx, name, obj.Key, minio.RemoveObjectOptions{VersionID: obj.VersionID}); err != nil {
				t.Errorf("remove %s/%s: %v", name, obj.Key, err)
			}
		}
		if err := c.RemoveBucket(ctx, name); err != nil {
			t.Errorf("remove bucket %s: %v", name, err)
		}
	})
	return name
}

// TemporalAddress returns the dev server's host:port.
func TemporalAddress(t testing.TB) string {
	t.Helper()
	return Env(t, "PROMOFLOW_TEMPORAL_ADDRESS")
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable url)"
	}
	return u.Redacted()
}

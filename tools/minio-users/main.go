// Command minio-users creates promoflow's least-privilege MinIO users on the
// local stack: a worker that reads and writes the promoflow bucket (and the
// t-* buckets integration tests create), and a scoring service that may only
// read models. Credentials come from the environment and are never printed.
//
// It is its own Go module so that the admin client's dependencies stay out
// of promoflow's go.mod; scripts/stack.sh builds and runs it after MinIO
// starts.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/minio/madmin-go/v3"
)

// workerPolicy lets the worker do everything with objects in its buckets,
// nothing else (no admin, no other buckets).
const workerPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["s3:*"],
     "Resource": ["arn:aws:s3:::%[1]s", "arn:aws:s3:::%[1]s/*", "arn:aws:s3:::t-*", "arn:aws:s3:::t-*/*"]}
  ]
}`

// servePolicy lets the scoring service list the bucket and read models:
// it can never write, so it can never move an alias.
const servePolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"], "Resource": ["arn:aws:s3:::%[1]s"]},
    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::%[1]s/models/*"]}
  ]
}`

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "minio-users:", err)
		os.Exit(1)
	}
}

func env(name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("%s is not set", name)
	}
	return v, nil
}

func run() error {
	var vals []string
	for _, n := range []string{
		"PROMOFLOW_MINIO_ENDPOINT", "PROMOFLOW_MINIO_ROOT_USER", "PROMOFLOW_MINIO_ROOT_PASSWORD",
		"PROMOFLOW_MINIO_BUCKET", "PROMOFLOW_MINIO_WORKER_USER", "PROMOFLOW_MINIO_WORKER_PASSWORD",
		"PROMOFLOW_MINIO_SERVE_USER", "PROMOFLOW_MINIO_SERVE_PASSWORD",
	} {
		v, err := env(n)
		if err != nil {
			return err
		}
		vals = append(vals, v)
	}
	endpoint, root, rootPW, bucket := vals[0], vals[1], vals[2], vals[3]
	adm, err := madmin.New(endpoint, root, rootPW, false)
	if err != nil {
		return fmt.Errorf("admin client for %s: %w", endpoint, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	users := []struct{ policy, doc, user, password string }{
		{"promoflow-worker", workerPolicy, vals[4], vals[5]},
		{"promoflow-serve", servePolicy, vals[6], vals[7]},
	}
	for _, u := range users {
		if err := adm.AddCannedPolicy(ctx, u.policy, []byte(fmt.Sprintf(u.doc, bucket))); err != nil {
			return fmt.Errorf("add policy %s: %w", u.policy, err)
		}
		if err := adm.AddUser(ctx, u.user, u.password); err != nil {
			return fmt.Errorf("add user %s: %w", u.user, err)
		}
		if err := adm.SetPolicy(ctx, u.policy, u.user, false); err != nil {
			return fmt.Errorf("attach policy %s to %s: %w", u.policy, u.user, err)
		}
	}
	return nil
}

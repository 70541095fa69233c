// Package control is where work starts: the configuration every promoflow
// process reads, the dialling of Temporal, PostgreSQL and MinIO, the one
// starter of workflows (with each workflow's start-or-join policy in one
// table), the schedules, and the changes people make to production —
// promote, approve, roll back — shared by the CLI and the scoring API.
package control

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/workflows"
)

// Config holds everything a promoflow process needs to reach its servers.
// Secrets are read from the environment only; flags never carry them, so
// they do not show up in process listings or shell history.
type Config struct {
	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	PGURL             string
	MinIOEndpoint     string
	MinIOAccessKey    string
	MinIOSecretKey    string
	MinIOSecure       bool
	Bucket            string
	MetricsAddr       string
	// ConfigDir holds one <model>.yaml per model.
	ConfigDir string
	// CodeVersion names the running code (set by the binary).
	CodeVersion string
	// LandingDir, when set, lets ingest read local files below it.
	LandingDir string
}

// EnvHelp documents the environment variables Config reads.
const EnvHelp = `environment:
  PROMOFLOW_TEMPORAL_ADDRESS    Temporal frontend host:port (default 127.0.0.1:7233)
  PROMOFLOW_TEMPORAL_NAMESPACE  Temporal namespace (default "default")
  PROMOFLOW_TASK_QUEUE          task queue (default "promoflow")
  PROMOFLOW_PG_URL              PostgreSQL URL, with its password (secret)
  PROMOFLOW_MINIO_ENDPOINT      MinIO host:port (default 127.0.0.1:9100)
  PROMOFLOW_MINIO_ACCESS_KEY    MinIO access key (secret)
  PROMOFLOW_MINIO_SECRET_KEY    MinIO secret key (secret)
  PROMOFLOW_MINIO_SECURE        use TLS to MinIO (default false)
  PROMOFLOW_MINIO_BUCKET        bucket for models and landing files (default "promoflow")
  PROMOFLOW_METRICS_ADDR        address for /metrics (default 127.0.0.1:9464; empty disables)
  PROMOFLOW_CONFIG_DIR          folder of per-model <model>.yaml files (default "configs")
  PROMOFLOW_LANDING_DIR         local folder ingest may read instead of MinIO (default: none)
The local stack writes these to .stack/env: load them with '. .stack/env'.
`

// FromEnv reads the configuration from the environment with defaults.
func FromEnv() Config {
	secure, _ := strconv.ParseBool(os.Getenv("PROMOFLOW_MINIO_SECURE"))
	return Config{
		TemporalAddress:   EnvOr("PROMOFLOW_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace: EnvOr("PROMOFLOW_TEMPORAL_NAMESPACE", "default"),
		TaskQueue:         EnvOr("PROMOFLOW_TASK_QUEUE", workflows.TaskQueue),
		PGURL:             os.Getenv("PROMOFLOW_PG_URL"),
		MinIOEndpoint:     EnvOr("PROMOFLOW_MINIO_ENDPOINT", "127.0.0.1:9100"),
		MinIOAccessKey:    os.Getenv("PROMOFLOW_MINIO_ACCESS_KEY"),
		MinIOSecretKey:    os.Getenv("PROMOFLOW_MINIO_SECRET_KEY"),
		MinIOSecure:       secure,
		Bucket:            EnvOr("PROMOFLOW_MINIO_BUCKET", "promoflow"),
		MetricsAddr:       EnvOr("PROMOFLOW_METRICS_ADDR", "127.0.0.1:9464"),
		ConfigDir:         EnvOr("PROMOFLOW_CONFIG_DIR", "configs"),
		LandingDir:        os.Getenv("PROMOFLOW_LANDING_DIR"),
	}
}

// BindFlags lets flags override the non-secret settings.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.TemporalAddress, "temporal", c.TemporalAddress, "Temporal frontend host:port")
	fs.StringVar(&c.TemporalNamespace, "namespace", c.TemporalNamespace, "Temporal namespace")
	fs.StringVar(&c.TaskQueue, "task-queue", c.TaskQueue, "Temporal task queue")
	fs.StringVar(&c.MinIOEndpoint, "minio", c.MinIOEndpoint, "MinIO host:port")
	fs.StringVar(&c.Bucket, "bucket", c.Bucket, "MinIO bucket")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "listen address for /metrics (empty disables)")
	fs.StringVar(&c.ConfigDir, "config-dir", c.ConfigDir, "folder of per-model <model>.yaml files")
}

// EnvOr returns the environment variable name, or def when it is unset; a
// variable set to "" stays empty (PROMOFLOW_METRICS_ADDR="" disables
// /metrics).
func EnvOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// Temporal dials the Temporal frontend, the SDK logging warnings to stderr.
func (c Config) Temporal() (client.Client, error) {
	return c.DialTemporal(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)
}

// DialTemporal dials the Temporal frontend with the SDK logging to log and
// reporting its metrics to mh (nil: none).
func (c Config) DialTemporal(log *slog.Logger, mh client.MetricsHandler) (client.Client, error) {
	cl, err := client.Dial(client.Options{
		HostPort: c.TemporalAddress, Namespace: c.TemporalNamespace,
		Logger: tlog.NewStructuredLogger(log), MetricsHandler: mh,
	})
	if err != nil {
		return nil, fmt.Errorf("dial temporal %s: %w", c.TemporalAddress, err)
	}
	return cl, nil
}

// Postgres opens a connection pool and checks that it answers.
func (c Config) Postgres(ctx context.Context) (*pgxpool.Pool, error) {
	if c.PGURL == "" {
		return nil, errNoPGURL
	}
	pool, err := pgxpool.New(ctx, c.PGURL)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redactURL(c.PGURL), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping postgres %s: %w", redactURL(c.PGURL), err)
	}
	return pool, nil
}

// MinIO builds a MinIO client.
func (c Config) MinIO() (*minio.Client, error) {
	if c.MinIOAccessKey == "" || c.MinIOSecretKey == "" {
		return nil, fmt.Errorf("PROMOFLOW_MINIO_ACCESS_KEY and PROMOFLOW_MINIO_SECRET_KEY must be set (the local stack writes them to .stack/env)")
	}
	mc, err := minio.New(c.MinIOEndpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(c.MinIOAccessKey, c.MinIOSecretKey, ""),
		Secure: c.MinIOSecure,
	})
	if err != nil {
		return nil, fmt.Errorf("minio client for %s: %w", c.MinIOEndpoint, err)
	}
	return mc, nil
}

// Store opens the PostgreSQL store (without migrating it).
func (c Config) Store(ctx context.Context) (*store.Store, error) {
	if c.PGURL == "" {
		return nil, errNoPGURL
	}
	return store.Open(ctx, c.PGURL)
}

// Registry connects to the model registry in the configured bucket.
func (c Config) Registry(opts ...registry.Option) (*registry.Registry, error) {
	mc, err := c.MinIO()
	if err != nil {
		return nil, err
	}
	return registry.New(mc, c.Bucket, opts...), nil
}

// errNoPGURL is why nothing can reach PostgreSQL.
var errNoPGURL = errors.New("PROMOFLOW_PG_URL is not set (the local stack writes it to .stack/env)")

// redactURL hides the password of a connection URL for error messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable url)"
	}
	return u.Redacted()
}

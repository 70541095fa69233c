package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/metrics"
	"github.com/promoflow/promoflow/store"
	"github.com/promoflow/promoflow/workflows"
)

// LandingPrefix is the prefix of landing files in the bucket:
// landing/<source>/<yyyy-mm-dd>/*.csv.
const LandingPrefix = "landing/"

// Ingest holds the ingest activities: listing a day's landing files and
// copying each into PostgreSQL exactly once.
type Ingest struct {
	Store *store.Store
	// MinIO and Bucket locate the landing files; MinIO may be nil when
	// every file is a local path.
	MinIO  *minio.Client
	Bucket string
	// LocalDir, when set, lets IngestFile read local files below it (a
	// quick start without MinIO); empty refuses local paths, so a workflow
	// input cannot make a worker read arbitrary files.
	LocalDir string
	// Columns returns the header a source's files must have, in any order
	// (usually the model schema's names); nil or an empty answer skips
	// the check.
	Columns func(source string) ([]string, error)
	// HeartbeatEvery is how many rows pass between heartbeats (default 10000).
	HeartbeatEvery int64
	// Metrics counts rows ingested; nil counts nothing.
	Metrics *metrics.Metrics
}

// LandingDir returns the bucket prefix holding a source's files of a day.
func LandingDir(source, day string) string {
	return LandingPrefix + source + "/" + day + "/"
}

// ListLanding returns the keys of the .csv files landed for source on day,
// sorted.
func (ig *Ingest) ListLanding(ctx context.Context, source, day string) ([]string, error) {
	if _, err := store.ParseDay(day); err != nil {
		return nil, invalidInput(err)
	}
	if ig.MinIO == nil {
		return nil, temporal.NewNonRetryableApplicationError("list landing: no MinIO client configured", "InvalidInput", nil)
	}
	prefix := LandingDir(source, day)
	var keys []string
	for obj := range ig.MinIO.ListObjects(ctx, ig.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list %s/%s: %w", ig.Bucket, prefix, obj.Err)
		}
		if strings.HasSuffix(obj.Key, ".csv") {
			keys = append(keys, obj.Key)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// IngestFile copies one landing file into raw_rows exactly once. Key is an
// object key under landing/<source>/<day>/ in the bucket, or an absolute
// local path (or file:// URL) below LocalDir for a quick start. A retry after a failure
// or a lost worker starts the file over: its rows are written in a single
// transaction, so no partial copy survives. Malformed files fail with a
// non-retryable "InvalidInput" error naming file, line and column; a file
// whose content changed after it was ingested fails with "FileChanged".
func (ig *Ingest) IngestFile(ctx context.Context, in workflows.IngestInput) (workflows.IngestResult, error) {
	day, err := store.ParseDay(in.Day)
	if err != nil {
		return workflows.IngestResult{}, invalidInput(err)
	}
	var columns []string
	if ig.Columns != nil {
		if columns, err = ig.Columns(in.Source); err != nil {
			return workflows.IngestResult{}, fmt.Errorf("columns of source %s: %w", in.Source, err)
		}
	}
	body, name, err := ig.open(ctx, in)
	if err != nil {
		return workflows.IngestResult{}, err
	}
	defer body.Close()

	opt := store.IngestOptions{ProgressEvery: ig.HeartbeatEvery}
	if activity.IsActivity(ctx) {
		log := activity.GetLogger(ctx)
		var before int64
		if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &before) == nil {
			log.Info("previous attempt died mid-file; its transaction rolled back, starting the file over", "file", in.Key, "rows_before", before)
		}
		opt.Progress = func(rows int64) { activity.RecordHeartbeat(ctx, rows) }
	}
	st, err := ig.Store.IngestCSV(ctx, store.FileKey{Source: in.Source, Day: day, File: name}, body, columns, opt)
	if err != nil {
		return workflows.IngestResult{}, classify(err)
	}
	if ig.Metrics != nil && !st.AlreadyIngested {
		ig.Metrics.AddIngested(in.Source, st.Rows)
	}
	return workflows.IngestResult{File: name, Rows: st.Rows, Bytes: st.Bytes, SHA256: st.SHA256, AlreadyIngested: st.AlreadyIngested}, nil
}

// open returns the file's content and its base name.
func (ig *Ingest) open(ctx context.Context, in workflows.IngestInput) (io.ReadCloser, string, error) {
	if p, ok := strings.CutPrefix(in.Key, "file://"); ok || filepath.IsAbs(in.Key) {
		if !ok {
			p = in.Key
		}
		if ig.LocalDir == "" {
			return nil, "", invalidInput(fmt.Errorf("local file %s: local paths are not enabled on this worker", p))
		}
		if rel, err := filepath.Rel(ig.LocalDir, filepath.Clean(p)); err != nil || !filepath.IsLocal(rel) {
			return nil, "", invalidInput(fmt.Errorf("local file %s is not under %s", p, ig.LocalDir))
		}
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil, "", invalidInput(err)
		}
		if err != nil {
			return nil, "", fmt.Errorf("open %s: %w", p, err)
		}
		return f, filepath.Base(p), nil
	}
	dir := LandingDir(in.Source, in.Day)
	if !strings.HasPrefix(in.Key, dir) || strings.Contains(strings.TrimPrefix(in.Key, dir), "/") {
		return nil, "", invalidInput(fmt.Errorf("key %q is not a file directly under %s", in.Key, dir))
	}
	if ig.MinIO == nil {
		return nil, "", temporal.NewNonRetryableApplicationError("ingest "+in.Key+": no MinIO client configured", "InvalidInput", nil)
	}
	obj, err := ig.MinIO.GetObject(ctx, ig.Bucket, in.Key, minio.GetObjectOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("get %s/%s: %w", ig.Bucket, in.Key, err)
	}
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		if code := minio.ToErrorResponse(err).Code; code == "NoSuchKey" || code == "NoSuchBucket" {
			return nil, "", invalidInput(fmt.Errorf("get %s/%s: %w", ig.Bucket, in.Key, err))
		}
		return nil, "", fmt.Errorf("get %s/%s: %w", ig.Bucket, in.Key, err)
	}
	return obj, path.Base(in.Key), nil
}

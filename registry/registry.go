// Package registry keeps promoflow's trained models in MinIO: immutable
// numbered versions with a manifest and sha256 checksums, aliases such as
// `production` moved by compare-and-swap, the history of every alias move,
// and retention.
//
// # Bucket layout
//
// Every object is JSON or an opaque artifact, readable with `mc`:
//
//	models/<model>/versions/<n>/.claim            who allocated n (run id); created with If-None-Match *
//	models/<model>/versions/<n>/<artifact>        model.json and any other artifact of the registration
//	models/<model>/versions/<n>/manifest.json     the commit marker, written last
//	models/<model>/versions/<n>/.added/<name>.json  checksum of an artifact added later (report.html, verdict.json)
//	models/<model>/runs/<run id>.json             run id → version, for idempotent registration
//	models/<model>/aliases/<alias>.json           the move that set the alias (version, previous, who, why)
//	models/<model>/aliases/<alias>/history/<seq>-<time>.json  one object per move, append-only
//
// # Versions
//
// Register allocates the next number by creating `.claim` with If-None-Match *
// (PutObjectOptions.SetMatchETagExcept("*")), trying latest+1 upward, so two
// trainers never share a number. It then records run id → number with
// If-None-Match *, uploads the artifacts and writes manifest.json last, again
// with If-None-Match *. Readers list only versions whose manifest exists, so
// a crash mid-upload leaves nothing visible; a retry with the same run id
// finds the run index, reuses the number and completes the version. A
// retried registration whose version is already complete returns the stored
// manifest and writes nothing. Numbers are unique and increasing but may
// have gaps (a trainer that died after claiming and was never retried).
//
// A committed version never changes. The manifest lists every artifact of
// the registration with its sha256 and size; Load, Verify and every alias
// move recompute them and return *IntegrityError on any difference, so a
// corrupt version is never served or promoted. Artifacts that only exist
// after registration — the HTML report, the gate's verdict.json — are added
// with AddArtifact: each name may be added once, its checksum recorded in a
// small index object under `.added/` (claimed with If-None-Match * before the
// bytes are written), never by rewriting the manifest. That is why the
// validation verdict is the artifact verdict.json rather than a manifest
// field: the gate decides after the version exists.
//
// # Aliases
//
// An alias object holds the AliasMove that set it. MoveAlias reads it with
// its ETag, checks the target version's checksums, and writes the new move
// with If-Match <etag> (If-None-Match * when the alias does not exist yet);
// when another move got there first the server answers 412 and MoveAlias
// returns *ConflictError naming the version the alias now holds. Each move
// carries a sequence number one above its predecessor's; the history object
// is keyed by it, so listing the history gives the moves in the order the
// compare-and-swap serialised them even when writers' clocks disagree. A move
// whose history write was lost (crash after the swap) is written back by the
// next move and merged in by History. Each move is also passed to the
// optional Auditor (PostgreSQL's audit log) with a unique MoveID; a caller
// that retries a move with the same MoveID (an activity retry) gets the
// committed move back and the history and audit writes are repeated, so the
// Auditor must treat MoveID as an idempotency key.
//
// Promote moves `production` and then points `previous` at the version
// production held before. Rollback moves `production` back to `previous`
// or, when that is unset, equal to production or corrupt, to the most recent
// earlier production version whose checksums verify. It never picks a
// version production was rolled back from (until it is promoted again) nor
// one that was never in production (it failed the gate), and it leaves
// `previous` alone, so a second rollback goes further back instead of
// returning to the bad model.
//
// # Retention
//
// GC keeps the newest Keep versions, every version an alias points to now,
// and every version an alias pointed to at any time within Window; it
// deletes the rest (manifest first, so a version disappears from readers
// before its artifacts go). Claims of versions that never completed are left
// in place: they hold their number and cost a few bytes. GC is meant to run
// from one place (the schedule); a concurrent MoveAlias onto a version being
// deleted is not prevented.
package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// ObjectStore is the part of *minio.Client the registry uses. Tests wrap the
// real client to inject failures.
type ObjectStore interface {
	PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, opts minio.PutObjectOptions) (minio.UploadInfo, error)
	GetObject(ctx context.Context, bucket, key string, opts minio.GetObjectOptions) (*minio.Object, error)
	StatObject(ctx context.Context, bucket, key string, opts minio.StatObjectOptions) (minio.ObjectInfo, error)
	ListObjects(ctx context.Context, bucket string, opts minio.ListObjectsOptions) <-chan minio.ObjectInfo
	RemoveObject(ctx context.Context, bucket, key string, opts minio.RemoveObjectOptions) error
	BucketExists(ctx context.Context, bucket string) (bool, error)
	MakeBucket(ctx context.Context, bucket string, opts minio.MakeBucketOptions) error
}

var _ ObjectStore = (*minio.Client)(nil)

// Auditor records alias moves outside MinIO (the PostgreSQL audit log).
// RecordAliasMove may be called more than once for the same move; m.MoveID
// identifies it.
type Auditor interface {
	RecordAliasMove(ctx context.Context, m AliasMove) error
}

// Registry is the model registry in one bucket. Its methods are safe for
// concurrent use, also across processes: all coordination is done by
// conditional writes in MinIO.
type Registry struct {
	store   ObjectStore
	bucket  string
	auditor Auditor
	// Now is the clock used for creation and move times; tests replace it
	// before first use.
	Now func() time.Time
}

// Option configures a Registry.
type Option func(*Registry)

// WithAuditor records every alias move with a, in addition to the history
// kept in MinIO.
func WithAuditor(a Auditor) Option {
	return func(r *Registry) { r.auditor = a }
}

// New returns a registry over bucket. store is usually a *minio.Client.
func New(store ObjectStore, bucket string, opts ...Option) *Registry {
	r := &Registry{store: store, bucket: bucket, Now: time.Now}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Bucket returns the bucket the registry lives in.
func (r *Registry) Bucket() string { return r.bucket }

// EnsureBucket creates the registry's bucket when it does not exist.
func (r *Registry) EnsureBucket(ctx context.Context) error {
	ok, err := r.store.BucketExists(ctx, r.bucket)
	if err != nil {
		return fmt.Errorf("check bucket %s: %w", r.bucket, err)
	}
	if ok {
		return nil
	}
	if err := r.store.MakeBucket(ctx, r.bucket, minio.MakeBucketOptions{}); err != nil {
		if c := s3Code(err); c == "BucketAlreadyOwnedByYou" || c == "BucketAlreadyExists" {
			return nil
		}
		return fmt.Errorf("make bucket %s: %w", r.bucket, err)
	}
	return nil
}

// ObjectKey returns the object key of a version's artifact, for passing
// through workflows instead of the bytes.
func ObjectKey(model string, version int, artifact string) string {
	return versionPrefix(model, version) + artifact
}

const (
	manifestName = "manifest.json"
	claimName    = ".claim"
	addedDir     = ".added/"
	// ModelArtifact is the artifact every registration must include.
	ModelArtifact = "model.json"
	// VerdictArtifact is the artifact the gate adds with its verdict.
	VerdictArtifact = "verdict.json"
	// ReportArtifact is the artifact holding a version's HTML report.
	ReportArtifact = "report.html"
)

// Well-known alias names.
const (
	Production = "production"
	Staging    = "staging"
	Previous   = "previous"
)

func modelPrefix(model string) string { return "models/" + model + "/" }

func versionsPrefix(model string) string { return modelPrefix(model) + "versions/" }

func versionPrefix(model string, v int) string {
	return versionsPrefix(model) + strconv.Itoa(v) + "/"
}

func runKey(model, runID string) string { return modelPrefix(model) + "runs/" + runID + ".json" }

func aliasKey(model, alias string) string { return modelPrefix(model) + "aliases/" + alias + ".json" }

func historyPrefix(model, alias string) string {
	return modelPrefix(model) + "aliases/" + alias + "/history/"
}

// historyKey orders moves by sequence number; the time is there for people
// reading the bucket.
func historyKey(m AliasMove) string {
	return fmt.Sprintf("%s%010d-%s.json", historyPrefix(m.Model, m.Alias), m.Seq, m.MovedAt.UTC().Format("20060102T150405.000000000Z"))
}

var (
	nameRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	artifactRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	runIDRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

func validModel(model string) error {
	if !nameRE.MatchString(model) {
		return &ValidationError{Field: "model", Value: model, Reason: "want lower-case letters, digits, '_' or '-', starting with a letter or digit, at most 63 characters"}
	}
	return nil
}

func validAlias(alias string) error {
	if !nameRE.MatchString(alias) {
		return &ValidationError{Field: "alias", Value: alias, Reason: "want lower-case letters, digits, '_' or '-', starting with a letter or digit, at most 63 characters"}
	}
	return nil
}

func validArtifact(name string) error {
	if !artifactRE.MatchString(name) || strings.Contains(name, "..") {
		return &ValidationError{Field: "artifact", Value: name, Reason: "want letters, digits, '.', '_' or '-', starting with a letter or digit, no '..', at most 128 characters"}
	}
	if name == manifestName {
		return &ValidationError{Field: "artifact", Value: name, Reason: "reserved for the registry"}
	}
	return nil
}

func validRunID(id string) error {
	if !runIDRE.MatchString(id) || strings.Contains(id, "..") {
		return &ValidationError{Field: "run id", Value: id, Reason: "want letters, digits, '.', '_' or '-', starting with a letter or digit, no '..', at most 128 characters"}
	}
	return nil
}

func validVersion(v int) error {
	if v < 1 {
		return &ValidationError{Field: "version", Value: strconv.Itoa(v), Reason: "versions start at 1"}
	}
	return nil
}

// s3Code returns the S3 error code of err, or "" when err is not an S3
// error response.
func s3Code(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code
	}
	return ""
}

func isNoSuchKey(err error) bool { return s3Code(err) == minio.NoSuchKey }

// isPreconditionFailed reports whether a conditional write lost: the
// condition did not hold (412), or S3 refused it because another
// conditional write to the key was in flight (409 ConditionalRequestConflict).
func isPreconditionFailed(err error) bool {
	c := s3Code(err)
	return c == minio.PreconditionFailed || c == "ConditionalRequestConflict"
}

// put writes data to key. With ifAbsent the write fails with
// PreconditionFailed when key exists; with ifMatch non-empty it fails unless
// key's ETag is ifMatch.
func (r *Registry) put(ctx context.Context, key string, data []byte, contentType string, ifAbsent bool, ifMatch string) (minio.UploadInfo, error) {
	opts := minio.PutObjectOptions{ContentType: contentType}
	switch {
	case ifAbsent:
		opts.SetMatchETagExcept("*")
	case ifMatch != "":
		opts.SetMatchETag(ifMatch)
	}
	return r.store.PutObject(ctx, r.bucket, key, bytes.NewReader(data), int64(len(data)), opts)
}

func (r *Registry) putJSON(ctx context.Context, key string, v any, ifAbsent bool, ifMatch string) (minio.UploadInfo, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return minio.UploadInfo{}, fmt.Errorf("encode %s: %w", key, err)
	}
	return r.put(ctx, key, append(data, '\n'), "application/json", ifAbsent, ifMatch)
}

// get reads a whole object and the ETag of what was read. A missing object
// is an error for which isNoSuchKey is true.
func (r *Registry) get(ctx context.Context, key string) ([]byte, string, error) {
	obj, err := r.store.GetObject(ctx, r.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, "", err
	}
	defer obj.Close()
	info, err := obj.Stat()
	if err != nil {
		return nil, "", err
	}
	data, err := io.ReadAll(obj)
	if err != nil {
		return nil, "", err
	}
	return data, info.ETag, nil
}

// getJSON decodes the object at key into v. found is false, with a nil
// error, when the object does not exist.
func (r *Registry) getJSON(ctx context.Context, key string, v any) (etag string, found bool, err error) {
	data, etag, err := r.get(ctx, key)
	if isNoSuchKey(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", key, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return "", false, fmt.Errorf("decode %s: %w", key, err)
	}
	return etag, true, nil
}

func (r *Registry) exists(ctx context.Context, key string) (bool, error) {
	_, err := r.store.StatObject(ctx, r.bucket, key, minio.StatObjectOptions{})
	if isNoSuchKey(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", key, err)
	}
	return true, nil
}

// list returns the keys (and, without recursion, the sub-prefixes) under
// prefix in key order.
func (r *Registry) list(ctx context.Context, prefix string, recursive bool) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var keys []string
	for obj := range r.store.ListObjects(ctx, r.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: recursive}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, obj.Err)
		}
		keys = append(keys, obj.Key)
	}
	return keys, nil
}

package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/schema"
)

// RegisterRequest is a new version to store. Artifacts must include
// model.json; the registry fills in Version, CreatedAt and the checksums.
type RegisterRequest struct {
	Model      string
	RunID      string // idempotency key: a retry with the same RunID returns the same version
	WorkflowID string

	CodeVersion string
	DataWindow  DataWindow
	Schema      schema.Schema
	Metrics     map[string]float64
	Parent      int
	Seed        int64
	Config      json.RawMessage
	// DroppedFeatures are the features selection dropped (see Manifest).
	DroppedFeatures []learn.DroppedFeature

	Artifacts map[string][]byte
}

// claim is the content of a version's .claim object.
type claim struct {
	RunID      string    `json:"run_id"`
	WorkflowID string    `json:"workflow_id"`
	ClaimedAt  time.Time `json:"claimed_at"`
}

// runIndex is the content of models/<m>/runs/<run id>.json.
type runIndex struct {
	RunID   string `json:"run_id"`
	Version int    `json:"version"`
}

func (req *RegisterRequest) validate() error {
	if err := validModel(req.Model); err != nil {
		return err
	}
	if err := validRunID(req.RunID); err != nil {
		return err
	}
	if _, ok := req.Artifacts[ModelArtifact]; !ok {
		return &ValidationError{Field: "artifacts", Value: strings.Join(slices.Sorted(maps.Keys(req.Artifacts)), ","), Reason: "must include " + ModelArtifact}
	}
	for name := range req.Artifacts {
		if err := validArtifact(name); err != nil {
			return err
		}
	}
	for name, v := range req.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return &ValidationError{Field: "metric " + name, Value: strconv.FormatFloat(v, 'g', -1, 64), Reason: "not a finite number"}
		}
	}
	if len(req.Config) > 0 && !json.Valid(req.Config) {
		return &ValidationError{Field: "config", Value: string(req.Config), Reason: "not valid JSON"}
	}
	if req.Parent < 0 {
		return &ValidationError{Field: "parent", Value: strconv.Itoa(req.Parent), Reason: "negative"}
	}
	return nil
}

// Register stores a new version and returns its manifest. It is idempotent
// by req.RunID: when that run already registered a version, the stored
// manifest is returned (the request's artifacts are not compared), and when
// an earlier attempt died mid-upload its number is reused and the version
// completed.
func (r *Registry) Register(ctx context.Context, req RegisterRequest) (*Manifest, error) {
	if err := req.validate(); err != nil {
		return nil, fmt.Errorf("register model %s: %w", req.Model, err)
	}
	n, err := r.versionForRun(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("register model %s run %s: %w", req.Model, req.RunID, err)
	}
	m, err := r.complete(ctx, req, n)
	if err != nil {
		return nil, fmt.Errorf("register model %s v%d: %w", req.Model, n, err)
	}
	return m, nil
}

// versionForRun returns the number req.RunID already holds (indexed, or
// claimed by an attempt that died before indexing it), or claims a new one,
// and indexes it.
func (r *Registry) versionForRun(ctx context.Context, req RegisterRequest) (int, error) {
	key := runKey(req.Model, req.RunID)
	var idx runIndex
	_, found, err := r.getJSON(ctx, key, &idx)
	if err != nil {
		return 0, err
	}
	if found {
		return idx.Version, nil
	}
	committed, incomplete, err := r.scanVersions(ctx, req.Model)
	if err != nil {
		return 0, err
	}
	n, err := r.findClaim(ctx, req, incomplete)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		latest := 0
		if len(committed) > 0 {
			latest = committed[len(committed)-1]
		}
		if len(incomplete) > 0 {
			latest = max(latest, incomplete[len(incomplete)-1])
		}
		if n, err = r.claim(ctx, req, latest); err != nil {
			return 0, err
		}
	}
	_, err = r.putJSON(ctx, key, runIndex{RunID: req.RunID, Version: n}, true, "")
	if err == nil {
		return n, nil
	}
	if !isPreconditionFailed(err) {
		return 0, fmt.Errorf("index run: %w", err)
	}
	// A concurrent attempt of the same run indexed a number first: use
	// that one and release ours if it differs. Releasing is best effort; a
	// claim left behind only leaves a gap in the numbering.
	if _, found, err = r.getJSON(ctx, key, &idx); err != nil || !found {
		return 0, fmt.Errorf("read run index after conflict (found %t): %w", found, err)
	}
	if idx.Version != n {
		_ = r.store.RemoveObject(ctx, r.bucket, versionPrefix(req.Model, n)+claimName, minio.RemoveObjectOptions{})
	}
	return idx.Version, nil
}

// claimScanLimit bounds how many uncommitted claims, newest first, a
// registration reads looking for its own run's: a retry follows its failed
// attempt closely, and claims of runs that never came back stay forever.
const claimScanLimit = 20

// findClaim returns the uncommitted version claimed by req.RunID, or 0.
func (r *Registry) findClaim(ctx context.Context, req RegisterRequest, incomplete []int) (int, error) {
	for i, n := range slices.Backward(incomplete) {
		if len(incomplete)-i > claimScanLimit {
			break
		}
		var c claim
		if _, found, err := r.getJSON(ctx, versionPrefix(req.Model, n)+claimName, &c); err != nil {
			return 0, err
		} else if found && c.RunID == req.RunID {
			return n, nil
		}
	}
	return 0, nil
}

// maxClaimAttempts bounds the upward search for a free number; it is only
// reached when that many trainers claim at the same moment.
const maxClaimAttempts = 1000

// claim allocates the next version number above latest by creating its
// .claim object with If-None-Match *.
func (r *Registry) claim(ctx context.Context, req RegisterRequest, latest int) (int, error) {
	c := claim{RunID: req.RunID, WorkflowID: req.WorkflowID, ClaimedAt: r.Now().UTC()}
	for n := latest + 1; n <= latest+maxClaimAttempts; n++ {
		key := versionPrefix(req.Model, n) + claimName
		_, err := r.putJSON(ctx, key, c, true, "")
		if err == nil {
			return n, nil
		}
		if !isPreconditionFailed(err) {
			return 0, fmt.Errorf("claim %s: %w", key, err)
		}
	}
	return 0, fmt.Errorf("claim a version above %d: %d numbers taken concurrently", latest, maxClaimAttempts)
}

// scanVersions lists a model's version numbers in one listing: committed
// ones (with a manifest) and claimed ones without a manifest, ascending.
func (r *Registry) scanVersions(ctx context.Context, model string) (committed, incomplete []int, err error) {
	prefix := versionsPrefix(model)
	keys, err := r.list(ctx, prefix, true)
	if err != nil {
		return nil, nil, err
	}
	seen := map[int]bool{}
	for _, k := range keys {
		n, ok := versionOfPrefix(prefix, k)
		if !ok {
			continue
		}
		if _, ok := seen[n]; !ok {
			seen[n] = false
		}
		if k == versionPrefix(model, n)+manifestName {
			seen[n] = true
		}
	}
	for _, n := range slices.Sorted(maps.Keys(seen)) {
		if seen[n] {
			committed = append(committed, n)
		} else {
			incomplete = append(incomplete, n)
		}
	}
	return committed, incomplete, nil
}

// versionOfPrefix parses "<prefix><n>/" (or a key under it) into n.
func versionOfPrefix(prefix, key string) (int, bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, "/")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || strconv.Itoa(n) != num {
		return 0, false
	}
	return n, true
}

// complete uploads the artifacts of version n and commits it by writing the
// manifest, unless it is already committed.
func (r *Registry) complete(ctx context.Context, req RegisterRequest, n int) (*Manifest, error) {
	if m, found, err := r.manifest(ctx, req.Model, n); err != nil {
		return nil, err
	} else if found {
		if m.RunID != req.RunID {
			return nil, fmt.Errorf("run index says run %s registered this version but its manifest names run %s", req.RunID, m.RunID)
		}
		return m, nil
	}
	var c claim
	if _, found, err := r.getJSON(ctx, versionPrefix(req.Model, n)+claimName, &c); err != nil {
		return nil, err
	} else if !found || c.RunID != req.RunID {
		return nil, fmt.Errorf("version is not claimed by run %s (claim found %t, run %q)", req.RunID, found, c.RunID)
	}

	m := &Manifest{
		Model:           req.Model,
		Version:         n,
		CreatedAt:       r.Now().UTC(),
		CodeVersion:     req.CodeVersion,
		DataWindow:      req.DataWindow,
		Schema:          req.Schema,
		Metrics:         req.Metrics,
		Parent:          req.Parent,
		WorkflowID:      req.WorkflowID,
		RunID:           req.RunID,
		Seed:            req.Seed,
		Config:          req.Config,
		DroppedFeatures: req.DroppedFeatures,
		Artifacts:       make(map[string]ArtifactInfo, len(req.Artifacts)),
	}
	// Sorted for a deterministic upload order (and failure point in tests).
	for _, name := range slices.Sorted(maps.Keys(req.Artifacts)) {
		data := req.Artifacts[name]
		key := versionPrefix(req.Model, n) + name
		if _, err := r.put(ctx, key, data, contentType(name), false, ""); err != nil {
			return nil, fmt.Errorf("upload %s: %w", key, err)
		}
		m.Artifacts[name] = ArtifactInfo{SHA256: sha256Hex(data), Size: int64(len(data))}
	}
	key := versionPrefix(req.Model, n) + manifestName
	if _, err := r.putJSON(ctx, key, m, true, ""); err != nil {
		if !isPreconditionFailed(err) {
			return nil, fmt.Errorf("commit %s: %w", key, err)
		}
		// A concurrent attempt of the same run committed first. Its
		// artifacts may have been overwritten by ours: check them.
		if _, _, err := r.Load(ctx, req.Model, n); err != nil {
			return nil, err
		}
		stored, _, err := r.manifest(ctx, req.Model, n)
		return stored, err
	}
	return m, nil
}

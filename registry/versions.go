package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/schema"
)

// Manifest describes one immutable model version. It is stored as
// manifest.json next to the version's artifacts.
type Manifest struct {
	Model     string    `json:"model"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	// CodeVersion names the code that trained the model (binary version and
	// git revision).
	CodeVersion string `json:"code_version"`
	// DataWindow is the training data: which days, how many rows.
	DataWindow DataWindow `json:"data_window"`
	// Schema declares the columns the model was trained on.
	Schema schema.Schema `json:"schema"`
	// Metrics are the version's validation metrics by name (auc, logloss, ...).
	Metrics map[string]float64 `json:"metrics"`
	// Parent is the version this one was trained to replace (the production
	// version at training time); 0 when there was none.
	Parent int `json:"parent,omitempty"`
	// WorkflowID and RunID identify the Temporal workflow run that
	// registered the version; RunID makes registration idempotent.
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	// Seed is the random seed of training.
	Seed int64 `json:"seed"`
	// Config is the training configuration as given.
	Config json.RawMessage `json:"config,omitempty"`
	// DroppedFeatures lists every feature Pearson selection dropped, with
	// its correlation and why.
	DroppedFeatures []learn.DroppedFeature `json:"dropped_features,omitempty"`
	// Artifacts lists every artifact stored with the registration.
	Artifacts map[string]ArtifactInfo `json:"artifacts"`
}

// DataWindow is the span of clean data a version was trained on.
type DataWindow struct {
	From string   `json:"from"` // first day, yyyy-mm-dd
	To   string   `json:"to"`   // last day, yyyy-mm-dd
	Days []string `json:"days,omitempty"`
	// Rows is the number of clean rows used.
	Rows int64 `json:"rows"`
	// Counts holds further named row counts (train, validation, quarantined).
	Counts map[string]int64 `json:"counts,omitempty"`
	// Fingerprint identifies the exact rows (e.g. a hash over the days'
	// ingest checksums), so two versions can be seen to share their data.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// ArtifactInfo is the checksum of one stored artifact.
type ArtifactInfo struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// AddedAt is set for artifacts added after registration.
	AddedAt *time.Time `json:"added_at,omitempty"`
}

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
		return &ValidationError{Field: "artifacts", Value: strings.Join(sortedKeys(req.Artifacts), ","), Reason: "must include " + ModelArtifact}
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
	for _, n := range sortedIntKeys(seen) {
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
	for _, name := range sortedKeys(req.Artifacts) {
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

// manifest reads a version's manifest; found is false when the version does
// not exist or is not committed.
func (r *Registry) manifest(ctx context.Context, model string, version int) (*Manifest, bool, error) {
	key := versionPrefix(model, version) + manifestName
	var m Manifest
	_, found, err := r.getJSON(ctx, key, &m)
	if err != nil || !found {
		return nil, found, err
	}
	if m.Model != model || m.Version != version {
		return nil, false, &IntegrityError{Model: model, Version: version, Artifact: manifestName,
			Reason: fmt.Sprintf("manifest names model %s version %d", m.Model, m.Version)}
	}
	return &m, true, nil
}

// Manifest returns a version's manifest without checking its artifacts.
func (r *Registry) Manifest(ctx context.Context, model string, version int) (*Manifest, error) {
	if err := validModel(model); err != nil {
		return nil, err
	}
	if err := validVersion(version); err != nil {
		return nil, err
	}
	m, found, err := r.manifest(ctx, model, version)
	if err != nil {
		return nil, fmt.Errorf("model %s v%d: %w", model, version, err)
	}
	if !found {
		return nil, fmt.Errorf("model %s v%d: %w", model, version, ErrNotFound)
	}
	return m, nil
}

// Load returns a version's manifest and all the artifacts it lists, after
// checking each against its recorded sha256 and size. A mismatch or missing
// artifact is an *IntegrityError.
func (r *Registry) Load(ctx context.Context, model string, version int) (*Manifest, map[string][]byte, error) {
	m, err := r.Manifest(ctx, model, version)
	if err != nil {
		return nil, nil, fmt.Errorf("load: %w", err)
	}
	if _, ok := m.Artifacts[ModelArtifact]; !ok {
		return nil, nil, fmt.Errorf("load: %w", &IntegrityError{Model: model, Version: version, Artifact: ModelArtifact, Reason: "not listed in the manifest"})
	}
	out := make(map[string][]byte, len(m.Artifacts))
	for _, name := range sortedKeys(m.Artifacts) {
		data, err := r.readVerified(ctx, model, version, name, m.Artifacts[name])
		if err != nil {
			return nil, nil, fmt.Errorf("load: %w", err)
		}
		out[name] = data
	}
	return m, out, nil
}

// Verify checks every artifact of a version against its manifest.
func (r *Registry) Verify(ctx context.Context, model string, version int) error {
	_, _, err := r.Load(ctx, model, version)
	return err
}

func (r *Registry) readVerified(ctx context.Context, model string, version int, name string, want ArtifactInfo) ([]byte, error) {
	key := versionPrefix(model, version) + name
	data, _, err := r.get(ctx, key)
	if isNoSuchKey(err) {
		return nil, &IntegrityError{Model: model, Version: version, Artifact: name, Reason: "missing", Want: want.SHA256}
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	got := sha256Hex(data)
	if got != want.SHA256 || int64(len(data)) != want.Size {
		return nil, &IntegrityError{Model: model, Version: version, Artifact: name, Reason: "sha256 mismatch",
			Want: fmt.Sprintf("%s/%d bytes", want.SHA256, want.Size), Got: fmt.Sprintf("%s/%d bytes", got, len(data))}
	}
	return data, nil
}

// Artifact returns one artifact of a version, registered or added later,
// checked against its recorded sha256.
func (r *Registry) Artifact(ctx context.Context, model string, version int, name string) ([]byte, error) {
	if err := validArtifact(name); err != nil {
		return nil, err
	}
	m, err := r.Manifest(ctx, model, version)
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", name, err)
	}
	info, ok := m.Artifacts[name]
	if !ok {
		var found bool
		if _, found, err = r.getJSON(ctx, versionPrefix(model, version)+addedDir+name+".json", &info); err != nil {
			return nil, fmt.Errorf("artifact %s: %w", name, err)
		}
		if !found {
			return nil, fmt.Errorf("model %s v%d artifact %s: %w", model, version, name, ErrNotFound)
		}
	}
	data, err := r.readVerified(ctx, model, version, name, info)
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", name, err)
	}
	return data, nil
}

// AddArtifact stores an artifact that did not exist at registration, such
// as report.html or the gate's verdict.json. Each name can be added once:
// adding the same bytes again is a no-op, different bytes are ErrImmutable.
// The checksum is recorded under .added/ before the bytes are written, so
// two concurrent adders cannot both win.
func (r *Registry) AddArtifact(ctx context.Context, model string, version int, name string, data []byte) error {
	if err := validArtifact(name); err != nil {
		return fmt.Errorf("add artifact: %w", err)
	}
	m, err := r.Manifest(ctx, model, version)
	if err != nil {
		return fmt.Errorf("add artifact %s: %w", name, err)
	}
	sum := sha256Hex(data)
	if info, ok := m.Artifacts[name]; ok {
		if info.SHA256 == sum {
			return nil
		}
		return fmt.Errorf("add artifact %s to model %s v%d: registered with other content: %w", name, model, version, ErrImmutable)
	}
	now := r.Now().UTC()
	info := ArtifactInfo{SHA256: sum, Size: int64(len(data)), AddedAt: &now}
	idxKey := versionPrefix(model, version) + addedDir + name + ".json"
	if _, err := r.putJSON(ctx, idxKey, info, true, ""); err != nil {
		if !isPreconditionFailed(err) {
			return fmt.Errorf("add artifact %s: record checksum: %w", name, err)
		}
		var prev ArtifactInfo
		if _, _, err := r.getJSON(ctx, idxKey, &prev); err != nil {
			return fmt.Errorf("add artifact %s: %w", name, err)
		}
		if prev.SHA256 != sum {
			return fmt.Errorf("add artifact %s to model %s v%d: added before with other content: %w", name, model, version, ErrImmutable)
		}
		// Same content: finish what an earlier attempt may not have.
	}
	key := versionPrefix(model, version) + name
	if _, err := r.put(ctx, key, data, contentType(name), false, ""); err != nil {
		return fmt.Errorf("add artifact %s: upload: %w", key, err)
	}
	return nil
}

// AddedArtifacts returns the artifacts added to a version after
// registration, by name.
func (r *Registry) AddedArtifacts(ctx context.Context, model string, version int) (map[string]ArtifactInfo, error) {
	if err := validModel(model); err != nil {
		return nil, err
	}
	prefix := versionPrefix(model, version) + addedDir
	keys, err := r.list(ctx, prefix, true)
	if err != nil {
		return nil, err
	}
	out := make(map[string]ArtifactInfo, len(keys))
	for _, k := range keys {
		name, ok := strings.CutSuffix(strings.TrimPrefix(k, prefix), ".json")
		if !ok {
			continue
		}
		var info ArtifactInfo
		if _, found, err := r.getJSON(ctx, k, &info); err != nil {
			return nil, err
		} else if found {
			out[name] = info
		}
	}
	return out, nil
}

// Models returns the names of all models with anything stored, sorted.
func (r *Registry) Models(ctx context.Context) ([]string, error) {
	keys, err := r.list(ctx, "models/", false)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		name, ok := strings.CutSuffix(strings.TrimPrefix(k, "models/"), "/")
		if ok && nameRE.MatchString(name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// VersionNumbers returns the committed versions of a model (those with a
// manifest), ascending.
func (r *Registry) VersionNumbers(ctx context.Context, model string) ([]int, error) {
	if err := validModel(model); err != nil {
		return nil, err
	}
	committed, _, err := r.scanVersions(ctx, model)
	return committed, err
}

// Versions returns the manifests of a model's committed versions, ascending.
func (r *Registry) Versions(ctx context.Context, model string) ([]*Manifest, error) {
	nums, err := r.VersionNumbers(ctx, model)
	if err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", model, err)
	}
	out := make([]*Manifest, 0, len(nums))
	for _, n := range nums {
		m, found, err := r.manifest(ctx, model, n)
		if err != nil {
			return nil, fmt.Errorf("list versions of %s: v%d: %w", model, n, err)
		}
		if found { // not removed by GC since listing
			out = append(out, m)
		}
	}
	return out, nil
}

// VersionInfo is everything known about one version.
type VersionInfo struct {
	Manifest *Manifest
	// Added are the artifacts added after registration.
	Added map[string]ArtifactInfo
	// Aliases are the aliases pointing at the version now, sorted.
	Aliases []string
	// Verdict is the content of verdict.json when the gate has added it.
	Verdict json.RawMessage
}

// Describe returns a version's manifest, added artifacts, current aliases
// and verdict. It does not check model.json; see Verify.
func (r *Registry) Describe(ctx context.Context, model string, version int) (*VersionInfo, error) {
	m, err := r.Manifest(ctx, model, version)
	if err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	added, err := r.AddedArtifacts(ctx, model, version)
	if err != nil {
		return nil, fmt.Errorf("describe model %s v%d: %w", model, version, err)
	}
	info := &VersionInfo{Manifest: m, Added: added}
	aliases, err := r.Aliases(ctx, model)
	if err != nil {
		return nil, fmt.Errorf("describe model %s v%d: %w", model, version, err)
	}
	for _, a := range aliases {
		if a.Version == version {
			info.Aliases = append(info.Aliases, a.Alias)
		}
	}
	_, registered := m.Artifacts[VerdictArtifact]
	if _, ok := added[VerdictArtifact]; ok || registered {
		v, err := r.Artifact(ctx, model, version, VerdictArtifact)
		if err != nil {
			return nil, fmt.Errorf("describe model %s v%d: %w", model, version, err)
		}
		info.Verdict = v
	}
	return info, nil
}

func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".json"):
		return "application/json"
	case strings.HasSuffix(name, ".html"):
		return "text/html; charset=utf-8"
	default:
		return "application/octet-stream"
	}
}

func sortedIntKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// errorsAsIntegrity reports whether err holds an *IntegrityError.
func errorsAsIntegrity(err error) bool {
	var ie *IntegrityError
	return errors.As(err, &ie)
}

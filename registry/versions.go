package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

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
	for _, name := range slices.Sorted(maps.Keys(m.Artifacts)) {
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

// errorsAsIntegrity reports whether err holds an *IntegrityError.
func errorsAsIntegrity(err error) bool {
	var ie *IntegrityError
	return errors.As(err, &ie)
}

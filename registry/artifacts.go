package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

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

package registry

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// GCPolicy says which versions of a model to keep.
type GCPolicy struct {
	// Keep is how many of the newest versions to keep; at least 1.
	Keep int
	// Window keeps every version an alias pointed to at any time in the
	// last Window, besides the ones aliases point to now.
	Window time.Duration
	// DryRun reports what would be removed without removing it.
	DryRun bool
}

// KeptVersion is a version GC keeps and why.
type KeptVersion struct {
	Version int      `json:"version"`
	Reasons []string `json:"reasons"`
}

// GCReport is the outcome of GC.
type GCReport struct {
	Model  string        `json:"model"`
	DryRun bool          `json:"dry_run"`
	Kept   []KeptVersion `json:"kept"`
	// Removed are the versions removed, or that would be with DryRun.
	Removed []int `json:"removed"`
	// Incomplete are claimed numbers whose registration never committed;
	// GC leaves them.
	Incomplete []int `json:"incomplete,omitempty"`
}

// GC removes the versions of a model that policy does not keep (see the
// package documentation).
func (r *Registry) GC(ctx context.Context, model string, policy GCPolicy) (GCReport, error) {
	if err := validModel(model); err != nil {
		return GCReport{}, fmt.Errorf("gc: %w", err)
	}
	if policy.Keep < 1 {
		return GCReport{}, fmt.Errorf("gc: %w", &ValidationError{Field: "keep", Value: strconv.Itoa(policy.Keep), Reason: "keep at least the newest version"})
	}
	if policy.Window < 0 {
		return GCReport{}, fmt.Errorf("gc: %w", &ValidationError{Field: "window", Value: policy.Window.String(), Reason: "negative"})
	}
	rep := GCReport{Model: model, DryRun: policy.DryRun}
	nums, incomplete, err := r.scanVersions(ctx, model)
	if err != nil {
		return rep, fmt.Errorf("gc %s: %w", model, err)
	}
	reasons, err := r.retained(ctx, model, nums, policy)
	if err != nil {
		return rep, fmt.Errorf("gc %s: %w", model, err)
	}
	for _, v := range nums {
		if why, ok := reasons[v]; ok {
			rep.Kept = append(rep.Kept, KeptVersion{Version: v, Reasons: why})
		} else {
			rep.Removed = append(rep.Removed, v)
		}
	}
	rep.Incomplete = incomplete
	if policy.DryRun {
		return rep, nil
	}
	for _, v := range rep.Removed {
		if err := r.removeVersion(ctx, model, v); err != nil {
			return rep, fmt.Errorf("gc %s: %w", model, err)
		}
	}
	return rep, nil
}

// retained maps each version to keep to the reasons for keeping it.
func (r *Registry) retained(ctx context.Context, model string, nums []int, policy GCPolicy) (map[int][]string, error) {
	keep := map[int][]string{}
	for i, v := range slices.Backward(nums) {
		if len(nums)-i > policy.Keep {
			break
		}
		keep[v] = append(keep[v], fmt.Sprintf("newest %d", policy.Keep))
	}
	aliases, err := r.Aliases(ctx, model)
	if err != nil {
		return nil, err
	}
	cutoff := r.Now().Add(-policy.Window)
	for _, a := range aliases {
		keep[a.Version] = append(keep[a.Version], a.Alias)
		hist, err := r.History(ctx, model, a.Alias)
		if err != nil {
			return nil, err
		}
		inWindow := map[int]bool{}
		for _, m := range hist {
			if m.MovedAt.After(cutoff) {
				inWindow[m.Version] = true
				inWindow[m.Previous] = true
			} else {
				clear(inWindow) // only the move in effect at the cutoff counts
				inWindow[m.Version] = true
			}
		}
		for v := range inWindow {
			if v > 0 && v != a.Version {
				keep[v] = append(keep[v], a.Alias+" within "+policy.Window.String())
			}
		}
	}
	for v := range keep {
		slices.Sort(keep[v])
		keep[v] = slices.Compact(keep[v])
	}
	return keep, nil
}

// removeVersion deletes the manifest first, so readers stop seeing the
// version, then its other objects, its run index entry and finally its
// claim.
func (r *Registry) removeVersion(ctx context.Context, model string, v int) error {
	m, found, err := r.manifest(ctx, model, v)
	if err != nil {
		return err
	}
	prefix := versionPrefix(model, v)
	rm := func(key string) error {
		if err := r.store.RemoveObject(ctx, r.bucket, key, minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("remove %s: %w", key, err)
		}
		return nil
	}
	if err := rm(prefix + manifestName); err != nil {
		return err
	}
	keys, err := r.list(ctx, prefix, true)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k == prefix+claimName || strings.HasSuffix(k, "/") {
			continue
		}
		if err := rm(k); err != nil {
			return err
		}
	}
	if found {
		var idx runIndex
		if _, ok, err := r.getJSON(ctx, runKey(model, m.RunID), &idx); err != nil {
			return err
		} else if ok && idx.Version == v {
			if err := rm(runKey(model, m.RunID)); err != nil {
				return err
			}
		}
	}
	return rm(prefix + claimName)
}

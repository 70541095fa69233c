package registry

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Ref names a version the way people type it: "churn" (the latest
// version), "churn@production" (an alias) or "churn/7" (a number; "churn/v7"
// also works).
type Ref struct {
	Model   string
	Alias   string // set for model@alias
	Version int    // set for model/n
}

// String formats the reference as ParseRef reads it.
func (ref Ref) String() string {
	switch {
	case ref.Alias != "":
		return ref.Model + "@" + ref.Alias
	case ref.Version > 0:
		return ref.Model + "/" + strconv.Itoa(ref.Version)
	default:
		return ref.Model
	}
}

// ParseRef parses "model", "model@alias" or "model/n".
func ParseRef(s string) (Ref, error) {
	if model, alias, ok := strings.Cut(s, "@"); ok {
		if err := validModel(model); err != nil {
			return Ref{}, err
		}
		if err := validAlias(alias); err != nil {
			return Ref{}, err
		}
		return Ref{Model: model, Alias: alias}, nil
	}
	if model, num, ok := strings.Cut(s, "/"); ok {
		if err := validModel(model); err != nil {
			return Ref{}, err
		}
		n, err := strconv.Atoi(strings.TrimPrefix(num, "v"))
		if err != nil || n < 1 {
			return Ref{}, &ValidationError{Field: "version", Value: num, Reason: "want a positive number"}
		}
		return Ref{Model: model, Version: n}, nil
	}
	if err := validModel(s); err != nil {
		return Ref{}, err
	}
	return Ref{Model: s}, nil
}

// ResolveRef returns the version number a reference names: the alias's
// target, the given number, or the latest committed version.
func (r *Registry) ResolveRef(ctx context.Context, ref Ref) (int, error) {
	switch {
	case ref.Alias != "":
		return r.Resolve(ctx, ref.Model, ref.Alias)
	case ref.Version > 0:
		return ref.Version, nil
	}
	nums, err := r.VersionNumbers(ctx, ref.Model)
	if err != nil {
		return 0, fmt.Errorf("resolve %s: %w", ref, err)
	}
	if len(nums) == 0 {
		return 0, fmt.Errorf("resolve %s: no versions: %w", ref, ErrNotFound)
	}
	return nums[len(nums)-1], nil
}

package registry

import (
	"errors"
	"fmt"
)

// ErrNotFound is wrapped by errors about a model, version, alias or artifact
// that does not exist.
var ErrNotFound = errors.New("not found")

// ErrImmutable is wrapped by errors about writing an artifact that already
// exists with different content.
var ErrImmutable = errors.New("immutable")

// ValidationError reports a request the registry refuses: a malformed name,
// a missing artifact, a metric that is not a finite number. Retrying it
// cannot succeed.
type ValidationError struct {
	Field  string // what was wrong: "model", "alias", "artifact", "run id", ...
	Value  string // the offending value
	Reason string
}

// Error implements error.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// ConflictError reports an alias move that lost a race or whose expectation
// about the alias's current version did not hold.
type ConflictError struct {
	Model string
	Alias string
	// Current is the version the alias points to now; 0 when it is unset.
	Current int
	// Expected is the version the caller expected, when it said so.
	Expected *int
}

// Error implements error.
func (e *ConflictError) Error() string {
	now := "unset"
	if e.Current > 0 {
		now = fmt.Sprintf("at version %d", e.Current)
	}
	if e.Expected != nil {
		return fmt.Sprintf("alias %s of model %s: expected version %d, alias is %s", e.Alias, e.Model, *e.Expected, now)
	}
	return fmt.Sprintf("alias %s of model %s: moved concurrently, alias is now %s", e.Alias, e.Model, now)
}

// IntegrityError reports an artifact whose stored bytes do not match the
// checksum or size recorded for it, or that is missing. The version must not
// be served or promoted.
type IntegrityError struct {
	Model    string
	Version  int
	Artifact string
	Reason   string // e.g. "sha256 mismatch", "missing"
	Want     string // recorded sha256 (and size), when relevant
	Got      string // sha256 (and size) of what is stored, when relevant
}

// Error implements error.
func (e *IntegrityError) Error() string {
	s := fmt.Sprintf("model %s version %d artifact %s: integrity check failed: %s", e.Model, e.Version, e.Artifact, e.Reason)
	if e.Want != "" || e.Got != "" {
		s += fmt.Sprintf(" (recorded %s, stored %s)", e.Want, e.Got)
	}
	return s
}

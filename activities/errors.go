package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
)

// invalidInput makes err a non-retryable "InvalidInput" application error.
func invalidInput(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", err)
}

// classify makes the store's errors about the input non-retryable and
// leaves the rest (a lost connection, a timeout) to the retry policy.
func classify(err error) error {
	var ie *store.InputError
	var ce *store.ChangedError
	switch {
	case errors.As(err, &ce):
		return temporal.NewNonRetryableApplicationError(err.Error(), "FileChanged", err)
	case errors.As(err, &ie), errors.Is(err, clean.ErrBadConfig), errors.Is(err, store.ErrNoFiles):
		return invalidInput(err)
	}
	return err
}

// nonRetryableIf marks registry errors that no retry can fix.
func nonRetryableIf(err error) error {
	var (
		conflict  *registry.ConflictError
		integrity *registry.IntegrityError
		invalid   *registry.ValidationError
	)
	switch {
	case errors.As(err, &conflict):
		return temporal.NewNonRetryableApplicationError(err.Error(), "Conflict", err)
	case errors.As(err, &integrity):
		return temporal.NewNonRetryableApplicationError(err.Error(), "Integrity", err)
	case errors.As(err, &invalid), errors.Is(err, registry.ErrNotFound):
		return invalidInput(err)
	}
	return err
}

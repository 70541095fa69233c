package workflows

import "time"

// Plan is the part of a model's configuration that shapes a run.
type Plan struct {
	Model           string
	Source          string
	WindowDays      int
	RequireApproval bool
	ApprovalTimeout time.Duration
}

// CleanInput names the day of a model's source to clean.
type CleanInput struct {
	Model  string
	Source string
	Day    string
}

// CleanResult counts what cleaning a day did; RowsIn = Clean + Quarantined.
type CleanResult struct {
	RowsIn      int64
	Clean       int64
	Quarantined int64
	ByRule      map[string]int64
}

// ValidateInput asks for a challenger to be judged against production.
type ValidateInput struct {
	Model   string
	Version int
	Day     string
}

// MoveInput asks for an alias to point at a version.
type MoveInput struct {
	Model      string
	Alias      string
	To         int
	Actor      string
	Reason     string
	WorkflowID string
	// KeepPrevious makes the old target of the alias the new `previous`.
	KeepPrevious bool
}

// MoveResult says where the alias pointed before and after.
type MoveResult struct {
	Alias string
	From  int
	To    int
}

package workflows

import "time"

// The activity names workflows call. The worker registers each activity
// under exactly one of these names.
const (
	ActLoadPlan    = "LoadPlan"
	ActListLanding = "ListLanding"
	ActIngestFile  = "IngestFile"
	ActCleanDay    = "CleanDay"
	ActTrainModel  = "TrainModel"
	ActValidate    = "ValidateModel"
	ActMoveAlias   = "MoveAlias"
	ActRollback    = "RollbackAlias"
	ActRecordRun   = "RecordRun"
	ActFindRun     = "FindFinishedRun"
	ActWriteReport = "WriteReport"
)

// Search attribute names registered on the dev server by `make up`.
const (
	SAModel   = "PromoflowModel"
	SADay     = "PromoflowDay"
	SAVersion = "PromoflowVersion"
)

// Plan is the part of a model's configuration that shapes a run.
type Plan struct {
	Model           string
	Source          string
	WindowDays      int
	RequireApproval bool
	ApprovalTimeout time.Duration
}

// IngestInput names one landing file of a source and day.
type IngestInput struct {
	Source string
	Day    string // yyyy-mm-dd
	Key    string // object key in the landing bucket, or a local path
}

// IngestResult says what ingesting one file did.
type IngestResult struct {
	File            string
	Rows            int64
	Bytes           int64
	SHA256          string
	AlreadyIngested bool
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

// TrainInput asks for a model trained on the window of clean days ending at Day.
type TrainInput struct {
	Model      string
	Source     string
	Day        string
	WindowDays int
	WorkflowID string
	RunID      string
	NoCache    bool
}

// TrainResult names the registered version and what it learned from.
type TrainResult struct {
	Version     int
	Rows        int
	Fingerprint string
	Metrics     map[string]float64
	// Reused is true when an identical training key had already produced
	// Version, so nothing was retrained.
	Reused bool
	// Note says what a person should know about the step, e.g. that the
	// training cache was bypassed because the code has no identity.
	Note string `json:",omitempty"`
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

// RollbackInput asks for production to go back to To, or to `previous`
// (or the last version that verifies) when To is 0.
type RollbackInput struct {
	Model      string
	To         int
	Actor      string
	Reason     string
	WorkflowID string
}

// PriorRun is an earlier run that already decided a model's day.
type PriorRun struct {
	Found      bool
	WorkflowID string
	RunID      string
	Status     string
	Version    int
}

// RunRecord is a run's row in PostgreSQL's run history.
type RunRecord struct {
	WorkflowID string
	RunID      string
	Model      string
	Day        string
	Status     string
	Version    int
	Steps      []StepOutcome
	StartedAt  time.Time
	FinishedAt time.Time
}

// StepOutcome is what one step of a run did.
type StepOutcome struct {
	Step   string
	Status string // ok, skipped, failed, rejected, waiting
	Detail string
}

// ReportInput asks for a version's training report.
type ReportInput struct {
	Model   string
	Version int
}

// ReportResult says where the report is.
type ReportResult struct {
	// Artifact is the report's name in the version (report.html).
	Artifact string
	Bytes    int
	// Existing is true when the version already had its report (a retry,
	// or a report rendered earlier from data that changed since).
	Existing bool
}

package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/promoflow/promoflow/drift"
)

// MonitorWorkflowID is the one workflow id of a model's monitored day.
func MonitorWorkflowID(model, day string) string { return "monitor-" + model + "-" + day }

// MonitorInput asks for one model's day to be checked.
type MonitorInput struct {
	Model string
	Day   string // yyyy-mm-dd; empty means the scheduled day
}

// DriftInput asks ComputeDrift for a model's day.
type DriftInput struct {
	Model string
	Day   string
}

// Realised is the production version's performance on a day's labelled rows.
type Realised struct {
	Rows    int
	AUC     float64
	LogLoss float64
	ECE     float64
	// ReferenceAUC is the version's validation AUC; AUCDrop = ReferenceAUC − AUC.
	ReferenceAUC float64
	AUCDrop      float64
}

// DriftReport is one monitored day of a model's production version.
type DriftReport struct {
	Model   string
	Day     string
	Version int
	Rows    int64
	// Features holds every feature's result and the score's (kind score).
	Features []drift.Result
	Summary  drift.Summary
	Realised *Realised `json:",omitempty"`
	Breaches []drift.Breach
	// Limits are those the day was judged by.
	Limits drift.MonitorLimits
}

// RecordDriftInput asks for a report to be stored in the drift history.
type RecordDriftInput struct {
	Report     DriftReport
	WorkflowID string
}

// MonitorResult says what MonitorDrift found and did.
type MonitorResult struct {
	Model    string
	Day      string
	Version  int
	Breaches []drift.Breach
	// Streak is the number of consecutive breached checks ending today.
	Streak     int
	RolledBack bool
	Rollback   *MoveResult `json:",omitempty"`
	// Skipped says why a due rollback did not happen (cool-down).
	Skipped string `json:",omitempty"`
}

// MonitorDrift checks a model's day: drift of every feature and of the
// score against the production version's training data, realised
// performance once labels arrive. It stores the check in the drift history
// (which exposes it as metrics) and, when checks have breached a rollback
// limit K times in a row and production has not moved within the
// cool-down, rolls production back through the Rollback child workflow.
func MonitorDrift(ctx workflow.Context, in MonitorInput) (MonitorResult, error) {
	if in.Day == "" {
		in.Day = scheduledDay(ctx)
	}
	res := MonitorResult{Model: in.Model, Day: in.Day}
	short := workflow.WithActivityOptions(ctx, shortOpts())
	data := workflow.WithActivityOptions(ctx, dataOpts())

	var rep DriftReport
	if err := workflow.ExecuteActivity(data, ActComputeDrift, DriftInput{Model: in.Model, Day: in.Day}).Get(ctx, &rep); err != nil {
		return res, fmt.Errorf("compute drift of %s %s: %w", in.Model, in.Day, err)
	}
	res.Version, res.Breaches = rep.Version, rep.Breaches
	wfID := workflow.GetInfo(ctx).WorkflowExecution.ID
	if err := workflow.ExecuteActivity(short, ActRecordDrift, RecordDriftInput{Report: rep, WorkflowID: wfID}).Get(ctx, &res.Streak); err != nil {
		return res, fmt.Errorf("record drift of %s %s: %w", in.Model, in.Day, err)
	}
	k := max(rep.Limits.Consecutive, 1)
	if len(rep.Breaches) == 0 || res.Streak < k {
		return res, nil
	}

	var movedAt time.Time
	if err := workflow.ExecuteActivity(short, ActProductionMovedAt, in.Model).Get(ctx, &movedAt); err != nil {
		return res, fmt.Errorf("last production move of %s: %w", in.Model, err)
	}
	if age := workflow.Now(ctx).Sub(movedAt); !movedAt.IsZero() && age < rep.Limits.CoolDown {
		res.Skipped = fmt.Sprintf("cool-down: production moved %s ago, under %s", age.Round(time.Minute), rep.Limits.CoolDown)
		workflow.GetLogger(ctx).Warn("automatic rollback skipped", "model", in.Model, "reason", res.Skipped)
		return res, nil
	}

	reasons := make([]string, len(rep.Breaches))
	for i, b := range rep.Breaches {
		reasons[i] = b.String()
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: "rollback-" + in.Model + "-" + in.Day,
	})
	rb := RollbackInput{
		Model: in.Model, Actor: "monitor",
		Reason: "automatic: " + strings.Join(reasons, "; "),
	}
	var mv MoveResult
	if err := workflow.ExecuteChildWorkflow(cctx, RollbackWorkflow, rb).Get(ctx, &mv); err != nil {
		return res, fmt.Errorf("automatic rollback of %s: %w", in.Model, err)
	}
	res.RolledBack, res.Rollback = true, &mv
	return res, nil
}

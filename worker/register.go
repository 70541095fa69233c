package worker

import (
	"go.temporal.io/sdk/activity"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/promoflow/promoflow/activities"
	"github.com/promoflow/promoflow/workflows"
)

// activitySet is every activity group a worker runs.
type activitySet struct {
	health   *activities.Health
	ingest   *activities.Ingest
	clean    *activities.Clean
	plan     *activities.Plan
	train    *activities.Train
	validate *activities.Validate
	aliases  *activities.Aliases
	runs     *activities.Runs
	reports  *activities.Reports
	scoring  *activities.Scoring
	drift    *activities.Drift
}

// register puts every workflow and activity on the worker, by name, so a
// workflow and the activities it calls always agree on names.
func register(w sdkworker.Registry, a activitySet) {
	for name, wf := range map[string]any{
		workflows.StackCheckWorkflow:   workflows.StackCheck,
		workflows.DailyRetrainWorkflow: workflows.DailyRetrain,
		workflows.IngestDayWorkflow:    workflows.IngestDay,
		workflows.MonitorDriftWorkflow: workflows.MonitorDrift,
		workflows.ScoreDayWorkflow:     workflows.ScoreDay,
		workflows.PromoteWorkflow:      workflows.Promote,
		workflows.RollbackWorkflow:     workflows.Rollback,
	} {
		w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: name})
	}
	for name, act := range map[string]any{
		workflows.ActCheckStack:        a.health.CheckStack,
		workflows.ActListLanding:       a.ingest.ListLanding,
		workflows.ActIngestFile:        a.ingest.IngestFile,
		workflows.ActCleanDay:          a.clean.CleanDay,
		workflows.ActLoadPlan:          a.plan.LoadPlan,
		workflows.ActTrainModel:        a.train.TrainModel,
		workflows.ActValidate:          a.validate.ValidateModel,
		workflows.ActMoveAlias:         a.aliases.MoveAlias,
		workflows.ActRollback:          a.aliases.RollbackAlias,
		workflows.ActRecordRun:         a.runs.RecordRun,
		workflows.ActFindRun:           a.runs.FindFinishedRun,
		workflows.ActScorePartition:    a.scoring.ScorePartition,
		workflows.ActResolveAlias:      a.aliases.ResolveAlias,
		workflows.ActWriteReport:       a.reports.WriteReport,
		workflows.ActComputeDrift:      a.drift.ComputeDrift,
		workflows.ActRecordDrift:       a.drift.RecordDrift,
		workflows.ActProductionMovedAt: a.drift.ProductionMovedAt,
	} {
		w.RegisterActivityWithOptions(act, activity.RegisterOptions{Name: name})
	}
}

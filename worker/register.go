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
	health  *activities.Health
	data    *activities.Data
	models  *activities.Models
	scoring *activities.Scoring
	drift   *activities.Drift
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
		workflows.ActListLanding:       a.data.ListLanding,
		workflows.ActIngestFile:        a.data.IngestFile,
		workflows.ActCleanDay:          a.data.CleanDay,
		workflows.ActLoadPlan:          a.models.LoadPlan,
		workflows.ActTrainModel:        a.models.TrainModel,
		workflows.ActValidate:          a.models.ValidateModel,
		workflows.ActMoveAlias:         a.models.MoveAlias,
		workflows.ActRollback:          a.models.RollbackAlias,
		workflows.ActRecordRun:         a.models.RecordRun,
		workflows.ActFindRun:           a.models.FindFinishedRun,
		workflows.ActScorePartition:    a.scoring.ScorePartition,
		workflows.ActResolveAlias:      a.models.ResolveAlias,
		workflows.ActWriteReport:       a.models.WriteReport,
		workflows.ActComputeDrift:      a.drift.ComputeDrift,
		workflows.ActRecordDrift:       a.drift.RecordDrift,
		workflows.ActProductionMovedAt: a.drift.ProductionMovedAt,
	} {
		w.RegisterActivityWithOptions(act, activity.RegisterOptions{Name: name})
	}
}

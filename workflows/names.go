package workflows

// TaskQueue is the task queue every promoflow worker polls.
const TaskQueue = "promoflow"

// The workflow names. The worker registers each workflow under exactly one
// of these names, and clients and parent workflows start them by it.
const (
	DailyRetrainWorkflow = "DailyRetrain"
	IngestDayWorkflow    = "IngestDay"
	ScoreDayWorkflow     = "ScoreDay"
	MonitorDriftWorkflow = "MonitorDrift"
	PromoteWorkflow      = "Promote"
	RollbackWorkflow     = "Rollback"
	StackCheckWorkflow   = "StackCheck"
)

// The activity names workflows call. The worker registers each activity
// under exactly one of these names: the name of the method that runs it.
const (
	ActCheckStack        = "CheckStack"
	ActLoadPlan          = "LoadPlan"
	ActFindRun           = "FindFinishedRun"
	ActRecordRun         = "RecordRun"
	ActListLanding       = "ListLanding"
	ActIngestFile        = "IngestFile"
	ActCleanDay          = "CleanDay"
	ActTrainModel        = "TrainModel"
	ActValidate          = "ValidateModel"
	ActWriteReport       = "WriteReport"
	ActMoveAlias         = "MoveAlias"
	ActRollback          = "RollbackAlias"
	ActResolveAlias      = "ResolveAlias"
	ActScorePartition    = "ScorePartition"
	ActComputeDrift      = "ComputeDrift"
	ActRecordDrift       = "RecordDrift"
	ActProductionMovedAt = "ProductionMovedAt"
)

// ProductionAlias is the alias people and the scoring service follow; it
// is the registry's Production, named here because workflows may not
// import the registry (it talks to MinIO).
const ProductionAlias = "production"

// Search attribute names registered on the dev server by `make up`.
const (
	SAModel   = "PromoflowModel"
	SADay     = "PromoflowDay"
	SAVersion = "PromoflowVersion"
)

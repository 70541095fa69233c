// Package workflows holds promoflow's Temporal workflows, one file per
// workflow: daily.go (DailyRetrain), ingest.go (IngestDay), score.go
// (ScoreDay), monitor.go (MonitorDrift), promote.go (Promote), rollback.go
// (Rollback) and stackcheck.go (StackCheck). names.go names every workflow
// and activity they start.
//
// Workflow code is deterministic: it reads time through workflow.Now, never
// ranges over maps, and does all I/O through activities named by their
// registered names.
package workflows

package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"
)

// IngestDayInput asks for one day of a model's source to be ingested and
// cleaned, without training.
type IngestDayInput struct {
	Model string
	Day   string
	// Keys, when set, are the files to ingest; otherwise every file landed
	// for the source and day.
	Keys []string
}

// IngestDayResult says what ingesting and cleaning a day did.
type IngestDayResult struct {
	Ingest IngestSummary
	Clean  CleanResult
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

// IngestSummary adds up the files of a day.
type IngestSummary struct {
	Files           int
	Rows            int64
	AlreadyIngested int
}

// String describes the summary for a run's step outcome.
func (s IngestSummary) String() string {
	return fmt.Sprintf("%d files, %d rows (%d files already ingested)", s.Files, s.Rows, s.AlreadyIngested)
}

// IngestWorkflowID is the workflow id of a model's ingest of a day.
func IngestWorkflowID(model, day string) string { return "ingest-" + model + "-" + day }

// ingestFiles ingests the files one after another; each file is its own
// idempotent activity, so a retried day re-ingests nothing.
func ingestFiles(ctx workflow.Context, source, day string, keys []string) (IngestSummary, error) {
	sum := IngestSummary{Files: len(keys)}
	for _, key := range keys {
		var r IngestResult
		if err := workflow.ExecuteActivity(ctx, ActIngestFile, IngestInput{Source: source, Day: day, Key: key}).Get(ctx, &r); err != nil {
			return sum, err
		}
		sum.Rows += r.Rows
		if r.AlreadyIngested {
			sum.AlreadyIngested++
		}
	}
	return sum, nil
}

// IngestDay ingests a day's landing files (or the named ones) into
// PostgreSQL and cleans the day.
func IngestDay(ctx workflow.Context, in IngestDayInput) (IngestDayResult, error) {
	short := workflow.WithActivityOptions(ctx, shortOpts())
	data := workflow.WithActivityOptions(ctx, dataOpts())
	var res IngestDayResult
	var plan Plan
	if err := workflow.ExecuteActivity(short, ActLoadPlan, in.Model).Get(ctx, &plan); err != nil {
		return res, fmt.Errorf("plan: %w", err)
	}
	keys := in.Keys
	if len(keys) == 0 {
		if err := workflow.ExecuteActivity(short, ActListLanding, plan.Source, in.Day).Get(ctx, &keys); err != nil {
			return res, fmt.Errorf("list landing: %w", err)
		}
	}
	var err error
	if res.Ingest, err = ingestFiles(data, plan.Source, in.Day, keys); err != nil {
		return res, fmt.Errorf("ingest: %w", err)
	}
	if err := workflow.ExecuteActivity(data, ActCleanDay, CleanInput{Model: in.Model, Source: plan.Source, Day: in.Day}).Get(ctx, &res.Clean); err != nil {
		return res, fmt.Errorf("clean: %w", err)
	}
	return res, nil
}

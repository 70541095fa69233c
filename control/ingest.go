package control

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/promoflow/promoflow/clean"
	"github.com/promoflow/promoflow/store"
)

// LocalIngest is one source's day of local CSV files to ingest and clean
// in this process, without Temporal (a quick start).
type LocalIngest struct {
	Source string
	Day    string
	// Files are the paths of the CSV files, ingested in this order.
	Files []string
	// Clean holds the schema the files' header must match and the
	// cleaning rules of the day.
	Clean clean.Config
}

// IngestLocal ingests each file exactly once (a file ingested before is
// reported as such), calling file after each, then cleans the day. The
// store's errors come back as they are: a malformed file names its line
// and column.
func IngestLocal(ctx context.Context, st *store.Store, in LocalIngest, file func(path string, s store.IngestStats)) (store.CleanResult, error) {
	day, err := store.ParseDay(in.Day)
	if err != nil {
		return store.CleanResult{}, err
	}
	for _, path := range in.Files {
		s, err := ingestFile(ctx, st, store.FileKey{Source: in.Source, Day: day, File: filepath.Base(path)}, path, in.Clean.Schema.Names())
		if err != nil {
			return store.CleanResult{}, err
		}
		file(path, s)
	}
	res, err := st.Clean(ctx, in.Source, day, in.Clean, nil)
	if err != nil {
		return res, fmt.Errorf("clean %s %s: %w", in.Source, in.Day, err)
	}
	return res, nil
}

// ingestFile ingests the local file at path under key.
func ingestFile(ctx context.Context, st *store.Store, key store.FileKey, path string, columns []string) (store.IngestStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return store.IngestStats{}, err
	}
	defer f.Close()
	return st.IngestCSV(ctx, key, f, columns, store.IngestOptions{})
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/synth"
)

func init() {
	register(&command{
		name:    "land",
		summary: "drop dated daily CSVs (Hillstrom's real data or generated) in the landing area, optionally with a bad day and drift",
		run:     runLand,
	})
}

func runLand(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, fs := configFlagSet("land", "--source S --days N [--hillstrom FILE] [--bad-day K] [--drift-day K] [--out-dir DIR]")
	source := fs.String("source", "email", "landing source folder")
	days := fs.Int("days", 6, "number of days")
	start := fs.String("start", synth.DefaultStart.Format(time.DateOnly), "first day, yyyy-mm-dd")
	hill := fs.String("hillstrom", "", "Hillstrom's hillstrom.csv; when absent or unreadable, generated data is used")
	rowsPerDay := fs.Int("rows-per-day", 10000, "rows per day of generated data")
	seed := fs.Int64("seed", 42, "seed of generated data, faults and drift")
	badDay := fs.Int("bad-day", 0, "1-based day whose export is broken (0 = none)")
	badRows := fs.Float64("bad-rows", 0.3, "fraction of the bad day's rows that are faulty")
	driftDay := fs.Int("drift-day", 0, "1-based first day whose customers drift (0 = none)")
	driftShift := fs.Float64("drift-shift", 1.5, "size of the drift")
	outDir := fs.String("out-dir", "", "write DIR/<day>/part-0.csv instead of uploading to MinIO")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	day0, err := time.Parse(time.DateOnly, *start)
	if err != nil {
		return fmt.Errorf("--start %q: want yyyy-mm-dd", *start)
	}
	if *days < 1 || *badDay < 0 || *badDay > *days || *driftDay < 0 || *driftDay > *days {
		return fmt.Errorf("--days must be positive and --bad-day/--drift-day within 1..%d: %w", *days, errUsage)
	}
	tbl, origin, err := landTable(*hill, *days, *rowsPerDay, *seed, day0)
	if err != nil {
		return err
	}
	var up *minio.Client
	if *outDir == "" {
		if up, err = cfg.MinIO(); err != nil {
			return err
		}
	}
	dj, _ := tbl.Col(synth.ColDay)
	for d := 0; d < *days; d++ {
		day := day0.AddDate(0, 0, d).Format(time.DateOnly)
		part := &dataset.Table{Header: tbl.Header}
		for _, r := range tbl.Rows {
			if r[dj] == day {
				part.Rows = append(part.Rows, r)
			}
		}
		note := ""
		if *driftDay > 0 && d+1 >= *driftDay {
			if err := synth.Shift(part, *driftShift, *seed+int64(d)); err != nil {
				return err
			}
			note = fmt.Sprintf(" (drifted by %.1f)", *driftShift)
		}
		if d+1 == *badDay {
			synth.InjectFaults(part, *badRows, *seed+int64(d))
			note += fmt.Sprintf(" (broken export: %.0f%% faulty rows)", 100**badRows)
		}
		key, err := landDay(ctx, cfg, up, *outDir, *source, day, part)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  %s  %6d rows  %s%s\n", day, len(part.Rows), key, note)
	}
	_, err = fmt.Fprintf(stdout, "landed %d days of %s\n", *days, origin)
	return err
}

// landDay writes a day's rows as part-0.csv: below outDir when it is set,
// else to the landing area in MinIO through up. It returns where the file went.
func landDay(ctx context.Context, cfg *control.Config, up *minio.Client, outDir, source, day string, part *dataset.Table) (string, error) {
	var buf bytes.Buffer
	if err := part.Write(&buf, ','); err != nil {
		return "", fmt.Errorf("encode %s: %w", day, err)
	}
	if outDir != "" {
		path := filepath.Join(outDir, day, "part-0.csv")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		return path, os.WriteFile(path, buf.Bytes(), 0o644)
	}
	key := "landing/" + source + "/" + day + "/part-0.csv"
	if _, err := up.PutObject(ctx, cfg.Bucket, key, &buf, int64(buf.Len()), minio.PutObjectOptions{ContentType: "text/csv"}); err != nil {
		return "", fmt.Errorf("land %s: %w", key, err)
	}
	return key, nil
}

// landTable is Hillstrom's data spread over days when the file can be read,
// or generated data of the same shape.
func landTable(hill string, days, rowsPerDay int, seed int64, start time.Time) (*dataset.Table, string, error) {
	if hill != "" {
		src, err := dataset.ReadFile(hill, dataset.Options{})
		switch {
		case err == nil:
			tbl, err := synth.FromHillstrom(src, days, start)
			return tbl, "Hillstrom's e-mail test (" + hill + ")", err
		case !errors.Is(err, os.ErrNotExist):
			return nil, "", fmt.Errorf("read %s: %w", hill, err)
		}
	}
	return synth.Generate(synth.Config{Rows: rowsPerDay * days, Days: days, Seed: seed, Start: start}), "generated data (seed " + fmt.Sprint(seed) + ")", nil
}

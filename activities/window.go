package activities

import (
	"context"
	"time"

	"github.com/promoflow/promoflow/config"
	"github.com/promoflow/promoflow/dataset"
	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/store"
)

// modelConfig returns a model's configuration from get; a model without
// a usable one is bad input.
func modelConfig(get func(model string) (config.Model, error), model string) (config.Model, error) {
	cfg, err := get(model)
	if err != nil {
		return config.Model{}, invalidInput(err)
	}
	return cfg, nil
}

// loadWindow loads the clean rows of the model's window of days ending at
// day and splits them into training rows and the holdout
// (learn.SplitHoldout): training, validation and the report all see the
// same split.
func loadWindow(ctx context.Context, st *store.Store, cfg config.Model, day string) (train, holdout *dataset.Table, w registry.DataWindow, err error) {
	to, err := store.ParseDay(day)
	if err != nil {
		return nil, nil, w, invalidInput(err)
	}
	from := to.AddDate(0, 0, -(cfg.WindowDays - 1))
	tbl, fp, err := st.LoadClean(ctx, cfg.Source, from, to)
	if err != nil {
		return nil, nil, w, classify(err)
	}
	train, holdout = learn.SplitHoldout(tbl, cfg.HoldoutFraction)
	w = registry.DataWindow{
		From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
		Rows: int64(len(tbl.Rows)), Fingerprint: string(fp),
		Counts: map[string]int64{"train": int64(len(train.Rows)), "holdout": int64(len(holdout.Rows))},
	}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		w.Days = append(w.Days, d.Format(time.DateOnly))
	}
	return train, holdout, w, nil
}

package serve

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/promoflow/promoflow/learn"
	"github.com/promoflow/promoflow/store"
)

// logEntry is one scored request waiting to be logged. Its slices are not
// touched by the handler once queued.
type logEntry struct {
	at        time.Time
	model     string
	version   int
	requestID string
	ids       []string
	customers []map[string]any
	scores    []learn.Score
}

// scoreLog is the bounded queue between the handlers and PostgreSQL.
type scoreLog struct {
	ch      chan *logEntry
	batch   int
	flush   time.Duration
	metrics *metrics
}

func newScoreLog(cfg Config, m *metrics) *scoreLog {
	return &scoreLog{ch: make(chan *logEntry, cfg.LogBuffer), batch: cfg.LogBatch, flush: cfg.LogFlush, metrics: m}
}

// enqueue queues e without blocking; a full queue drops it and counts its
// rows.
func (l *scoreLog) enqueue(e *logEntry) {
	select {
	case l.ch <- e:
	default:
		l.metrics.logDropped.Add(float64(len(e.scores)))
	}
}

// run drains the queue in batches of up to l.batch rows, at least every
// l.flush, until ctx ends; then it writes what is still queued.
func (l *scoreLog) run(ctx context.Context, st *store.Store, log *slog.Logger) {
	var rows []store.ScoreLogRow
	write := func(ctx context.Context) {
		if len(rows) == 0 {
			return
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		n, err := st.InsertScoreLog(wctx, rows)
		cancel()
		l.metrics.logWritten.Add(float64(n))
		if err != nil {
			l.metrics.logFailed.Add(float64(len(rows)) - float64(n))
			log.Warn("write scoring log", "rows", len(rows), "err", err)
		}
		rows = rows[:0]
	}
	t := time.NewTicker(l.flush)
	defer t.Stop()
	for {
		select {
		case e := <-l.ch:
			rows = appendRows(rows, e)
			if len(rows) >= l.batch {
				write(ctx)
			}
		case <-t.C:
			write(ctx)
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			for {
				select {
				case e := <-l.ch:
					rows = appendRows(rows, e)
					if len(rows) >= l.batch {
						write(final)
					}
				default:
					write(final)
					return
				}
			}
		}
	}
}

// appendRows turns a logged request into one row per customer.
func appendRows(rows []store.ScoreLogRow, e *logEntry) []store.ScoreLogRow {
	for i, sc := range e.scores {
		feats, err := json.Marshal(e.customers[i])
		if err != nil {
			feats = []byte("{}")
		}
		rows = append(rows, store.ScoreLogRow{
			At: e.at, Model: e.model, Version: e.version, RequestID: e.requestID, CustomerID: e.ids[i],
			Features: feats, Propensity: sc.Propensity, Uplift: sc.Uplift,
		})
	}
	return rows
}

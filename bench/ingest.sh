#!/usr/bin/env bash
# ingest.sh: rows/s of promoflow's COPY ingest (store.IngestCSV: parse,
# checksum, binary COPY into raw_rows, one transaction) against psql \copy
# of the same rows into the same table, side by side, and their ratio
# (goal: >= 0.8).
#
# Both sides load an empty raw_rows (primary key included) in a scratch
# schema; psql gets the rows already shaped as raw_rows lines
# (source, day, file, line, {fields}), so it does strictly less work.
# Each side runs BENCH_INGEST_RUNS times and keeps its best run.
#
#   PROMOFLOW_PG_URL=... bench/ingest.sh     (make up; . .stack/env)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ROWS=${BENCH_INGEST_ROWS:-500000}
RUNS=${BENCH_INGEST_RUNS:-3}
: "${PROMOFLOW_PG_URL:?PROMOFLOW_PG_URL is not set: make up; . .stack/env}"
command -v psql >/dev/null || { echo "bench/ingest.sh: psql not found" >&2; exit 1; }

tmp=$(mktemp -d)
schema=bench_ingest_$$
cleanup() {
	psql "$PROMOFLOW_PG_ADMIN_URL" -q -v ON_ERROR_STOP=1 -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# The same rows twice: as the landing CSV and as raw_rows lines for psql.
awk -v n="$ROWS" -v csv="$tmp/day.csv" -v raw="$tmp/raw.csv" 'BEGIN {
	split("new loyal lapsed vip", seg, " ")
	print "customer_id,age,orders,segment,treated,converted,spend,visits,days_since,email_opens" > csv
	srand(42)
	for (i = 0; i < n; i++) {
		line = sprintf("c%08d,%d,%d,%s,%d,%d,%.2f,%d,%d,%d", i, 18 + int(rand() * 70), int(rand() * 6), seg[1 + i % 4],
			i % 2, rand() < 0.1, rand() * 400, int(rand() * 30), int(rand() * 365), int(rand() * 12))
		print line > csv
		printf "bench,2026-03-02,day.csv,%d,\"{%s}\"\n", i + 2, line > raw
	}
}'
bytes=$(stat -c %s "$tmp/day.csv")
printf 'ingest bench: %d rows, %.1f MB CSV, best of %d runs each\n' "$ROWS" "$(echo "$bytes" | awk '{print $1/1e6}')" "$RUNS"

# promoflow: the Go benchmark, one ingest per run into an empty table.
go_best=$(PROMOFLOW_BENCH_CSV="$tmp/day.csv" go test -run '^$' -bench '^BenchmarkIngestCSV$' -benchtime 1x -count "$RUNS" ./store/ |
	awk '/^BenchmarkIngestCSV/ { for (i = 1; i < NF; i++) if ($(i + 1) == "rows/s" && $i > best) best = $i } END { if (best == "") exit 1; printf "%.0f", best }')

# psql \copy into raw_rows created by the same migrations.
# The app's role may not create schemas; the admin URL makes one it owns.
app_role=$(psql "$PROMOFLOW_PG_URL" -Atc "SELECT current_user")
psql "$PROMOFLOW_PG_ADMIN_URL" -q -v ON_ERROR_STOP=1 -c "CREATE SCHEMA $schema AUTHORIZATION $app_role" >/dev/null
export PGOPTIONS="-c search_path=$schema"
for f in store/migrations/*.sql; do
	psql "$PROMOFLOW_PG_URL" -q -v ON_ERROR_STOP=1 -f "$f" >/dev/null
done
psql_best=0
for _ in $(seq "$RUNS"); do
	psql "$PROMOFLOW_PG_URL" -q -v ON_ERROR_STOP=1 -c "TRUNCATE raw_rows" >/dev/null
	start=$(date +%s.%N)
	psql "$PROMOFLOW_PG_URL" -q -v ON_ERROR_STOP=1 \
		-c "\\copy raw_rows (source, day, file, line, fields) FROM '$tmp/raw.csv' WITH (FORMAT csv)" >/dev/null
	end=$(date +%s.%N)
	psql_best=$(awk -v n="$ROWS" -v s="$start" -v e="$end" -v b="$psql_best" 'BEGIN { r = n / (e - s); printf "%.0f", (r > b ? r : b) }')
done
unset PGOPTIONS

awk -v g="$go_best" -v p="$psql_best" 'BEGIN {
	printf "%-28s %12s rows/s\n", "promoflow ingest (COPY)", g
	printf "%-28s %12s rows/s\n", "psql \\copy", p
	r = g / p
	printf "ratio promoflow/psql: %.2f (goal >= 0.80) %s\n", r, (r >= 0.8 ? "OK" : "BELOW GOAL")
}'

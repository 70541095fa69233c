#!/usr/bin/env bash
# demo.sh: what `make demo` runs. Starts the local stack and a worker, lands
# six days of the e-mail campaign data (Hillstrom's real data when
# ../shared/data is there, generated data otherwise), and walks through a
# model's life: scheduled training, promotion through the gate, a bad day
# rejected, a manual promotion, drift and an automatic rollback, and the
# audit trail. Safe to run twice: every step is idempotent.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

scripts/stack.sh up
# shellcheck disable=SC1091
. .stack/env
export PROMOFLOW_CONFIG_DIR=$ROOT/configs PROMOFLOW_ACTOR=${PROMOFLOW_ACTOR:-demo-engineer}
BIN=$ROOT/bin/promoflow
MODEL=email-visit
SHARED=${PROMOFLOW_SHARED_DATA:-$ROOT/../shared/data}
mkdir -p .stack/logs

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
pf() { printf '$ promoflow %s\n' "$*"; "$BIN" "$@"; }

"$BIN" worker >.stack/logs/demo-worker.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null || true' EXIT

say "0. The stack answers: a workflow on Temporal runs an activity that reaches PostgreSQL and MinIO"
pf check

say "1. Six days of e-mail campaign data land in MinIO (day 4 is a broken export, day 6 has drifted)"
pf land --source email --days 6 --hillstrom "$SHARED/hillstrom.csv" --bad-day 4 --drift-day 6

say "2. The daily schedule: 06:00 UTC, overlap skip, 72 h catch-up; paused so only the backfill runs now"
pf schedule create "$MODEL" --cron "0 6 * * *" --tz UTC || true
pf schedule create "$MODEL" --kind monitor --cron "0 9 * * *" --tz UTC || true
pf schedule pause "$MODEL" --kind monitor --note "demo: monitored by hand below"
pf schedule pause "$MODEL" --note "demo: backfill only"
pf schedule backfill "$MODEL" --from 2026-11-01 --to 2026-11-03 --wait 5m
pf runs ls "$MODEL"
pf models ls "$MODEL"
echo "Version 3 decides 'visit' above a threshold chosen on validation by F1, not 0.5; Pearson selection's"
echo "drops are on record, and its probabilities stay calibrated whatever class weighting the search picked:"
printf '$ promoflow models show %s/3   (metrics and dropped features)\n' "$MODEL"
"$BIN" models show "$MODEL/3" | sed -n '/^metrics:/,/^schema:/p' | sed '$d'

say "3. Day 4: a third of the export is broken; cleaning quarantines it and the gate refuses to trust the day"
pf run "$MODEL" --day 2026-11-04 || true

say "4. Day 5: a normal day again, through the gate"
pf run "$MODEL" --day 2026-11-05

say "5. An engineer wants day 4's model anyway: the gate still says no; --force with a reason overrides it, on the record"
bad=$("$BIN" runs ls "$MODEL" --json | sed -n 's/.*"Day":"2026-11-04[^"]*","Status":"rejected","Version":\([0-9]*\).*/\1/p' | head -1)
pf promote "$MODEL" --version "$bad" --reason "campaign team wants the day-4 model" || true
pf promote "$MODEL" --version "$bad" --force --reason "campaign team accepts the day-4 data quality for the flash sale"

say "6. The flash sale is over: roll back to the previous production model, with a reason"
pf rollback "$MODEL" --reason "flash sale over, back to the gated model"

say "7. Day 6: the customers have drifted. MonitorDrift compares the day with production's training data"
pf ingest --source email --day 2026-11-06
sleep 6 # the demo model's cool-down after the manual moves above
pf monitor "$MODEL" --day 2026-11-06
pf drift "$MODEL" --day 2026-11-06 | head -20
echo "Prometheus scrapes the worker; the drift alert fires:"
pf alerts --wait PromoflowDriftHigh --timeout 60s

say "8. The audit trail: who moved production, when and why"
pf audit "$MODEL"
pf explain "$MODEL"
pf models history "$MODEL"

cat <<EOF

Temporal UI:   $PROMOFLOW_TEMPORAL_UI  (search: PromoflowModel="$MODEL")
Prometheus:    $PROMOFLOW_PROMETHEUS_URL/alerts
MinIO console: $PROMOFLOW_MINIO_CONSOLE  (bucket promoflow: models/$MODEL/, landing/email/)
Worker log:    .stack/logs/demo-worker.log
Stop the stack with: make down
EOF

#!/usr/bin/env bash
# demo.sh: what `make demo` runs. Starts the local stack and a worker, then
# runs the pipeline on the bundled data (see README.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

scripts/stack.sh up
# shellcheck disable=SC1091
. .stack/env
BIN=$ROOT/bin/promoflow
mkdir -p .stack/logs

# A worker for the demo, stopped when the demo ends.
PROMOFLOW_METRICS_ADDR=127.0.0.1:0 "$BIN" worker >.stack/logs/demo-worker.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null || true' EXIT

echo "== 1. the stack answers: a workflow on Temporal runs an activity that reaches PostgreSQL and MinIO"
"$BIN" check

echo
echo "Temporal UI:   $PROMOFLOW_TEMPORAL_UI"
echo "MinIO console: $PROMOFLOW_MINIO_CONSOLE (user: \$PROMOFLOW_MINIO_ACCESS_KEY in .stack/env)"
echo "Stop the stack with: make down"

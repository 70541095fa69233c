#!/usr/bin/env bash
# serve.sh: throughput and p50/p99 latency of promoflow's scoring service
# (single-customer requests, open loop, loopback, scoring log on), steady
# and while production moves between two versions every second; then batch
# scoring rows/s. Goal: p99 < 5 ms at 2,000 req/s with no failed request.
# The load generator shares the machine with the server, so the figures
# are a lower bound. The batch-scoring ratio against scikit-learn's
# predict_proba is measured by bench/run.sh (same ScoreTable).
#
#   . .stack/env && bench/serve.sh        RATE=3000 DURATION=20s bench/serve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PROMOFLOW_MINIO_ENDPOINT:?stack not configured: make up; . .stack/env}"
go run ./bench/loadgen -rate "${RATE:-2000}" -duration "${DURATION:-10s}" -swap-every "${SWAP_EVERY:-1s}" -batch-rows "${BATCH_ROWS:-200000}"

#!/usr/bin/env bash
# record-histories.sh: refresh workflows/testdata/*.json, the histories the
# replay tests replay, from real runs. Run after a deliberate change to a
# workflow's commands: it runs the worker's end-to-end tests on the local stack and
# saves the histories of their newest runs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck disable=SC1091
. .stack/env
T=$(ls -d "${PROMOFLOW_CACHE_DIR:-$HOME/.cache/promoflow}"/temporal-*/temporal | head -1)
A=(--address "$PROMOFLOW_TEMPORAL_ADDRESS")
PROMOFLOW_REQUIRE_STACK=1 go test -count=1 -run 'TestDailyRetrainEndToEnd|TestDailyRetrainWaitsForApproval' ./worker

save() { # file query
	local id run
	read -r id run < <("$T" workflow list "${A[@]}" -q "$2" --limit 1 -o jsonl |
		sed -n 's/.*"workflowId":"\([^"]*\)","runId":"\([^"]*\)".*/\1 \2/p' | head -1)
	[[ -n ${id:-} ]] || { echo "no workflow matches $2" >&2; exit 1; }
	"$T" workflow show "${A[@]}" -w "$id" -r "$run" -o json >"workflows/testdata/$1"
	echo "saved $1 from $id/$run"
}
save daily_retrain.json "WorkflowType='DailyRetrain' AND PromoflowDay='2026-11-02' AND ExecutionStatus='Completed'"
save daily_retrain_approval.json "WorkflowType='DailyRetrain' AND PromoflowDay='2026-11-01' AND ExecutionStatus='Completed' AND PromoflowModel STARTS_WITH 'e2e-'"
save promote.json "WorkflowType='Promote' AND ExecutionStatus='Completed'"
save rollback.json "WorkflowType='Rollback' AND ExecutionStatus='Completed'"

#!/usr/bin/env bash
# record-histories.sh: refresh workflows/testdata/*.json, the histories the
# replay tests replay, from real runs. Run after a deliberate change to a
# workflow's commands.
#
#   scripts/record-histories.sh [FILE.json ...]   (default: every history)
#
# It runs a worker on the local stack (the environment of .stack/env, unless
# one is loaded already) in a corner of its own: a unique model, source,
# task queue, bucket and PostgreSQL schema, removed at the end, so it never
# meets other runs on the same stack. Through the promoflow command it walks
# one model's life — the stack check, two days of DailyRetrain, a forced
# promotion, the ingest and the scoring of a day, drift with an automatic
# rollback, a manual rollback — and a second model's day that waits for a
# person's approval, then saves the history of each run asked for.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [[ -z ${PROMOFLOW_TEMPORAL_ADDRESS:-} ]]; then
	# shellcheck disable=SC1091
	. .stack/env
fi
: "${PROMOFLOW_PG_ADMIN_URL:?the stack environment has no PROMOFLOW_PG_ADMIN_URL}"
T=$(ls -d "${PROMOFLOW_CACHE_DIR:-$HOME/.cache/promoflow}"/temporal-*/temporal | head -1)
A=(--address "$PROMOFLOW_TEMPORAL_ADDRESS" --namespace "${PROMOFLOW_TEMPORAL_NAMESPACE:-default}")
ALL=(stack_check.json daily_retrain.json daily_retrain_approval.json promote.json rollback.json
	ingest_day.json score_day.json monitor_drift.json)
WANT=("${ALL[@]}")
(($#)) && WANT=("$@")
for f in "${WANT[@]}"; do
	[[ " ${ALL[*]} " == *" $f "* ]] || { echo "unknown history $f; known: ${ALL[*]}" >&2; exit 2; }
done

TAG=rec$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
M=$TAG-m   # the model of the life story; its source has the same name
MA=$TAG-a  # the model that needs approval
SCHEMA=${TAG}_hist
TMP=$(mktemp -d)
# The worker may make buckets named t-*, as tests do.
export PROMOFLOW_TASK_QUEUE=$TAG-queue PROMOFLOW_MINIO_BUCKET=t-$TAG PROMOFLOW_CONFIG_DIR=$TMP/configs
export PROMOFLOW_METRICS_ADDR="" PROMOFLOW_ACTOR=record-histories
PG_ROLE=$(sed -n 's|^postgres://\([^:@]*\).*|\1|p' <<<"$PROMOFLOW_PG_URL")
sep='?'
[[ $PROMOFLOW_PG_URL == *'?'* ]] && sep='&'
export PROMOFLOW_PG_URL="$PROMOFLOW_PG_URL${sep}search_path=$SCHEMA"

s3() { # method path: a signed request to MinIO as the worker (the key stays off the command line)
	local m=(-X "$1")
	[[ $1 == HEAD ]] && m=(-I)
	curl -sf "${m[@]}" --aws-sigv4 "aws:amz:us-east-1:s3" -K - "http://$PROMOFLOW_MINIO_ENDPOINT/$2" \
		<<<"user = \"$PROMOFLOW_MINIO_ACCESS_KEY:$PROMOFLOW_MINIO_SECRET_KEY\""
}
remove_bucket() {
	local b=$PROMOFLOW_MINIO_BUCKET keys key
	s3 HEAD "$b" >/dev/null || return 0
	while keys=$(s3 GET "$b?list-type=2" | grep -o '<Key>[^<]*</Key>' | sed 's|</*Key>||g') && [[ -n $keys ]]; do
		while read -r key; do
			s3 DELETE "$b/$key" >/dev/null || { echo "warning: bucket $b is left behind" >&2; return; }
		done <<<"$keys"
	done
	s3 DELETE "$b" >/dev/null || echo "warning: bucket $b is left behind" >&2
}
worker=
cleanup() {
	local rc=$?
	set +e
	if [[ -n $worker ]]; then
		kill "$worker" 2>/dev/null || true
		wait "$worker" 2>/dev/null || true
	fi
	((rc == 0)) || tail -20 "$TMP/worker.log" >&2
	remove_bucket
	psql "$PROMOFLOW_PG_ADMIN_URL" -qAtc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null || echo "warning: schema $SCHEMA is left behind" >&2
	rm -rf "$TMP"
}
trap cleanup EXIT
psql "$PROMOFLOW_PG_ADMIN_URL" -qAtc "CREATE SCHEMA $SCHEMA AUTHORIZATION \"$PG_ROLE\""

# The demo's configuration under the recording's names: the monitor rolls
# back on the first breach, after a five-second cool-down.
mkdir -p "$PROMOFLOW_CONFIG_DIR"
config() { # model approval
	sed -e "s/^name: .*/name: $1/" -e "s/^source: .*/source: $1/" \
		-e "/^approval:/,/^[a-z]/s/^  required: .*/  required: $2\n  timeout: 10m/" \
		configs/email-visit.yaml >"$PROMOFLOW_CONFIG_DIR/$1.yaml"
}
config "$M" false
config "$MA" true

go build -o "$TMP/promoflow" ./cmd/promoflow
pf() { echo "\$ promoflow $*"; "$TMP/promoflow" "$@"; }
"$TMP/promoflow" worker >"$TMP/worker.log" 2>&1 &
worker=$!

D1=2026-11-01 D2=2026-11-02 D3=2026-11-03
pf check
pf land --source "$M" --days 3 --rows-per-day 8000 --start "$D1" --drift-day 3
pf land --source "$MA" --days 1 --rows-per-day 8000 --start "$D1"
pf run "$M" --day "$D1"
other=2
pf run "$M" --day "$D2" --json | tee "$TMP/d2.json" | grep '"Promoted"'
grep -q '"Promoted": true' "$TMP/d2.json" && other=1
pf promote "$M" --version "$other" --force --reason "recording the Promote history"
pf ingest --source "$M" --day "$D3"
pf score "$M" --day "$D2" --partitions 2
sleep 6 # the cool-down after the promotion
# The drifted day rolls production back to where it was; a version rolled
# back from is no rollback target until promoted again, so the manual
# rollback names its version.
pf monitor "$M" --day "$D3"
pf rollback "$M" --to "$other" --reason "recording the Rollback history"

pf run "$MA" --day "$D1" &
waiting=$!
approved=false
for _ in $(seq 90); do # until the run waits at its approval step
	"$TMP/promoflow" approve "$MA" --day "$D1" --version 1 --reason "recording the approval history" >/dev/null 2>&1 &&
		approved=true && break
	sleep 2
done
$approved || { echo "the approval run never took an approval" >&2; exit 1; }
echo "approved version 1 of $MA's $D1"
wait "$waiting"

query() { # file: the visibility query of the run whose history it holds
	local q="TaskQueue='$PROMOFLOW_TASK_QUEUE' AND ExecutionStatus='Completed' AND"
	case $1 in
	stack_check.json) echo "$q WorkflowType='StackCheck'" ;;
	daily_retrain.json) echo "$q WorkflowId='daily-$M-$D2'" ;;
	daily_retrain_approval.json) echo "$q WorkflowId='daily-$MA-$D1'" ;;
	promote.json) echo "$q WorkflowId='promote-$M' AND WorkflowType='Promote'" ;;
	rollback.json) echo "$q WorkflowId='promote-$M' AND WorkflowType='Rollback'" ;;
	ingest_day.json) echo "$q WorkflowId='ingest-$M-$D3'" ;;
	score_day.json) echo "$q WorkflowId='score-$M-$D2'" ;;
	monitor_drift.json) echo "$q WorkflowId='monitor-$M-$D3'" ;;
	esac
}
save() { # file
	local id run q
	q=$(query "$1")
	read -r id run < <("$T" workflow list "${A[@]}" -q "$q" --limit 1 -o jsonl |
		sed -n 's/.*"workflowId":"\([^"]*\)","runId":"\([^"]*\)".*/\1 \2/p' | head -1)
	[[ -n ${id:-} ]] || { echo "no workflow matches $q" >&2; exit 1; }
	"$T" workflow show "${A[@]}" -w "$id" -r "$run" -o json >"workflows/testdata/$1"
	echo "saved $1 from $id/$run ($(wc -c <"workflows/testdata/$1") bytes)"
}
for f in "${WANT[@]}"; do save "$f"; done
if [[ " ${WANT[*]} " == *" monitor_drift.json "* ]] && ! grep -q EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED workflows/testdata/monitor_drift.json; then
	echo "warning: monitor_drift.json holds no automatic rollback" >&2
fi

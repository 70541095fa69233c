#!/usr/bin/env bash
# test-faults.sh: what `make test-faults` runs. Proves promoflow survives
# faults, bad input and load (see docs/faults.md):
#
#   1. starts a stack instance of its own — other ports, another state
#      folder — because the fault tests stop and start its servers; the
#      shared default stack (.stack/, ports 7233/9100/55432) is never touched;
#   2. runs go vet and every test of ./faults with PROMOFLOW_FAULTS=1;
#   3. runs each fuzz target for a bounded time (PROMOFLOW_FUZZTIME, 15s);
#   4. stops the stack instance it started.
#
# Overridable: PROMOFLOW_FAULTS_STACK_DIR (default ${TMPDIR:-/tmp}/promoflow-faults-$UID)
# and the ports PROMOFLOW_FAULTS_{TEMPORAL,TEMPORAL_UI,MINIO,MINIO_CONSOLE,PG,PROMETHEUS}_PORT
# (defaults 27233 28233 29100 29101 25432 29190); PROMOFLOW_FUZZTIME=0 skips fuzzing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

export PROMOFLOW_STACK_DIR=${PROMOFLOW_FAULTS_STACK_DIR:-${TMPDIR:-/tmp}/promoflow-faults-$(id -u)}
export PROMOFLOW_TEMPORAL_PORT=${PROMOFLOW_FAULTS_TEMPORAL_PORT:-27233}
export PROMOFLOW_TEMPORAL_UI_PORT=${PROMOFLOW_FAULTS_TEMPORAL_UI_PORT:-28233}
export PROMOFLOW_MINIO_PORT=${PROMOFLOW_FAULTS_MINIO_PORT:-29100}
export PROMOFLOW_MINIO_CONSOLE_PORT=${PROMOFLOW_FAULTS_MINIO_CONSOLE_PORT:-29101}
export PROMOFLOW_PG_PORT=${PROMOFLOW_FAULTS_PG_PORT:-25432}
export PROMOFLOW_PROMETHEUS_PORT=${PROMOFLOW_FAULTS_PROMETHEUS_PORT:-29190}
FUZZTIME=${PROMOFLOW_FUZZTIME:-15s}

if [[ $(realpath -m "$PROMOFLOW_STACK_DIR") == "$ROOT/.stack" ]]; then
	echo "test-faults: refusing to use the shared stack folder $ROOT/.stack" >&2
	exit 2
fi

begin=$SECONDS
if ! scripts/stack.sh status >/dev/null 2>&1; then
	trap 'echo "== stopping the fault stack" >&2; scripts/stack.sh down' EXIT
	echo "== starting a fault stack in $PROMOFLOW_STACK_DIR (Temporal :$PROMOFLOW_TEMPORAL_PORT, MinIO :$PROMOFLOW_MINIO_PORT, PostgreSQL :$PROMOFLOW_PG_PORT)" >&2
	scripts/stack.sh up
fi
# shellcheck disable=SC1091
set -a && . "$PROMOFLOW_STACK_DIR/env" && set +a
export PROMOFLOW_FAULTS=1 PROMOFLOW_REQUIRE_STACK=1

rc=0
echo "== go vet ./faults" >&2
go vet ./faults || rc=1

echo "== fault, bad-input and load tests" >&2
t0=$SECONDS
go test -count=1 -v -timeout 40m ./faults/ || rc=1
echo "== tests took $((SECONDS - t0)) s" >&2

if [[ $FUZZTIME != 0 ]]; then
	for target in ./dataset:FuzzReader ./learn:FuzzLoad ./faults:FuzzScoreRequest; do
		pkg=${target%%:*} name=${target##*:}
		echo "== fuzz $name ($pkg) for $FUZZTIME" >&2
		go test -count=1 -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" "$pkg" || rc=1
	done
fi
echo "== test-faults took $((SECONDS - begin)) s in all (exit $rc)" >&2
exit $rc

#!/usr/bin/env bash
# test.sh: what `make test` runs. Brings the stack up if it is not up, runs
# go vet and every test with the race detector against the real servers, and
# stops whatever it started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

started=0
if ! scripts/stack.sh status >/dev/null 2>&1; then
	started=1
	trap 'scripts/stack.sh down' EXIT
	scripts/stack.sh up
fi
# shellcheck disable=SC1091
. .stack/env
export PROMOFLOW_REQUIRE_STACK=1
# Browser tests keep their screenshots here (test artefacts).
export PROMOFLOW_ARTIFACTS=${PROMOFLOW_ARTIFACTS:-$ROOT/.stack/artifacts}
mkdir -p "$PROMOFLOW_ARTIFACTS"

echo "== promtool: Prometheus config, alert rules and their unit tests" >&2
scripts/promtool.sh
echo "== docs/cli.md matches the binary's help" >&2
scripts/cli-docs.sh .stack/cli.md.new
if ! diff -u docs/cli.md .stack/cli.md.new; then
	echo "docs/cli.md is stale: run scripts/cli-docs.sh and commit it" >&2
	exit 1
fi
# Browser tests of the HTML reports and registry pages use Debian's Chromium.
if ! command -v chromium >/dev/null && [[ $(id -u) -eq 0 ]]; then
	echo "== installing Debian's chromium for the browser tests" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null 2>&1 ||
		{ apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null; }
fi
echo "== go vet" >&2
go vet ./...
echo "== go test -race" >&2
mkdir -p .stack/logs
go test -race -count=1 -timeout 20m ./... 2>&1 | tee .stack/logs/go-test.log
echo "== faults, bad input and load (a stack instance of its own; docs/faults.md)" >&2
scripts/test-faults.sh 2>&1 | tee .stack/logs/faults.log
echo "== no secret in any log or test output" >&2
scripts/check-secrets.sh .stack/logs/* .stack/pg/postgres.log
faults_dir=${PROMOFLOW_FAULTS_STACK_DIR:-${TMPDIR:-/tmp}/promoflow-faults-$(id -u)}
PROMOFLOW_STACK_DIR=$faults_dir scripts/check-secrets.sh "$faults_dir"/logs/* .stack/logs/*
if ((started)); then
	echo "== stopping the stack this run started" >&2
fi

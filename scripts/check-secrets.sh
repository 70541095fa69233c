#!/usr/bin/env bash
# check-secrets.sh FILE...: fail when any secret of the local stack (the
# values in .stack/secrets.env and the API tokens in PROMOFLOW_API_TOKENS)
# appears in the given files — logs and test output must never carry them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STACK_DIR=${PROMOFLOW_STACK_DIR:-$ROOT/.stack}
secrets=()
while IFS='=' read -r _ value; do
	[[ -n $value ]] && secrets+=("$value")
done <"$STACK_DIR/secrets.env"
IFS=',' read -r -a tokens <<<"${PROMOFLOW_API_TOKENS:-}"
for t in "${tokens[@]}"; do
	IFS=':' read -r _ tok _ <<<"$t"
	[[ -n ${tok:-} ]] && secrets+=("$tok")
done
leaks=0
for f in "$@"; do
	[[ -f $f ]] || continue
	for s in "${secrets[@]}"; do
		if grep -qF -- "$s" "$f"; then
			echo "check-secrets: a secret value appears in $f" >&2
			leaks=1
		fi
	done
done
if ((leaks)); then
	exit 1
fi
echo "check-secrets: ${#secrets[@]} secret values, none in $# files" >&2

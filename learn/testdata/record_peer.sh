#!/bin/sh
# Records scikit-learn reference values for peer_test.go from the shared
# peer (run from the repository root):
#   sh learn/testdata/record_peer.sh
# Writes learn/testdata/peer_{bank,hillstrom}.json.gz: the peer's metrics,
# coefficients and test-row indices of its 80/20 split.
set -eu
data=${PROMOFLOW_SHARED_DATA:-../shared/data}
peer=${PROMOFLOW_PEER:-../shared/peers/sklearn_peer.py}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
record() {
	name=$1; shift
	/usr/bin/python3 "$peer" "$@" --split-out "$tmp/split.json" --coef-out "$tmp/coef.json" >"$tmp/out.json"
	/usr/bin/python3 - "$tmp" "$name" "$*" <<'PY'
import gzip, json, sys
tmp, name, args = sys.argv[1:]
out = json.load(open(f"{tmp}/out.json"))
coef = json.load(open(f"{tmp}/coef.json"))
split = json.load(open(f"{tmp}/split.json"))
rec = {
    "command": "/usr/bin/python3 sklearn_peer.py " + args + " --split-out split.json --coef-out coef.json",
    "sklearn": out["sklearn"],
    "roc_auc": out["roc_auc"],
    "log_loss": out["log_loss"],
    "accuracy": out["accuracy"],
    "precision": out["precision"],
    "recall": out["recall"],
    "intercept": coef["intercept"],
    "coef": coef["coef"],
    "train_rows": out["train_rows"],
    "test": split["test"],
}
with gzip.open(f"learn/testdata/peer_{name}.json.gz", "wt") as fh:
    json.dump(rec, fh)
PY
}
record bank "$data/bank-full.csv" y --positive yes --drop duration
record hillstrom "$data/hillstrom.csv" visit --drop conversion,spend

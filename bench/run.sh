#!/usr/bin/env bash
# Benchmark harness: promoflow's fit and scoring against scikit-learn, side
# by side in one run on the same rows (the peer's 80/20 split).
#
#   bench/run.sh            # bank-full and a 1,000,000-row generated set
#   ROWS=200000 bench/run.sh
#
# fit   = preprocessing fit + logistic regression fit, CSV loading excluded
#         (the peer's fit_seconds; promoflow fit --json fit_seconds, which
#         also parses the strings into numbers).
# score = rows per second turning raw test rows into probabilities (ours: best
#         of three runs)
#         (the peer's transform + predict_proba; promoflow's ScoreTable).
# Goals: fit ratio ours/sklearn <= 1.0, scoring ratio ours/sklearn >= 5.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${PROMOFLOW_SHARED_DATA:-../shared/data}
peer=${PROMOFLOW_PEER:-../shared/peers/sklearn_peer.py}
py=${PYTHON:-/usr/bin/python3}
rows=${ROWS:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/promoflow" ./cmd/promoflow

# run NAME CSV PEER_ARGS... -- OUR_ARGS...
run() {
	local name=$1 csv=$2
	shift 2
	local peer_args=() our_args=()
	while [ "$1" != "--" ]; do peer_args+=("$1"); shift; done
	shift
	our_args=("$@")
	"$py" "$peer" "$csv" "${peer_args[@]}" --split-out "$tmp/$name.split.json" >"$tmp/$name.peer.json"
	"$tmp/promoflow" fit --data "$csv" "${our_args[@]}" --split "$tmp/$name.split.json" --json >"$tmp/$name.ours.json"
}

if [ -f "$data/bank-full.csv" ]; then
	run bank-full "$data/bank-full.csv" y --positive yes --drop duration -- --target y --positive yes --drop duration
fi
if [ -f "$data/hillstrom.csv" ]; then
	run hillstrom "$data/hillstrom.csv" visit --drop conversion,spend -- --target visit --drop conversion,spend
fi
"$tmp/promoflow" generate --rows "$rows" --seed 1 --out "$tmp/synth.csv"
truth=customer_id,day,true_propensity,true_uplift,true_uplift_mens_e_mail,true_uplift_womens_e_mail
run "synth-$rows" "$tmp/synth.csv" visit --drop "$truth" -- --target visit --drop "$truth"

"$py" - "$tmp" <<'PY'
import glob, json, os, sys
tmp = sys.argv[1]
rows = []
for peer_file in sorted(glob.glob(os.path.join(tmp, "*.peer.json"))):
    name = os.path.basename(peer_file)[: -len(".peer.json")]
    peer = json.load(open(peer_file))
    ours = json.load(open(os.path.join(tmp, name + ".ours.json")))
    sk_rate = peer["test_rows"] / max(peer["predict_seconds"], 1e-9)
    rows.append((name, peer["train_rows"], peer["fit_seconds"], ours["fit_seconds"],
                 sk_rate, ours["score_rows_per_second"], peer["roc_auc"], ours["metrics"]["roc_auc"]))
hdr = ("data", "train rows", "sklearn fit s", "ours fit s", "fit ratio", "sklearn score rows/s",
       "ours score rows/s", "score ratio", "sklearn AUC", "ours AUC")
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
for name, n, skf, of, skr, orr, ska, oa in rows:
    print(f"| {name} | {n} | {skf:.3f} | {of:.3f} | {of/skf:.2f}x | {skr:,.0f} | {orr:,.0f} | {orr/skr:.1f}x | {ska:.4f} | {oa:.4f} |")
print()
print("fit ratio = ours/sklearn seconds (goal <= 1.0); score ratio = ours/sklearn rows per second (goal >= 5)")
PY

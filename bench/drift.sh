#!/usr/bin/env bash
# PSI + KS over 1,000,000 rows × 20 features: the Go drift package against
# the peer-equivalent numpy/scipy computation on the same data (a splitmix64
# stream both sides compute), printing the times and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}

go_out=$(go test -run '^$' -bench 'PSIKS' -benchtime 3x -cpu 1,2 ./drift)
echo "$go_out" | grep Benchmark
go_full1=$(echo "$go_out" | awk '$1 == "BenchmarkPSIKS1Mx20" {print $3/1e9}')
go_full=$(echo "$go_out" | awk '$1 == "BenchmarkPSIKS1Mx20-2" {print $3/1e9}')
go_prep=$(echo "$go_out" | awk '$1 == "BenchmarkPSIKSPrepared1Mx20-2" {print $3/1e9}')

py_full=$("$PY" - <<'PYEOF'
import time
import numpy as np
from scipy.stats import ks_2samp

ROWS, FEATURES, EPS = 1_000_000, 20, 1e-4

def stream(k):
    z = (k + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53

def psi(ref, cur):  # exactly drift_peer.py's definition
    edges = np.unique(np.quantile(ref, np.linspace(0.1, 0.9, 9)))
    b_ref = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1)
    b_cur = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=len(edges) + 1)
    p_ref = np.maximum(b_ref / len(ref), EPS)
    p_cur = np.maximum(b_cur / len(cur), EPS)
    return float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))

with np.errstate(over="ignore"):
    data = []
    for f in range(FEATURES):
        i = np.arange(ROWS, dtype=np.uint64)
        ref = -np.log(stream(np.uint64(f * ROWS) + i)) * (f + 1)
        cur = -np.log(stream(np.uint64((f + FEATURES) * ROWS) + i)) * (f + 1) * 1.05
        data.append((ref, cur))
t0 = time.perf_counter()
for ref, cur in data:
    psi(ref, cur)
    ks_2samp(ref, cur)
print(time.perf_counter() - t0)
PYEOF
)
printf 'go   (references built, 1 core):  %.3f s\n' "$go_full1"
printf 'go   (references built, 2 cores): %.3f s\n' "$go_full"
printf 'go   (references prepared):       %.3f s\n' "$go_prep"
printf 'scipy (peer-equivalent, 1 core):  %.3f s\n' "$py_full"
awk -v g="$go_full1" -v p="$py_full" 'BEGIN { printf "ratio scipy/go, both on 1 core: %.1fx\n", p / g }'
awk -v g="$go_full" -v p="$py_full" 'BEGIN { printf "ratio scipy/go, go on 2 cores:  %.1fx\n", p / g }'

#!/usr/bin/env bash
# peers.sh: installs what `make bench` compares against — Debian's
# scikit-learn, scipy and pandas for /usr/bin/python3 — when missing. As
# root it uses apt-get; otherwise it says what to install and fails.
set -euo pipefail
py=${PYTHON:-/usr/bin/python3}
pkgs=(python3-sklearn python3-scipy python3-pandas)
if "$py" -c 'import sklearn, scipy, pandas, numpy' 2>/dev/null; then
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "peers: $py lacks scikit-learn, scipy or pandas; install them with: sudo apt-get install -y ${pkgs[*]}" >&2
	exit 1
fi
echo "peers: installing Debian's ${pkgs[*]} (first time only)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y "${pkgs[@]}" >/dev/null 2>&1 ||
	{ apt-get update >/dev/null && apt-get install -y "${pkgs[@]}" >/dev/null; }
"$py" -c 'import sklearn, scipy, pandas, numpy'

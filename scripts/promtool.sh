#!/usr/bin/env bash
# Checks promoflow's Prometheus configuration and alert rules and runs the
# rule unit tests. Installs Debian's prometheus package (for promtool) when
# promtool is missing and we run as root.
set -euo pipefail
dir="$(cd "$(dirname "$0")/../deploy/prometheus" && pwd)"
if ! command -v promtool >/dev/null; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q prometheus
	else
		echo "promtool not found: install the prometheus package (apt-get install prometheus)" >&2
		exit 1
	fi
fi
cd "$dir"
promtool check config prometheus.yml
promtool check rules rules/*.yml
promtool test rules tests/*.yml

#!/usr/bin/env bash
# Checks the Prometheus configuration and alert rules in ops/prometheus and runs their unit tests
# (alerts.test.yml) with promtool. promtool comes from the Debian package `prometheus`: when it is
# missing, the script installs it if it runs as root with apt-get available, and otherwise skips
# with a message (exit 0), so that a machine without it does not fail the build.
set -euo pipefail

cd "$(dirname "$0")/../ops/prometheus"

if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "promtool not found: installing the Debian package 'prometheus'" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "SKIPPED: promtool is not installed and cannot be installed here (needs root and apt-get)." >&2
    echo "Install it with 'apt-get install prometheus' (Debian/Ubuntu) or from https://prometheus.io/download/." >&2
    exit 0
  fi
fi

# --syntax-only: the example's credentials_file exists only on the Prometheus host.
promtool check config --syntax-only prometheus.yml
promtool check rules alerts.yml
promtool test rules alerts.test.yml

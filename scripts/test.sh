#!/usr/bin/env bash
# Installs everything the test suite needs (Debian packages for the real Redis, etcd, Prometheus
# and Alertmanager; the Python dev dependencies) and runs lint and the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for pair in redis-server:redis-server etcd:etcd-server etcdctl:etcd-client prometheus:prometheus \
            prometheus-alertmanager:prometheus-alertmanager; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "clusterdoc tests need these Debian packages: sudo apt-get install ${missing[*]}"; exit 1
  fi
fi
. scripts/_venv.sh -e '.[dev]'
.venv/bin/ruff check .
.venv/bin/lint-imports
.venv/bin/mypy
exec .venv/bin/python -m pytest -q "$@"

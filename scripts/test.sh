#!/usr/bin/env bash
# Installs everything the test suite needs (Debian packages for the real Redis, etcd, Prometheus
# and Alertmanager; the Python dev dependencies), builds or reuses the real Kubernetes control plane
# and helm (scripts/build-binaries.sh: Go modules into a version-keyed cache outside the checkout)
# and runs lint and the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for pair in redis-server:redis-server etcd:etcd-server etcdctl:etcd-client prometheus:prometheus \
            prometheus-alertmanager:prometheus-alertmanager openssl:openssl; do
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
bash scripts/build-binaries.sh
CLUSTERDOC_K8S_BINARIES="$(bash scripts/build-binaries.sh --print-dir)"
export CLUSTERDOC_K8S_BINARIES
# the chart: lint and render with the default values and every example values file (tests/test_real_chart.py
# also applies each rendering to the real API server with a strict server-side dry run)
for values in "" helm/clusterdoc/examples/*.yaml; do
  "$CLUSTERDOC_K8S_BINARIES/helm" lint --strict --quiet helm/clusterdoc ${values:+-f "$values"} >/dev/null
  "$CLUSTERDOC_K8S_BINARIES/helm" template cd helm/clusterdoc ${values:+-f "$values"} >/dev/null
done
.venv/bin/ruff check .
.venv/bin/lint-imports
.venv/bin/mypy
exec .venv/bin/python -m pytest -q "$@"

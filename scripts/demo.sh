#!/usr/bin/env bash
# Installs clusterdoc into .venv and runs the demo: no cluster, no Slack, no Redis needed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh -e .
exec .venv/bin/clusterdoc demo "$@"

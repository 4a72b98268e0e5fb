# Sourced by the other scripts: creates .venv with Python >= 3.11 if missing and installs clusterdoc.
# Usage: . scripts/_venv.sh <pip install arguments, e.g. -e ".[dev]">
set -euo pipefail
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      PY=$candidate; break
    fi
  done
fi
[ -n "$PY" ] || { echo "clusterdoc needs Python 3.11 or newer (apt-get install python3)"; exit 1; }
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv 2>/dev/null || {
    echo "clusterdoc: cannot create a virtualenv; install it with: apt-get install python3-venv"; exit 1; }
fi
# (pip's notes about local index folders this machine may name in its pip config are noise here)
quiet_pip() { .venv/bin/python -m pip -q --disable-pip-version-check "$@" 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }; }
quiet_pip install --upgrade pip >/dev/null
quiet_pip install "$@"

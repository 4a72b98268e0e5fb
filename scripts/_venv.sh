# Sourced by the other scripts: creates .venv with Python >= 3.11 if missing and installs clusterdoc,
# pinned by requirements/dev.lock (uv pip compile, see requirements/README.md).
# Usage: . scripts/_venv.sh <pip install arguments, e.g. -e ".[dev]">
# Nothing is installed when .venv already holds this install for the same pyproject.toml and lock
# (a stamp in .venv); an install with the dev extras also counts for a plain `-e .`.
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
lock=requirements/dev.lock
stamp=.venv/.clusterdoc-install
want="$(cat pyproject.toml "$lock" | sha256sum | cut -c1-16)"
spec="$*"
if [ -f "$stamp" ] && { grep -qxF "$want $spec" "$stamp" || { [ "$spec" = "-e ." ] && grep -qxF "$want -e .[dev]" "$stamp"; }; } \
   && .venv/bin/python -c 'import clusterdoc' 2>/dev/null; then
  return 0 2>/dev/null || exit 0
fi
# (pip's notes about local index folders this machine may name in its pip config are noise here)
quiet_pip() { .venv/bin/python -m pip -q --disable-pip-version-check "$@" 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }; }
quiet_pip install --upgrade pip >/dev/null
quiet_pip install -c "$lock" "$@"
.venv/bin/python -c 'import clusterdoc' || { echo "clusterdoc: the install into .venv failed"; exit 1; }
if [ -f "$stamp" ] && grep -q "^$want " "$stamp"; then echo "$want $spec" >> "$stamp"; else echo "$want $spec" > "$stamp"; fi

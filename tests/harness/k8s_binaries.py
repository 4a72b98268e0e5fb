"""Where the real etcd, kube-apiserver, kube-scheduler, kube-controller-manager and helm are.

``scripts/build-binaries.sh`` builds them from Go modules into a version-keyed cache folder and
writes ``.complete`` there last. ``scripts/test.sh`` exports that folder as
``CLUSTERDOC_K8S_BINARIES``; without the variable the script itself is asked (``--print-dir``,
which builds nothing). A missing or incomplete folder is an error naming the command that builds
it: the tests that need a real control plane fail, they never skip.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-binaries.sh"
ENV_VAR = "CLUSTERDOC_K8S_BINARIES"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "helm")
BUILD_HINT = "run `bash scripts/build-binaries.sh` (builds them from Go modules, 20-40 min the first time)"


class BinariesMissing(RuntimeError):
    """The built binaries are not there; the message says which and how to build them."""


def binaries_dir() -> Path:
    """The folder holding all of :data:`BINARIES`; :class:`BinariesMissing` otherwise."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        folder = Path(configured)
    else:
        done = subprocess.run(["bash", str(BUILD_SCRIPT), "--print-dir"], capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            raise BinariesMissing(f"{BUILD_SCRIPT} --print-dir failed: {done.stderr.strip()}")
        folder = Path(done.stdout.strip())
    if not (folder / ".complete").is_file():
        raise BinariesMissing(f"the Kubernetes test binaries are not built ({folder} has no .complete): {BUILD_HINT}")
    missing = [name for name in BINARIES if not os.access(folder / name, os.X_OK)]
    if missing:
        raise BinariesMissing(f"{folder} lacks {', '.join(missing)}: {BUILD_HINT}")
    return folder


def versions(folder: Path) -> dict[str, str]:
    """The ``name=value`` lines of the folder's ``.complete`` marker (kubernetes, etcd, helm, go, ...)."""
    pairs = {}
    for line in (folder / ".complete").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep:
            pairs[name] = value
    return pairs

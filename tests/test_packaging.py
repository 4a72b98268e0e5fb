"""Installed, clusterdoc is one top-level import package holding bot, workers, runbooks and examples."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _site_packages(venv: Path) -> Path:
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    return Path(purelib)


def test_pip_install_adds_exactly_one_top_level_package(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    site = _site_packages(venv)
    before = {path.name for path in site.iterdir()}
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check",
         str(ROOT)],
        check=True, timeout=600, capture_output=True,
    )
    added = {path.name for path in site.iterdir()} - before
    assert {name for name in added if not name.endswith(".dist-info")} == {"clusterdoc"}, sorted(added)
    assert len([name for name in added if name.endswith(".dist-info")]) == 1
    package = site / "clusterdoc"
    # the linked folders arrive as real files, with their data
    for module in ("bot/server.py", "workers/process.py", "queue.py", "runbooks/why-pending.yaml",
                   "examples/taint-pending/cluster.yaml"):
        assert (package / module).is_file(), module
    assert not (package / "bot").is_symlink()
    assert sysconfig.get_paths()["purelib"] != str(site)  # a separate environment really was used

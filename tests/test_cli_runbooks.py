"""`clusterdoc runbooks validate` and start-up name a broken runbook precisely."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BROKEN_CASES = {
    "bad-yaml": ("name: x\nsteps: [\n", "not valid YAML"),
    "missing-title": ("name: x\nsteps:\n  - kind: events\n", "title: Field required"),
    "unknown-step": ("name: x\ntitle: X\nsteps:\n  - kind: evnets\n", "steps[0].kind: unknown step kind 'evnets'"),
    "bad-step-param": (
        "name: x\ntitle: X\nsteps:\n  - kind: events\n    with: {limit: many}\n",
        "steps[0].with.limit: Input should be a valid integer",
    ),
    "undeclared-param": (
        "name: x\ntitle: X\nsteps:\n  - kind: events\n    with: {limit: '${n}'}\n",
        "steps[0].with.limit: refers to undeclared parameter 'n'",
    ),
    "bad-target-kind": (
        "name: x\ntitle: X\ntargets: [Pood]\nsteps:\n  - kind: events\n",
        "targets: Value error, unknown kind 'Pood'",
    ),
    "bad-name": ("name: Why_Pending\ntitle: X\nsteps:\n  - kind: events\n", "name: Value error, must be lower-case"),
}


def clusterdoc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "clusterdoc", *args], capture_output=True, text=True, env=full_env, timeout=60
    )


@pytest.mark.parametrize("case", sorted(BROKEN_CASES), ids=sorted(BROKEN_CASES))
def test_validate_names_file_path_and_problem(tmp_path: Path, case: str) -> None:
    content, expected = BROKEN_CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(content)
    result = clusterdoc("runbooks", "validate", str(path))
    assert result.returncode == 1
    assert f"{path}: " in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_builtin_runbooks_are_valid() -> None:
    result = clusterdoc("runbooks", "validate")
    assert result.returncode == 0, result.stderr
    assert "runbook(s) valid" in result.stdout


def test_list_shows_builtin_runbooks() -> None:
    result = clusterdoc("runbooks", "list")
    assert result.returncode == 0, result.stderr
    for name in ("describe", "events", "why-pending"):
        assert name in result.stdout


def test_broken_extra_runbook_stops_startup(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(BROKEN_CASES["unknown-step"][0])
    result = clusterdoc("serve", "--port", "3999", env={"CLUSTERDOC_RUNBOOKS": str(tmp_path)})
    assert result.returncode == 2
    assert f"{tmp_path / 'mine.yaml'}: steps[0].kind: unknown step kind 'evnets'" in result.stderr
    assert "Traceback" not in result.stderr

"""Finds, parses and validates runbook files; every error names the file, the path and the problem.

Built-in runbooks live in the ``runbooks`` package directory; folders listed in
``CLUSTERDOC_RUNBOOKS`` add to them, and a runbook there with the same name replaces the
built-in one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from clusterdoc.workers.runbook.registry import STEPS, load_builtin_steps
from clusterdoc.workers.runbook.schema import PARAM_REF, RunbookSpec, error_lines

log = logging.getLogger(__name__)


class RunbookError(Exception):
    """One or more runbook files are invalid; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Runbook:
    spec: RunbookSpec
    path: Path

    @property
    def name(self) -> str:
        return self.spec.name


def builtin_folder() -> Path:
    """The folder of the runbooks that ship with clusterdoc (works from any directory)."""
    return Path(str(resources.files("clusterdoc.runbooks")))


def _substitute(value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, str):
        match = PARAM_REF.match(value)
        if match:
            return params[match.group(1)]
    return value


def resolve_step_params(with_: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The step's ``with:`` block with ``${name}`` references replaced by parameter values."""
    return {key: _substitute(value, params) for key, value in with_.items()}


def check_steps(spec: RunbookSpec) -> list[str]:
    """Problems with the steps' kinds and ``with:`` blocks (empty when valid)."""
    load_builtin_steps()
    problems = []
    for index, step_spec in enumerate(spec.steps):
        where = f"steps[{index}]"
        kind = STEPS.get(step_spec.kind)
        if kind is None:
            known = ", ".join(sorted(STEPS))
            problems.append(f"{where}.kind: unknown step kind {step_spec.kind!r} (known: {known})")
            continue
        for key, value in step_spec.with_.items():
            match = PARAM_REF.match(value) if isinstance(value, str) else None
            if match and match.group(1) not in spec.params:
                problems.append(f"{where}.with.{key}: refers to undeclared parameter {match.group(1)!r}")
        try:
            kind.params.model_validate(resolve_step_params(step_spec.with_, spec.params))
        except ValidationError as exc:
            problems.extend(error_lines(exc, f"{where}.with"))
        except KeyError:
            pass  # reported above as an undeclared parameter
    return problems


def load_file(path: Path) -> Runbook:
    """Parse and validate one runbook file; :class:`RunbookError` lists what is wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise RunbookError([f"{path}: {where}not valid YAML ({getattr(exc, 'problem', exc)})"]) from exc
    except OSError as exc:
        raise RunbookError([f"{path}: cannot read: {exc.strerror}"]) from exc
    if not isinstance(data, dict):
        raise RunbookError([f"{path}: (top level): expected a mapping with name, title and steps"])
    try:
        spec = RunbookSpec.model_validate(data)
    except ValidationError as exc:
        raise RunbookError([f"{path}: {line}" for line in error_lines(exc)]) from exc
    problems = check_steps(spec)
    if problems:
        raise RunbookError([f"{path}: {line}" for line in problems])
    return Runbook(spec, path)


def runbook_files(folders: list[Path]) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        if folder.is_file():
            files.append(folder)
        elif folder.is_dir():
            files.extend(sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            raise RunbookError([f"{folder}: runbook folder does not exist"])
    return files


class Catalogue:
    """All runbooks by name."""

    def __init__(self, runbooks: dict[str, Runbook]) -> None:
        self.runbooks = runbooks

    def get(self, name: str) -> Runbook | None:
        return self.runbooks.get(name)

    def names(self) -> list[str]:
        return sorted(self.runbooks)

    @classmethod
    def load(cls, extra_folders: list[Path] | None = None, *, include_builtin: bool = True) -> Catalogue:
        """Load built-in runbooks and ``extra_folders``; :class:`RunbookError` lists every problem."""
        folders = ([builtin_folder()] if include_builtin else []) + list(extra_folders or [])
        problems: list[str] = []
        runbooks: dict[str, Runbook] = {}
        for path in runbook_files(folders):
            try:
                runbook = load_file(path)
            except RunbookError as exc:
                problems.extend(exc.problems)
                continue
            if runbook.name in runbooks:
                log.info("runbook %s from %s replaces %s", runbook.name, path, runbooks[runbook.name].path)
            runbooks[runbook.name] = runbook
        if problems:
            raise RunbookError(problems)
        return cls(runbooks)

"""Finds, parses and validates runbook files; every error names the file, the path and the problem.

Built-in runbooks live in the ``runbooks`` package directory; folders listed in
``CLUSTERDOC_RUNBOOKS`` add to them, and a runbook there with the same name replaces the
built-in one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from clusterdoc import kinds
from clusterdoc.workers.runbook.registry import STEPS, load_builtin_steps
from clusterdoc.workers.runbook.schema import PARAM_REF, RunbookSpec, StepSpec, error_lines

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
    builtin: bool = False
    """True for a runbook shipped with clusterdoc (``runbooks list`` shows where each comes from)."""

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


def _step_problems(index: int, step_spec: StepSpec, params: dict[str, Any], targets: list[str]) -> list[str]:
    """What is wrong with one step: its kind, its ``with:`` block, whether it fits the runbook's targets."""
    where = f"steps[{index}]"
    kind = STEPS.get(step_spec.kind)
    if kind is None:
        known = ", ".join(sorted(STEPS))
        return [f"{where}.kind: unknown step kind {step_spec.kind!r} (known: {known})"]
    problems = []
    if kind.targets and not set(kind.targets) & set(targets):
        what = f"a runbook for {', '.join(targets)}" if targets else "a cluster-wide runbook (no targets)"
        problems.append(f"{where}.kind: step kind {kind.name!r} diagnoses {', '.join(kind.targets)} "
                        f"only, so it has nothing to look at in {what}")
    for key, value in step_spec.with_.items():
        match = PARAM_REF.match(value) if isinstance(value, str) else None
        if match and match.group(1) not in params:
            problems.append(f"{where}.with.{key}: refers to undeclared parameter {match.group(1)!r}")
    try:
        kind.params.model_validate(resolve_step_params(step_spec.with_, params))
    except ValidationError as exc:
        problems.extend(error_lines(exc, f"{where}.with"))
    except KeyError:
        pass  # reported above as an undeclared parameter
    return problems


def check_steps(spec: RunbookSpec) -> list[str]:
    """Problems with the steps' kinds, ``with:`` blocks and fit to the targets (empty when valid)."""
    load_builtin_steps()
    problems: list[str] = []
    for index, step_spec in enumerate(spec.steps):
        problems.extend(_step_problems(index, step_spec, dict(spec.params), spec.targets))
    return problems


def _raw_step_problems(data: dict[str, Any]) -> list[str]:
    """Step problems of a file whose top level did not validate: each step is checked on its own,
    so one run of ``runbooks validate`` reports every error in the file, not only the first stage."""
    load_builtin_steps()
    raw_params = data.get("params")
    params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
    targets: list[str] = []
    for name in data.get("targets") or [] if isinstance(data.get("targets"), list) else []:
        known = kinds.lookup(str(name))
        if known is not None:
            targets.append(known.kind)
    problems: list[str] = []
    steps = data.get("steps")
    for index, raw in enumerate(steps if isinstance(steps, list) else []):
        try:
            step_spec = StepSpec.model_validate(raw)
        except ValidationError:
            continue  # already reported by the whole-file validation
        problems.extend(_step_problems(index, step_spec, params, targets if data.get("targets") else []))
    return problems


def load_file(path: Path, *, builtin: bool = False) -> Runbook:
    """Parse and validate one runbook file; :class:`RunbookError` lists everything that is wrong."""
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
        problems = error_lines(exc) + _raw_step_problems(data)
        raise RunbookError([f"{path}: {line}" for line in problems]) from exc
    problems = check_steps(spec)
    if problems:
        raise RunbookError([f"{path}: {line}" for line in problems])
    return Runbook(spec, path, builtin)


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
        builtin = runbook_files([builtin_folder()]) if include_builtin else []
        problems: list[str] = []
        runbooks: dict[str, Runbook] = {}
        for path in builtin + runbook_files(list(extra_folders or [])):
            try:
                runbook = load_file(path, builtin=path in builtin)
            except RunbookError as exc:
                problems.extend(exc.problems)
                continue
            if runbook.name in runbooks:
                log.info("runbook %s from %s replaces %s", runbook.name, path, runbooks[runbook.name].path)
            runbooks[runbook.name] = runbook
        if problems:
            raise RunbookError(problems)
        return cls(runbooks)


@dataclass
class Validation:
    """What ``runbooks validate`` found: problems (the files are broken) and warnings (they load)."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def validate(paths: list[Path] | None, extra_folders: list[Path] | None = None) -> Validation:
    """Check ``paths`` (files or folders; None: the built-in runbooks and ``extra_folders``).

    Every problem of every file is listed. A user runbook named like a built-in one is a warning:
    it loads, and replaces the built-in everywhere.
    """
    result = Validation()
    builtin_files = runbook_files([builtin_folder()])
    try:
        files = runbook_files(paths) if paths is not None else builtin_files + runbook_files(extra_folders or [])
    except RunbookError as exc:
        result.problems.extend(exc.problems)
        return result
    builtin_names: dict[str, Path] = {}
    for path in builtin_files:
        try:
            builtin_names[load_file(path, builtin=True).name] = path
        except RunbookError:
            pass  # reported when the built-in files themselves are checked
    for path in files:
        result.checked += 1
        try:
            runbook = load_file(path)
        except RunbookError as exc:
            result.problems.extend(exc.problems)
            continue
        shipped = builtin_names.get(runbook.name)
        if shipped is not None and path.resolve() != shipped.resolve():
            result.warnings.append(f"{path}: runbook {runbook.name!r} replaces the built-in one of the same name")
    return result

"""Render a :class:`~clusterdoc.report.Report` as the JSON report DESIGN.md fixes (``ask --json``).

The shape comes from ``Report.to_json()``; this module guarantees the keys other tools rely
on (``runbook``, ``target{kind,namespace,name}``, ``verdict{layer,severity,summary}``,
``findings[{step,severity,title,detail}]``, ``remediations``, and runbook sections such as
``scheduling`` when present), keeps a runbook's extra sections from overwriting them, and turns
values JSON cannot hold (sets, enums, dataclasses, datetimes) into plain JSON instead of failing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from clusterdoc.report import Report

log = logging.getLogger(__name__)

CORE_KEYS = ("runbook", "cluster", "command", "target", "verdict", "findings", "remediations")
"""Top-level keys ``Report.to_json`` writes itself; ``Report.extra`` may add keys, never replace these."""


def _plain(value: Any) -> Any:
    """``json.dumps``'s fallback for values it does not know."""
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_json = getattr(value, "to_json", None)
        return to_json() if callable(to_json) else dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return sorted((_plain(item) if not isinstance(item, str | int | float) else item for item in value), key=str)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    return str(value)


def report_dict(report: Report) -> dict[str, Any]:
    """The JSON report as a dict: ``Report.to_json()`` with the core keys protected."""
    data = report.to_json()
    core = {
        "runbook": report.runbook,
        "cluster": report.cluster,
        "command": report.command,
        "target": report.target.to_json(),
        "verdict": report.verdict.to_json(),
        "findings": [finding.to_json() for finding in report.findings],
        "remediations": [remedy.to_json() for remedy in report.remediations],
    }
    clashes = sorted(key for key in report.extra if key in core)
    if clashes:
        log.warning("report extra sections %s clash with core keys of the JSON report; core keys kept", clashes)
    data.update(core)
    ordered = {key: data[key] for key in CORE_KEYS}
    ordered.update((key, value) for key, value in data.items() if key not in ordered)
    return ordered


def render_json(report: Report) -> str:
    """The JSON report, indented by two spaces, non-ASCII kept readable (no trailing newline)."""
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False, default=_plain)

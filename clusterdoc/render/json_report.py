"""Render a :class:`~clusterdoc.report.Report` as the JSON report DESIGN.md fixes (``ask --json``).

The shape comes from ``Report.to_json()``; this module guarantees the keys other tools rely
on, always present (``schema_version``, ``runbook``, ``target{kind,namespace,name}``,
``verdict{layer,severity,summary}``, ``findings[{step,severity,title,detail,blocks,error_id}]``,
``remediations[{action,target,risk,description,params,snippet}]``, ``scheduling`` — null unless
the runbook analysed scheduling), keeps a runbook's extra sections from overwriting them, and turns
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

from clusterdoc.report import Finding, Remediation, Report

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Bumped only when a key changes meaning or goes away; new keys do not bump it (DESIGN.md: extend, never rename)."""

CORE_KEYS = ("schema_version", "runbook", "cluster", "command", "target", "verdict", "findings", "remediations",
             "scheduling")
"""Top-level keys every JSON report has, always: lists may be empty, ``scheduling`` is null unless the
runbook analysed scheduling (why-pending). ``Report.extra`` may add keys, never replace these."""

FINDING_KEYS = ("step", "severity", "title", "detail", "blocks", "error_id")
REMEDIATION_KEYS = ("action", "target", "risk", "description", "params", "snippet")


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


def _finding(finding: Finding) -> dict[str, Any]:
    data = finding.to_json()
    return {"step": data["step"], "severity": data["severity"], "title": data["title"], "detail": data["detail"],
            "blocks": data.get("blocks", []), "error_id": data.get("error_id")}


def _remediation(remedy: Remediation) -> dict[str, Any]:
    data = remedy.to_json()
    return {"action": data["action"], "target": data["target"], "risk": data["risk"],
            "description": data["description"], "params": data.get("params", {}),
            "snippet": data.get("snippet") or None}


def report_dict(report: Report) -> dict[str, Any]:
    """The JSON report as a dict: every core key present, in order, then the runbook's extra sections.

    Findings always carry ``blocks`` (a list) and ``error_id`` (null when none); remediations always
    carry ``params`` (an object) and ``snippet`` (null when none).
    """
    data = report.to_json()
    core = {
        "schema_version": SCHEMA_VERSION,
        "runbook": report.runbook,
        "cluster": report.cluster,
        "command": report.command,
        "target": report.target.to_json(),
        "verdict": report.verdict.to_json(),
        "findings": [_finding(finding) for finding in report.findings],
        "remediations": [_remediation(remedy) for remedy in report.remediations],
        "scheduling": report.extra.get("scheduling"),
    }
    clashes = sorted(key for key in report.extra if key in core and key != "scheduling")
    if clashes:
        log.warning("report extra sections %s clash with core keys of the JSON report; core keys kept", clashes)
    data.update(core)
    ordered = {key: data[key] for key in CORE_KEYS}
    ordered.update((key, value) for key, value in data.items() if key not in ordered)
    return ordered


def render_json(report: Report) -> str:
    """The JSON report, indented by two spaces, non-ASCII kept readable (no trailing newline)."""
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False, default=_plain)


def dumps(value: Any) -> str:
    """Any JSON-able value (a list of reports for ``demo --json``) the way :func:`render_json` writes one."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=_plain)

"""Parts every ``describe`` module shares: the :class:`Described` result and how conditions, resources,
tolerations, taints and owner chains are written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clusterdoc.humanize import one_line
from clusterdoc.report import Block, Remediation, Severity, Table, Verdict, worst
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.runbook.registry import StepContext
from clusterdoc.workers.steps.common import age, owner_chain, short_ref

TRUE_IS_BAD = {"MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable", "ReplicaFailure",
               "Failed", "DisruptionTarget", "Suspended", "FileSystemResizePending"}
CONDITION_COLUMNS = ("CONDITION", "STATUS", "OK", "REASON", "MESSAGE", "SINCE")


@dataclass
class Described:
    """What describing one object established, before the size cap."""

    title: str
    severity: Severity = Severity.INFO
    detail: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    verdict: Verdict | None = None
    remediations: list[Remediation] = field(default_factory=list)
    """Fixes an analysis run on the way offers (a crash-looping pod's rollback)."""

    def flag(self, severity: Severity, line: str) -> None:
        """Record a problem: raise the severity and add the line to the detail."""
        self.severity = worst([self.severity, severity])
        self.detail.append(line)

    def blame(self, layer: str, severity: Severity, line: str) -> None:
        """Flag ``line`` and, unless a verdict is already set, make it the verdict for ``layer``."""
        self.flag(severity, line)
        self.verdict = self.verdict or Verdict(layer, severity, line + ".")


def find_condition(conditions: list[dict[str, Any]] | None, kind: str) -> dict[str, Any] | None:
    """The condition of type ``kind`` (``Ready``, ``PodScheduled``), if present."""
    return next((c for c in conditions or [] if c.get("type") == kind), None)


def condition_bad(condition: dict[str, Any]) -> bool:
    status = condition.get("status")
    if condition.get("type") in TRUE_IS_BAD:
        return status == "True"
    if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
        return True
    return status != "True"


def _ok_mark(condition: dict[str, Any]) -> str:
    if condition.get("status") == "Unknown":
        return "?"
    return "NO" if condition_bad(condition) else "yes"


def conditions_table(conditions: list[dict[str, Any]], now: datetime) -> Table:
    """Conditions with the bad ones first, marked ``NO`` (``?`` when Unknown) in the OK column."""
    order = {"NO": 0, "?": 1, "yes": 2}
    ordered = sorted(conditions, key=lambda c: (order[_ok_mark(c)], c.get("type") != "Ready"))
    rows = tuple(
        (
            c.get("type", "?"), c.get("status", "?"), _ok_mark(c),
            c.get("reason") or "", one_line(c.get("message") or "", 240),
            age(c.get("lastTransitionTime"), now),
        )
        for c in ordered
    )
    return Table(CONDITION_COLUMNS, rows)


def resource_list(values: dict[str, Any] | None) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted((values or {}).items()))


def resources_text(container: dict[str, Any]) -> str:
    resources = container.get("resources") or {}
    requests, limits = resource_list(resources.get("requests")), resource_list(resources.get("limits"))
    parts = [f"req {requests}" if requests else "", f"lim {limits}" if limits else ""]
    return "; ".join(p for p in parts if p) or "none"


def toleration_text(toleration: dict[str, Any]) -> str:
    key, operator = toleration.get("key") or "", toleration.get("operator") or "Equal"
    text = key if operator == "Exists" or not key else f"{key}={toleration.get('value', '')}"
    if toleration.get("effect"):
        text += f":{toleration['effect']}"
    if operator == "Exists":
        text += " op=Exists" if key else "(all taints) op=Exists"
    if toleration.get("tolerationSeconds") is not None:
        text += f" for {toleration['tolerationSeconds']}s"
    return text


def taint_text(taint: dict[str, Any]) -> str:
    value = taint.get("value")
    return f"{taint.get('key', '?')}{'=' + value if value else ''}:{taint.get('effect', '?')}"


def chain_facts(ctx: StepContext, obj: Obj) -> list[tuple[str, str]]:
    """A ``Controlled by`` fact (``pod/x → rs/y → deploy/z``), or nothing when ``obj`` has no controller."""
    chain = owner_chain(ctx.cluster, obj)
    if not chain:
        return []
    meta = obj.get("metadata") or {}
    names = [short_ref(obj.get("kind", "?"), meta.get("name", "?"))] + [link.label() for link in chain]
    return [("Controlled by", " → ".join(names))]

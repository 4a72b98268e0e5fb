"""The report a runbook run yields: verdict, findings, remediations — data, never markup.

Renderers (:mod:`clusterdoc.render`) turn a :class:`Report` into Block Kit, terminal text or the JSON
report whose shape DESIGN.md fixes. Steps build findings from the small block types below
(text, key/value facts, tables, preformatted logs) so every sink can render them its own way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


class Severity(StrEnum):
    """How bad a finding or verdict is; ordered ok < info < warning < critical."""

    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.OK: 0, Severity.INFO: 1, Severity.WARNING: 2, Severity.CRITICAL: 3}

Layer = Literal["scheduler", "node", "etcd", "apiserver", "controller", "workload", "none", "unknown"]
LAYERS: tuple[str, ...] = ("scheduler", "node", "etcd", "apiserver", "controller", "workload", "none", "unknown")


@dataclass(frozen=True)
class Target:
    """The object a diagnosis is about (``namespace`` is None for cluster-scoped kinds)."""

    kind: str
    name: str
    namespace: str | None = None

    def ref(self) -> str:
        """``shop/web-0`` for a pod, ``deploy/web`` style is left to renderers."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Target:
        return cls(kind=data["kind"], name=data["name"], namespace=data.get("namespace"))


@dataclass(frozen=True)
class Text:
    """A paragraph of plain text (renderers may add emphasis, never content)."""

    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True)
class Facts:
    """Key/value pairs shown as a compact list (``Node: ip-10-0-1-5``)."""

    items: tuple[tuple[str, str], ...]
    type: Literal["facts"] = "facts"


@dataclass(frozen=True)
class Table:
    """Rows under a header; renderers align columns or fall back to a file upload."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    type: Literal["table"] = "table"


@dataclass(frozen=True)
class Preformatted:
    """Verbatim text such as log lines or a YAML snippet (``language`` is a hint)."""

    text: str
    language: str = ""
    title: str = ""
    type: Literal["pre"] = "pre"


Block = Text | Facts | Table | Preformatted


@dataclass
class Finding:
    """One thing a step established, with the evidence behind it."""

    step: str
    severity: Severity
    title: str
    detail: str = ""
    blocks: list[Block] = field(default_factory=list)
    error_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "step": self.step,
            "severity": str(self.severity),
            "title": self.title,
            "detail": self.detail,
        }
        if self.blocks:
            data["blocks"] = [_block_json(block) for block in self.blocks]
        if self.error_id:
            data["error_id"] = self.error_id
        return data


@dataclass
class Verdict:
    """Which layer is broken, how badly, in one sentence."""

    layer: str
    severity: Severity
    summary: str

    def to_json(self) -> dict[str, Any]:
        return {"layer": self.layer, "severity": str(self.severity), "summary": self.summary}


@dataclass
class Remediation:
    """A fix a step offers: an approve-to-execute action or a copy-paste snippet.

    ``action`` names an entry of the remediation catalogue (``uncordon_node``...) or ``snippet``
    for advice that belongs in the workload's source; ``snippet`` then holds the text.
    """

    action: str
    target: Target
    risk: Literal["low", "medium", "high"]
    description: str
    params: dict[str, Any] = field(default_factory=dict)
    snippet: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "action": self.action,
            "target": self.target.to_json(),
            "risk": self.risk,
            "description": self.description,
        }
        if self.params:
            data["params"] = self.params
        if self.snippet:
            data["snippet"] = self.snippet
        return data


@dataclass
class Report:
    """Everything one runbook run established about one target."""

    runbook: str
    target: Target
    verdict: Verdict
    findings: list[Finding] = field(default_factory=list)
    remediations: list[Remediation] = field(default_factory=list)
    cluster: str = "default"
    command: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    """Runbook-specific sections of the JSON report, e.g. ``scheduling`` for why-pending."""
    primary_step: str | None = None
    """The step whose verdict is the report's (the runbook's ``verdict_step``): renderers show its
    findings, then the remediations, then the other steps' findings as supporting detail."""

    def ordered_findings(self) -> tuple[list[Finding], list[Finding]]:
        """(findings to show before the remediations, findings to show after them)."""
        primary = [f for f in self.findings if self.primary_step and f.step == self.primary_step]
        if not primary or not self.remediations:
            return list(self.findings), []
        return primary, [f for f in self.findings if f.step != self.primary_step]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "runbook": self.runbook,
            "cluster": self.cluster,
            "command": self.command,
            "target": self.target.to_json(),
            "verdict": self.verdict.to_json(),
            "findings": [finding.to_json() for finding in self.findings],
            "remediations": [remedy.to_json() for remedy in self.remediations],
        }
        data.update(self.extra)
        return data


def _block_json(block: Block) -> dict[str, Any]:
    if isinstance(block, Text):
        return {"type": "text", "text": block.text}
    if isinstance(block, Facts):
        return {"type": "facts", "items": [list(pair) for pair in block.items]}
    if isinstance(block, Table):
        return {"type": "table", "columns": list(block.columns), "rows": [list(row) for row in block.rows]}
    return {"type": "pre", "text": block.text, "language": block.language, "title": block.title}


def worst(severities: list[Severity]) -> Severity:
    """The most severe of ``severities`` (``ok`` for an empty list)."""
    return max(severities, key=lambda s: s.rank, default=Severity.OK)

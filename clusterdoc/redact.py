"""Redaction of well-known secret shapes in text that came from a cluster (logs, events, annotations).

Container logs and event messages are the application's words: a token an app printed would
otherwise be posted to chat as-is. :func:`redact` replaces each match of :data:`PATTERNS` (Slack
tokens and webhooks, AWS access key ids and secret keys, GitHub tokens, JWTs, PEM private keys,
``Authorization: Bearer …``/``Basic …`` headers, ``password=``/``secret:``/``token=``-style
assignments) with ``[REDACTED <kind>]`` and counts what it replaced; :func:`redact_report`
applies it to every text of a report and appends one finding that says what was redacted. The
Slack publisher calls it on every report and error line before anything leaves the worker.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from clusterdoc.report import Facts, Finding, Preformatted, Report, Severity, Table, Text

REDACTION_STEP = "redaction"


@dataclass(frozen=True)
class SecretPattern:
    kind: str
    pattern: re.Pattern[str]
    keep_group: int = 0
    """When set, the text of this group is kept (e.g. ``password=``) and only the rest is replaced."""


PATTERNS: tuple[SecretPattern, ...] = (
    SecretPattern("PEM private key", re.compile(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.S)),
    SecretPattern("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{8,}")),
    SecretPattern("Slack token", re.compile(r"\bxapp-\d-[A-Za-z0-9-]{8,}")),
    SecretPattern("Slack webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+")),
    SecretPattern("AWS access key id", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b")),
    SecretPattern("AWS secret key", re.compile(
        r"(?i)(aws_?secret_?access_?key\s*[=:]\s*[\"']?)[A-Za-z0-9/+=]{40}"), keep_group=1),
    SecretPattern("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})")),
    SecretPattern("JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    SecretPattern("authorization header", re.compile(
        r"(?i)(\b(?:authorization|proxy-authorization)\s*[:=]\s*[\"']?(?:bearer|basic|token)\s+)[^\s\"',;]+"),
        keep_group=1),
    SecretPattern("bearer token", re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{16,}"), keep_group=1),
    SecretPattern("password", re.compile(
        r"(?i)(\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|client[_-]?secret)"
        r"\"?\s*[=:]\s*[\"']?)(?!\[REDACTED)[^\s\"'&,;}]{1,}"), keep_group=1),
    SecretPattern("credentials in URL", re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(?=@)"),
                  keep_group=1),
)


@dataclass
class Redactions:
    """What :func:`redact` replaced, by kind."""

    counts: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        """``2 Slack tokens, 1 password``-style list (most frequent first)."""
        return ", ".join(f"{count} {kind}{'s' if count != 1 and not kind.endswith('s') else ''}"
                         for kind, count in self.counts.most_common())


def redact(text: str, found: Redactions | None = None) -> str:
    """``text`` with every secret shape replaced by ``[REDACTED <kind>]``; counts go to ``found``."""
    if not text:
        return text
    for secret in PATTERNS:
        def replace_match(match: re.Match[str], secret: SecretPattern = secret) -> str:
            if found is not None:
                found.counts[secret.kind] += 1
            kept = match.group(secret.keep_group) if secret.keep_group else ""
            return f"{kept}[REDACTED {secret.kind}]"

        text = secret.pattern.sub(replace_match, text)
    return text


def _block(block: Any, found: Redactions) -> Any:
    if isinstance(block, Text):
        return replace(block, text=redact(block.text, found))
    if isinstance(block, Preformatted):
        return replace(block, text=redact(block.text, found), title=redact(block.title, found))
    if isinstance(block, Facts):
        return replace(block, items=tuple((key, redact(value, found)) for key, value in block.items))
    if isinstance(block, Table):
        return replace(block, rows=tuple(tuple(redact(cell, found) for cell in row) for row in block.rows))
    return block


def redact_report(report: Report) -> tuple[Report, Redactions]:
    """``report`` with every finding's text redacted, plus one info finding naming what was redacted."""
    found = Redactions()
    findings = [
        replace(finding, title=redact(finding.title, found), detail=redact(finding.detail, found),
                blocks=[_block(block, found) for block in finding.blocks])
        for finding in report.findings
    ]
    verdict = replace(report.verdict, summary=redact(report.verdict.summary, found))
    if found.total:
        findings.append(Finding(
            step=REDACTION_STEP, severity=Severity.INFO,
            title=f"Redacted {found.total} secret-looking string{'s' if found.total != 1 else ''} before posting",
            detail=f"{found.summary()}: shown as [REDACTED …]; read the original with kubectl if you need it.",
        ))
    return replace(report, findings=findings, verdict=verdict), found

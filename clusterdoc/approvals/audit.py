"""The audit trail: one entry per decision, in a Redis stream and as one structured log line.

Events: ``requested`` (offered with buttons), ``approved``, ``dismissed``, ``refused``,
``expired``, ``executed``, ``failed``. Each names the pending action, the action and target,
the cluster and channel, the requester, the approvers, the person whose click caused it, the
rule that applied, the dry-run result, the outcome and timings. Entries are only ever appended
(``XADD``); ``/k8s audit [N]`` reads the newest N.

Retention: the stream keeps at most :data:`MAX_ENTRIES` entries and none older than
:data:`MAX_AGE_DAYS` days (trimmed on every append, ``XADD MAXLEN ~`` then ``XTRIM MINID ~``);
docs/redis.md says so. The log line is written whatever the process's log level: the
``clusterdoc.audit`` logger is pinned to INFO, and when the process configured no handler at all
it writes to stderr through its own.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis

from clusterdoc import metrics
from clusterdoc.approvals.pending import PendingAction
from clusterdoc.render.text import escape_mrkdwn

STREAM = "clusterdoc:audit"
EVENTS = ("requested", "approved", "dismissed", "refused", "expired", "executed", "failed")
MAX_ENTRIES = 100_000
MAX_AGE_DAYS = 400
"""Entries older than this are trimmed (a year and a month: one yearly review back)."""
log = logging.getLogger("clusterdoc.audit")
log.setLevel(logging.INFO)  # audit lines are written whatever the level of the rest


def _emit(line: str) -> None:
    """Write one audit line: through the process's handlers, or to stderr when it has none."""
    root = logging.getLogger()
    if root.handlers or log.handlers:
        log.info(line)
        return
    fallback = logging.StreamHandler()
    fallback.setFormatter(logging.Formatter("%(asctime)s AUDIT %(message)s"))
    log.addHandler(fallback)
    log.info(line)


@dataclass
class AuditEntry:
    """One decision (all text; ``timings`` in seconds)."""

    event: str
    pending_id: str
    action: str
    target: str
    cluster: str
    channel: str
    requester: str
    actor: str = ""
    approvers: list[str] = field(default_factory=list)
    rule: str = ""
    dry_run: str = ""
    outcome: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    at: float = 0.0
    id: str = ""

    def fields(self) -> dict[str, str]:
        return {
            "event": self.event, "pending_id": self.pending_id, "action": self.action, "target": self.target,
            "cluster": self.cluster, "channel": self.channel, "requester": self.requester, "actor": self.actor,
            "approvers": json.dumps(self.approvers), "rule": self.rule, "dry_run": self.dry_run,
            "outcome": self.outcome, "timings": json.dumps(self.timings), "at": repr(self.at),
        }

    @classmethod
    def from_fields(cls, entry_id: str, raw: dict[bytes, bytes]) -> AuditEntry:
        data = {k.decode(): v.decode() for k, v in raw.items()}
        return cls(
            event=data["event"], pending_id=data["pending_id"], action=data["action"], target=data["target"],
            cluster=data["cluster"], channel=data["channel"], requester=data["requester"], actor=data["actor"],
            approvers=json.loads(data["approvers"]), rule=data["rule"], dry_run=data["dry_run"],
            outcome=data["outcome"], timings=json.loads(data["timings"]), at=float(data["at"]), id=entry_id,
        )


class AuditLog:
    """Append to and read the audit stream."""

    def __init__(self, connection: redis.Redis, stream: str = STREAM) -> None:
        self.redis, self.stream = connection, stream

    def record(
        self, event: str, pending: PendingAction, *, actor: str = "", approvers: list[str] | tuple[str, ...] = (),
        rule: str = "", dry_run: str = "", outcome: str = "", timings: dict[str, float] | None = None,
    ) -> AuditEntry:
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        entry = AuditEntry(
            event=event, pending_id=pending.id, action=pending.action, target=pending.target_text(),
            cluster=pending.cluster, channel=pending.channel, requester=pending.requester, actor=actor,
            approvers=list(approvers), rule=rule, dry_run=dry_run, outcome=outcome, timings=timings or {},
            at=time.time(),
        )
        entry.id = self.redis.xadd(self.stream, entry.fields(), maxlen=MAX_ENTRIES, approximate=True).decode()
        self.trim(entry.at)
        metrics.APPROVALS.labels(outcome=event).inc()
        _emit(json.dumps({"audit": event, **{k: v for k, v in entry.__dict__.items() if v not in ("", [], {})}},
                         sort_keys=True))
        return entry

    def trim(self, now: float, max_age_days: float = MAX_AGE_DAYS) -> int:
        """Drop entries older than ``max_age_days`` (stream ids are milliseconds since the epoch)."""
        cutoff_ms = int((now - max_age_days * 86400) * 1000)
        return int(self.redis.xtrim(self.stream, minid=f"{max(cutoff_ms, 0)}-0", approximate=False))

    def latest(self, count: int = 10) -> list[AuditEntry]:
        """The newest ``count`` entries, newest first."""
        return [AuditEntry.from_fields(i.decode(), raw) for i, raw in self.redis.xrevrange(self.stream, count=count)]

    def for_pending(self, pending_id: str) -> list[AuditEntry]:
        """Every entry of one pending action, oldest first (reads the whole stream: for tests and support)."""
        return [
            AuditEntry.from_fields(i.decode(), raw)
            for i, raw in self.redis.xrange(self.stream)
            if raw.get(b"pending_id", b"").decode() == pending_id
        ]


def format_latest(entries: list[AuditEntry]) -> str:
    """The text ``/k8s audit [N]`` answers with (one line per entry, newest first)."""
    if not entries:
        return "The audit log is empty: no remediation has been offered yet."
    lines = [f"Last {len(entries)} approval decision(s), newest first:"]
    for entry in entries:
        when = datetime.fromtimestamp(entry.at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        who = f" by <@{entry.actor}>" if entry.actor else ""
        line = (f"• {when} *{entry.event}*{who}: `{escape_mrkdwn(entry.action)}` {escape_mrkdwn(entry.target)} "
                f"({escape_mrkdwn(entry.cluster)})")
        line += f", asked by <@{entry.requester}>"
        if entry.approvers:
            line += ", approvers " + ", ".join(f"<@{a}>" for a in entry.approvers)
        if entry.rule:
            line += f", rule: {escape_mrkdwn(entry.rule)}"
        if entry.outcome:
            line += f" — {escape_mrkdwn(entry.outcome[:200])}"  # may quote the API server's words
        lines.append(line)
    return "\n".join(lines)


def audit_command(connection: redis.Redis, count: int = 10) -> str:
    """Support function for ``/k8s audit [N]`` (N capped at 50)."""
    return format_latest(AuditLog(connection).latest(max(1, min(count, 50))))


def audit_reply(connection: redis.Redis, count: int = 10) -> str:
    """:func:`audit_command`, or one line saying the audit log cannot be read (Redis down)."""
    try:
        return audit_command(connection, count)
    except redis.RedisError as exc:
        log.error("cannot read the audit stream: %s", exc)
        return ":x: The audit log cannot be read right now (Redis is unreachable)."

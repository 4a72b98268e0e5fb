"""The incident store: incident → channel, root ``ts``, alerts and status, in Redis with a TTL.

An incident is keyed by Alertmanager's ``groupKey`` (default) or by the alert fingerprint. Its
state is one JSON value under ``clusterdoc:incident:<id>`` that expires ``incident_ttl_hours``
after the last change, so restarts of the bot or the workers keep their threads. Creation is
``SET NX`` (first seen wins), changes happen under a per-incident Redis lock, and "triage this
firing" is claimed with ``SET NX`` on (incident, fingerprint, startsAt): HA duplicate
deliveries and ``repeat_interval`` re-sends neither re-run triage nor post again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis import Redis
from redis.lock import Lock

INCIDENT_PREFIX = "clusterdoc:incident:"
TRIAGED_PREFIX = "clusterdoc:triaged:"
LOCK_SECONDS = 120


def incident_id(mode: str, key: str) -> str:
    """A short stable id for an incident key (group keys can be long)."""
    return hashlib.sha256(f"{mode}\0{key}".encode()).hexdigest()[:24]


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass
class Incident:
    """One incident's thread and the alerts in it (alerts by fingerprint, as :meth:`Alert.to_record`)."""

    id: str
    key: str
    channel: str
    cluster: str
    ts: str = ""
    status: str = "firing"
    started_at: str | None = None
    resolved_at: str | None = None
    opened_at: float = 0.0
    storm: str = ""
    """The id of the storm this incident was folded into (its thread is the storm root's), or ``""``."""
    external_url: str = ""
    truncated_alerts: int = 0
    """Alerts Alertmanager left out of the latest notification (``truncatedAlerts``, webhook ``max_alerts``)."""
    group_labels: dict[str, str] = field(default_factory=dict)
    common_labels: dict[str, str] = field(default_factory=dict)
    common_annotations: dict[str, str] = field(default_factory=dict)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def firing_alerts(self) -> list[dict[str, Any]]:
        return [alert for alert in self.alerts.values() if alert["status"] == "firing"]

    def to_json(self) -> str:
        return json.dumps(vars(self), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Incident:
        return cls(**json.loads(raw))


class IncidentStore:
    """Incidents in Redis; every write refreshes the TTL."""

    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl = ttl_seconds

    def lock(self, ident: str) -> Lock:
        return self.redis.lock(f"{INCIDENT_PREFIX}{ident}:lock", timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS)

    def get(self, ident: str) -> Incident | None:
        raw = self.redis.get(INCIDENT_PREFIX + ident)
        return Incident.from_json(raw) if raw else None

    def create(self, incident: Incident) -> bool:
        """Store a new incident; False when one with this id exists already (first seen wins)."""
        return bool(self.redis.set(INCIDENT_PREFIX + incident.id, incident.to_json(), nx=True, ex=self.ttl))

    def replace(self, incident: Incident) -> None:
        """Start over under an existing id (a re-fire after the reopen window)."""
        self.redis.set(INCIDENT_PREFIX + incident.id, incident.to_json(), ex=self.ttl)

    def save(self, incident: Incident) -> None:
        self.redis.set(INCIDENT_PREFIX + incident.id, incident.to_json(), ex=self.ttl)

    def claim_triage(self, ident: str, firings: list[tuple[str, str | None]]) -> list[bool]:
        """For each (fingerprint, startsAt): True exactly once per incident, alert and firing (one round trip)."""
        pipe = self.redis.pipeline(transaction=False)
        for fingerprint, starts_at in firings:
            pipe.set(f"{TRIAGED_PREFIX}{ident}:{fingerprint}:{starts_at or ''}", "1", nx=True, ex=self.ttl)
        return [bool(claimed) for claimed in pipe.execute()]

    def count(self) -> int:
        return sum(1 for key in self.redis.scan_iter(match=INCIDENT_PREFIX + "*", count=1000)
                   if not key.endswith(b":lock"))

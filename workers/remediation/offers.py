"""Remediations offered for approval: the catalogue's actions in a report, with their targets' identity.

At diagnosis the worker records, through the read-only ``Cluster``, what each target looked like
(UID, resourceVersion, generation...), so the action can later refuse if it changed. Where the
offers go (buttons in the thread) is the process wiring's business: an :class:`OfferSink`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from clusterdoc.queue import ThreadRef
from clusterdoc.report import Remediation, Report
from clusterdoc.workers.cluster.base import Cluster
from clusterdoc.workers.etcd_client import EtcdClient
from clusterdoc.workers.remediation import catalogue, runner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Offer:
    """One approvable remediation and its target's identity as seen at diagnosis."""

    remediation: Remediation
    seen: dict[str, Any] = field(default_factory=dict)


class OfferSink(Protocol):
    """Puts offers in front of people (in production: Approve/Dismiss buttons in the thread)."""

    def offer(self, offers: list[Offer], thread: ThreadRef, *, requester: str, cluster: str) -> None: ...


def approvable(cluster: Cluster, report: Report, etcd: EtcdClient | None = None) -> list[Offer]:
    """The report's remediations that name a catalogue action, each with its target's identity.

    A target that cannot be read now (a Kubernetes object through ``cluster``, an etcd member
    through ``etcd``) is not offered: without its identity nothing could later tell whether it
    changed before the approval.
    """
    offers = []
    for remediation in report.remediations:
        if remediation.action not in catalogue.ACTIONS:
            continue
        seen = runner.observe(cluster, remediation, etcd)
        if not seen:
            log.warning("not offering %s on %s: its target cannot be read", remediation.action,
                        remediation.target.ref())
            continue
        offers.append(Offer(remediation, seen))
    return offers

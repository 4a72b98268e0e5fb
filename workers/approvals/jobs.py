"""The approval side of a worker process: the click job RQ runs, and where offers are posted.

``clusterdoc.bot.approvals.listeners`` enqueues :func:`handle_click` on the queue of the cluster the
pending action is for, so the decision and the execution happen on that cluster's worker, off
the request path. :func:`configure` (called by the worker process wiring) sets the process's
:class:`ApprovalService`; :func:`build_service` makes one from the settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kubernetes import client as k8s_client
from redis import Redis
from slack_sdk import WebClient

from clusterdoc.approvals.policy import ApprovalPolicy, KubernetesIdentity
from clusterdoc.approvals.usergroups import UserGroupCache
from clusterdoc.config import Settings
from clusterdoc.queue import Click, ThreadRef
from clusterdoc.workers.approvals.service import ApprovalService
from clusterdoc.workers.cluster.base import ClusterError
from clusterdoc.workers.cluster.live import load_configuration
from clusterdoc.workers.remediation.base import ActionContext
from clusterdoc.workers.remediation.client import RemediationClient
from clusterdoc.workers.remediation.etcd import EtcdMaintenance
from clusterdoc.workers.remediation.offers import Offer

log = logging.getLogger(__name__)


_service: ApprovalService | None = None


class ServiceOffers:
    """:class:`clusterdoc.workers.remediation.offers.OfferSink` posting offers through an :class:`ApprovalService`."""

    def __init__(self, service: ApprovalService) -> None:
        self.service = service

    def offer(self, offers: list[Offer], thread: ThreadRef, *, requester: str, cluster: str) -> None:
        for item in offers:
            self.service.offer(item.remediation, seen=item.seen, requester=requester, channel=thread.channel,
                               thread_ts=thread.ts, cluster=cluster)


def configure(service: ApprovalService) -> None:
    """Set this process's approval service (call once before working)."""
    global _service
    _service = service


def service() -> ApprovalService:
    if _service is None:
        raise RuntimeError("clusterdoc.workers.approvals.jobs.configure() was not called in this worker process")
    return _service


def handle_click(click: dict[str, Any]) -> str:
    """RQ job: decide on and act on one Approve/Dismiss click; returns what happened.

    First closes claims past their deadline (workers that died mid-execution), so they become
    visible whenever any click is worked on."""
    sweep_stalled()
    return service().handle(Click.from_json(click))


def sweep_stalled() -> list[str]:
    """RQ job (also run before every click): report claims whose worker stopped; never re-runs them."""
    try:
        return service().sweep_stalled()
    except Exception:  # a failing sweep must not lose the click that triggered it
        log.exception("sweeping stalled approval claims failed")
        return []


def action_contexts(
    configuration: k8s_client.Configuration | None,
    etcd: EtcdMaintenance | None,
    default_identity: KubernetesIdentity | None,
    **options: Any,
) -> Callable[[KubernetesIdentity | None], ActionContext]:
    """What an action runs with: the approver's mapped identity, else ``default_identity``, else
    the worker's own credentials (``options`` go to :class:`ActionContext`)."""

    def context(identity: KubernetesIdentity | None) -> ActionContext:
        client = RemediationClient(configuration) if configuration is not None else None
        identity = identity or default_identity
        if client is not None and identity is not None:
            client = client.as_identity(identity.user, tuple(identity.groups))
        return ActionContext(client=client, etcd=etcd, **options)

    return context


def build_service(settings: Settings, policy: ApprovalPolicy, connection: Redis, slack: WebClient) -> ApprovalService:
    """The service for a worker: its cluster credentials (unless it works on a snapshot) and etcd members."""
    configuration = None
    if not settings.CLUSTERDOC_SNAPSHOT:
        try:
            configuration = load_configuration(settings.KUBECONFIG)
        except ClusterError as exc:
            log.warning("remediations disabled on this worker: %s", exc)
    etcd = (
        EtcdMaintenance.from_settings(settings.ETCD_ENDPOINTS, settings.ETCD_CACERT, settings.ETCD_CERT,
                                      settings.ETCD_KEY)
        if settings.ETCD_ENDPOINTS else None
    )

    context = action_contexts(configuration, etcd, policy.remediation_identity)
    groups = UserGroupCache(slack)
    return ApprovalService(connection=connection, slack=slack, policy=policy, members_of=groups.members,
                           context_factory=context)

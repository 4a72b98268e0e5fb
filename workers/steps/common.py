"""Small helpers the step kinds share: quantities, times and ages, owner chains, a workload's pods.

Everything here reads plain API objects (JSON dicts). The two helpers that talk to the cluster
keep the number of requests bounded: :func:`owner_chain` makes one GET per owner level, and
:func:`workload_members` makes at most two LIST calls (ReplicaSets, pods) whatever the number
of pods, caching the answer in the run's shared state so ``describe`` and ``events`` reuse it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from clusterdoc import kinds
from clusterdoc.humanize import human_duration, parse_time
from clusterdoc.report import Finding, Severity
from clusterdoc.workers.cluster.base import Cluster, ClusterError, Obj
from clusterdoc.workers.runbook.registry import StepContext, StepResult
from clusterdoc.workers.scheduling import quantities

MAX_OWNER_DEPTH = 4

def parse_quantity(value: str | int | float | None) -> Decimal:
    """A Kubernetes quantity (``500m``, ``2Gi``, ``1e3``, ``128974848``) as a number; ValueError if malformed.

    The parsing itself is :func:`clusterdoc.workers.scheduling.quantities.parse` (one parser for the whole
    code base); this adds only that a missing quantity counts as zero.
    """
    if value is None:
        return Decimal(0)
    return quantities.parse(value)


def format_cpu(cores: Decimal) -> str:
    """Cores in kubectl's canonical form (``250m``, ``1500m``, ``2``)."""
    return quantities.format_cpu(int((cores * 1000).to_integral_value()))


def format_bytes(amount: Decimal) -> str:
    """Bytes in the largest binary unit with one decimal (``1.5Gi``, ``1Ei``)."""
    return quantities.format_bytes(int(amount))


def format_quantity(resource: str, amount: Decimal) -> str:
    """A quantity written the way people read that resource."""
    if resource == "cpu":
        return format_cpu(amount)
    if resource in ("memory", "ephemeral-storage", "storage") or resource.startswith("hugepages-"):
        return format_bytes(amount)
    return str(int(amount)) if amount == amount.to_integral_value() else str(amount)


def target_of_kind(ctx: StepContext, step_name: str, kind: str) -> tuple[Obj | None, StepResult | None]:
    """The run's target when it is a ``kind``; otherwise an INFO result saying what the step looks at."""
    target = ctx.target_object
    if target is not None and target.get("kind") == kind:
        return target, None
    actual = target.get("kind") if target else "nothing"
    return None, StepResult([Finding(step_name, Severity.INFO, f"{step_name} looks at a {kind.lower()}, not {actual}")])




def age(value: Any, now: datetime) -> str:
    """How long ago a timestamp was (``5m``), or ``?`` when it is missing."""
    when = parse_time(value)
    return human_duration(now - when) if when else "?"


def ago(when: datetime | None, now: datetime) -> str:
    """``5m ago`` for a parsed time, or ``?`` when it is unknown."""
    return f"{human_duration(now - when)} ago" if when else "?"


def ref(obj: Obj) -> str:
    """``Pod shop/web-0`` style reference to an object."""
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind', '?')} {where}{meta.get('name', '?')}"


_SHORT = {"Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds", "ReplicaSet": "rs",
          "PersistentVolumeClaim": "pvc", "PersistentVolume": "pv", "StorageClass": "sc"}


def short_ref(kind: str, name: str) -> str:
    """``pod/web-0``, ``deploy/api``, ``node/ip-10-0-1-5``: the spelling people type after ``/k8s describe``."""
    return f"{_SHORT.get(kind, kind.lower())}/{name}"


def controller_of(obj: Obj) -> dict[str, Any] | None:
    """The ownerReference with ``controller: true`` (or the only one), if any."""
    owners = (obj.get("metadata") or {}).get("ownerReferences") or []
    for owner in owners:
        if owner.get("controller"):
            return owner
    return owners[0] if len(owners) == 1 else None


@dataclass(frozen=True)
class OwnerLink:
    """One level of an owner chain; ``obj`` is None when the owner could not be read."""

    kind: str
    name: str
    obj: Obj | None
    problem: str = ""

    def label(self) -> str:
        text = short_ref(self.kind, self.name)
        return f"{text} ({self.problem})" if self.problem else text


def owner_chain(cluster: Cluster, obj: Obj) -> list[OwnerLink]:
    """The controllers above ``obj`` (Pod → ReplicaSet → Deployment), one GET per level."""
    chain: list[OwnerLink] = []
    namespace = (obj.get("metadata") or {}).get("namespace")
    current: Obj | None = obj
    while current is not None and len(chain) < MAX_OWNER_DEPTH:
        owner = controller_of(current)
        if owner is None:
            break
        kind, name = owner.get("kind", "?"), owner.get("name", "?")
        if kinds.lookup(kind) is None:
            chain.append(OwnerLink(kind, name, None))
            break
        try:
            fetched = cluster.get(kind, name, namespace)
        except ClusterError as exc:
            problem = "not found" if "not found" in str(exc) else "cannot read"
            chain.append(OwnerLink(kind, name, None, problem))
            break
        if owner.get("uid") and (fetched.get("metadata") or {}).get("uid") not in (None, owner["uid"]):
            chain.append(OwnerLink(kind, name, None, "a newer object with that name"))
            break
        chain.append(OwnerLink(kind, name, fetched))
        current = fetched
    return chain


def selector_string(selector: dict[str, Any] | None) -> str | None:
    """A LabelSelector (``matchLabels``/``matchExpressions``) as a ``labelSelector`` query string.

    None for an empty or missing selector, which would match every pod: callers must not list
    with it.
    """
    if not selector:
        return None
    terms = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key", ""), expression.get("operator", "")
        values = ",".join(expression.get("values") or [])
        if operator == "In":
            terms.append(f"{key} in ({values})")
        elif operator == "NotIn":
            terms.append(f"{key} notin ({values})")
        elif operator == "Exists":
            terms.append(key)
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
        else:
            raise ValueError(f"unknown label selector operator {operator!r} for key {key!r}")
    return ",".join(terms) or None


def owned_by(obj: Obj, owner_uids: set[str]) -> bool:
    """Whether one of ``obj``'s ownerReferences points at one of ``owner_uids``."""
    return any(ref.get("uid") in owner_uids for ref in (obj.get("metadata") or {}).get("ownerReferences") or [])


@dataclass
class Members:
    """The objects a workload controls: its ReplicaSets (Deployments only) and its pods."""

    replicasets: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)
    note: str = ""


def workload_members(ctx: StepContext, workload: Obj) -> Members:
    """ReplicaSets and pods of a workload: one LIST each, filtered by ownership; cached per run."""
    meta = workload.get("metadata") or {}
    key = ("members", workload.get("kind"), meta.get("namespace"), meta.get("name"))
    cached = ctx.shared.get(str(key))
    if isinstance(cached, Members):
        return cached
    members = _fetch_members(ctx.cluster, workload)
    ctx.shared[str(key)] = members
    return members


def _fetch_members(cluster: Cluster, workload: Obj) -> Members:
    meta = workload.get("metadata") or {}
    namespace, uid = meta.get("namespace"), meta.get("uid")
    try:
        selector = selector_string((workload.get("spec") or {}).get("selector"))
    except ValueError as exc:
        return Members(note=f"cannot use the selector: {exc}")
    if selector is None:
        return Members(note="it has no pod selector")
    owners = {uid} if uid else set()
    members = Members()
    try:
        if workload.get("kind") == "Deployment":
            members.replicasets = [
                rs for rs in cluster.list("ReplicaSet", namespace, label_selector=selector) if owned_by(rs, owners)
            ]
            owners = {str((rs.get("metadata") or {}).get("uid")) for rs in members.replicasets}
        members.pods = [pod for pod in cluster.list("Pod", namespace, label_selector=selector) if owned_by(pod, owners)]
    except ClusterError as exc:
        members.note = f"they could not be read ({exc})"
    return members


def is_workload(obj: Obj | None) -> bool:
    return obj is not None and bool(obj) and obj.get("kind") in kinds.WORKLOAD_KINDS



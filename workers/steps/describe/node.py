"""Describing a Node: readiness and heartbeat, capacity against what its pods request, taints, its pods.

A node costs one GET (its Lease in ``kube-node-lease``) and one LIST (the pods bound to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from clusterdoc.humanize import human_duration, one_line, parse_time
from clusterdoc.report import Facts, Severity, Table, Text, Verdict
from clusterdoc.workers.cluster.base import ClusterError, NotFound, Obj
from clusterdoc.workers.runbook.registry import StepContext
from clusterdoc.workers.steps.common import age, format_quantity, parse_quantity
from clusterdoc.workers.steps.describe.parts import (
    Described,
    condition_bad,
    conditions_table,
    find_condition,
    taint_text,
)
from clusterdoc.workers.steps.describe.pod import pod_row, unhealthy_rank

NODE_LEASE_NAMESPACE = "kube-node-lease"
NODE_MONITOR_GRACE_SECONDS = 40
"""kube-controller-manager's default ``--node-monitor-grace-period``."""


def pod_requests(pod: Obj) -> dict[str, Decimal]:
    """The pod's effective requests: max(init containers, app containers + sidecars) + overhead."""
    spec = pod.get("spec") or {}
    total: dict[str, Decimal] = {}
    init_max: dict[str, Decimal] = {}

    def add(target: dict[str, Decimal], requests: dict[str, Any]) -> None:
        for key, value in requests.items():
            target[key] = target.get(key, Decimal(0)) + parse_quantity(value)

    for container in spec.get("containers") or []:
        add(total, (container.get("resources") or {}).get("requests") or {})
    sidecars: dict[str, Decimal] = {}
    for container in spec.get("initContainers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        if container.get("restartPolicy") == "Always":
            add(sidecars, requests)
            continue
        for key, value in requests.items():
            init_max[key] = max(init_max.get(key, Decimal(0)), parse_quantity(value) + sidecars.get(key, Decimal(0)))
    add(total, {k: str(v) for k, v in sidecars.items()})
    for key, value in init_max.items():
        total[key] = max(total.get(key, Decimal(0)), value)
    add(total, spec.get("overhead") or {})
    return total


def _heartbeat(ctx: StepContext, node: Obj) -> tuple[str, float | None]:
    """``(text, seconds)``: the age of the node's Lease renewal (the heartbeat), and of its last status post."""
    name = (node.get("metadata") or {}).get("name", "?")
    parts: list[str] = []
    seconds: float | None = None
    try:
        lease = ctx.cluster.get("Lease", name, NODE_LEASE_NAMESPACE)
        renewed = parse_time((lease.get("spec") or {}).get("renewTime"))
        if renewed:
            seconds = (ctx.now - renewed).total_seconds()
            parts.append(f"Lease renewed {human_duration(ctx.now - renewed)} ago")
    except NotFound:
        parts.append(f"no Lease in {NODE_LEASE_NAMESPACE}")
    except ClusterError as exc:  # say why: a missing permission must be visible, not guessed at
        parts.append(f"Lease not readable ({exc})")
    ready = find_condition((node.get("status") or {}).get("conditions"), "Ready") or {}
    beat = parse_time(ready.get("lastHeartbeatTime"))
    if beat:
        parts.append(f"status posted {human_duration(ctx.now - beat)} ago")
        seconds = seconds if seconds is not None else (ctx.now - beat).total_seconds()
    return "; ".join(parts) or "unknown", seconds


# -- reading ---------------------------------------------------------------------------------------


@dataclass
class NodeView:
    """A node as read from the cluster: itself, its heartbeat and the pods bound to it."""

    obj: Obj
    name: str
    conditions: list[dict[str, Any]]
    ready: dict[str, Any]
    cordoned: bool
    heartbeat_text: str
    heartbeat_age: float | None
    pods: list[Obj]
    pods_problem: str | None
    """Why the pods could not be listed (None when they were)."""

    @property
    def live(self) -> list[Obj]:
        """Pods not yet terminated (Succeeded/Failed pods hold no resources)."""
        return [p for p in self.pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]

    @property
    def terminating(self) -> int:
        return sum(1 for p in self.live if (p.get("metadata") or {}).get("deletionTimestamp"))

    @property
    def not_ready(self) -> int:
        return sum(1 for p in self.live if any(c.get("type") == "Ready" and c.get("status") != "True"
                                               for c in (p.get("status") or {}).get("conditions") or []))


def read_node(ctx: StepContext, node: Obj) -> NodeView:
    """One GET (the Lease) and one LIST (the pods bound to the node)."""
    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    name = meta.get("name", "?")
    conditions = status.get("conditions") or []
    heartbeat_text, heartbeat_age = _heartbeat(ctx, node)
    try:
        pods, problem = list(ctx.cluster.list("Pod", field_selector=f"spec.nodeName={name}")), None
    except ClusterError as exc:
        pods, problem = [], str(exc)
    return NodeView(node, name, conditions, find_condition(conditions, "Ready") or {}, bool(spec.get("unschedulable")),
                    heartbeat_text, heartbeat_age, pods, problem)


# -- deciding --------------------------------------------------------------------------------------


def requested_on(view: NodeView) -> dict[str, Decimal]:
    """What the node's live pods request, summed per resource."""
    requested: dict[str, Decimal] = {}
    for pod in view.live:
        for key, value in pod_requests(pod).items():
            requested[key] = requested.get(key, Decimal(0)) + value
    return requested


def is_ready(view: NodeView) -> bool:
    return view.ready.get("status") == "True"


def heartbeat_stale(view: NodeView) -> bool:
    """Ready, but the heartbeat is older than kube-controller-manager's grace period."""
    return view.heartbeat_age is not None and view.heartbeat_age > NODE_MONITOR_GRACE_SECONDS


def pressure_conditions(view: NodeView) -> list[dict[str, Any]]:
    return [c for c in view.conditions
            if c.get("type") != "Ready" and condition_bad(c) and c.get("status") == "True"]


# -- wording ---------------------------------------------------------------------------------------


def ready_text(view: NodeView) -> str:
    text = "Ready" if is_ready(view) else f"NotReady ({view.ready.get('status', 'no Ready condition')})"
    return text + (", SchedulingDisabled" if view.cordoned else "")


def node_facts(view: NodeView, now: datetime) -> Facts:
    meta, status = view.obj.get("metadata") or {}, view.obj.get("status") or {}
    labels = meta.get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")) or ["<none>"]
    info = status.get("nodeInfo") or {}
    addresses = ", ".join(f"{a.get('type')}={a.get('address')}" for a in status.get("addresses") or [])
    facts: list[tuple[str, str]] = [
        ("Status", ready_text(view)), ("Roles", ",".join(roles)), ("Age", age(meta.get("creationTimestamp"), now)),
        ("Heartbeat", view.heartbeat_text), ("Unschedulable", "yes (cordoned)" if view.cordoned else "no"),
        ("Kubelet", info.get("kubeletVersion", "?")),
        ("OS / runtime", f"{info.get('osImage', '?')}, kernel {info.get('kernelVersion', '?')}, "
                         f"{info.get('containerRuntimeVersion', '?')}"),
        ("Addresses", addresses or "none"),
    ]
    for label, key in (("Zone", "topology.kubernetes.io/zone"), ("Instance type", "node.kubernetes.io/instance-type")):
        if labels.get(key):
            facts.append((label, labels[key]))
    if view.pods_problem is not None:
        facts.append(("Pods", f"not readable ({view.pods_problem})"))
    else:
        facts.append(("Pods", f"{len(view.live)} non-terminated ({view.not_ready} not ready, "
                              f"{view.terminating} terminating)"))
    return Facts(tuple(facts))


def resources_table(view: NodeView) -> Table:
    status = view.obj.get("status") or {}
    requested = requested_on(view)
    capacity, allocatable = status.get("capacity") or {}, status.get("allocatable") or {}
    rows = []
    for resource in sorted(set(capacity) | set(allocatable), key=lambda r: (r not in ("cpu", "memory", "pods"), r)):
        alloc = parse_quantity(allocatable.get(resource, "0"))
        if not alloc and not parse_quantity(capacity.get(resource, "0")):
            continue
        used = len(view.live) if resource == "pods" else requested.get(resource, Decimal(0))
        share = f" ({int(Decimal(used) * 100 / alloc)}%)" if alloc else ""
        rows.append((resource, format_quantity(resource, parse_quantity(capacity.get(resource, "0"))),
                     format_quantity(resource, alloc), format_quantity(resource, Decimal(used)) + share))
    return Table(("RESOURCE", "CAPACITY", "ALLOCATABLE", "REQUESTED"), tuple(rows))


def taints_block(view: NodeView, now: datetime) -> Table | Text:
    taints = (view.obj.get("spec") or {}).get("taints") or []
    if not taints:
        return Text("Taints: none")
    return Table(("TAINT", "EFFECT", "SINCE"), tuple(
        (taint_text(t).rsplit(":", 1)[0], t.get("effect", "?"), age(t.get("timeAdded"), now) if t.get("timeAdded")
         else "") for t in taints))


def not_ready_line(view: NodeView) -> str:
    why = one_line(f"{view.ready.get('reason', '')}: {view.ready.get('message', '')}".strip(": "), 240)
    return f"Node {view.name} is NotReady ({why}); {view.heartbeat_text}"


NOT_READY_ADVICE = ("The kubelet stopped reporting: check that the instance runs and is reachable, then the "
                    "kubelet and container runtime logs on it.")


# -- the description -------------------------------------------------------------------------------


def describe_node(ctx: StepContext, node: Obj) -> Described:
    """The node's facts, resources, conditions, taints and pods; NotReady, stale heartbeat, pressure."""
    view = read_node(ctx, node)
    out = Described(f"Node {view.name}: {ready_text(view)}")
    out.blocks.append(node_facts(view, ctx.now))
    out.blocks.append(resources_table(view))
    if view.conditions:
        out.blocks.append(conditions_table(view.conditions, ctx.now))
    out.blocks.append(taints_block(view, ctx.now))
    if view.live:
        ranked = sorted(view.live, key=unhealthy_rank, reverse=True)
        out.blocks.append(Table(("POD", "READY", "STATUS", "RESTARTS", "AGE"),
                                tuple(pod_row(p, ctx.now, on_node=True) for p in ranked)))
    if not is_ready(view):
        line = not_ready_line(view)
        out.flag(Severity.CRITICAL, line)
        out.detail.append(NOT_READY_ADVICE)
        if view.live:
            out.detail.append(f"{len(view.live)} pods are bound to it ({view.terminating} terminating).")
        out.verdict = Verdict("node", Severity.CRITICAL, line + ".")
    elif heartbeat_stale(view):
        out.flag(Severity.WARNING, f"Node {view.name} reports Ready but its heartbeat is stale: {view.heartbeat_text}")
    for condition in pressure_conditions(view):
        out.blame("node", Severity.WARNING,
                  f"Node {view.name} has {condition['type']}: {one_line(condition.get('message') or '', 200)}")
    if view.cordoned:
        out.flag(Severity.INFO, f"Node {view.name} is cordoned: no new pods will be scheduled on it")
    return out

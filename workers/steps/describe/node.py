"""Describing a Node: readiness and heartbeat, capacity against what its pods request, taints, its pods.

A node costs one GET (its Lease in ``kube-node-lease``) and one LIST (the pods bound to it).
"""

from __future__ import annotations

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


def describe_node(ctx: StepContext, node: Obj) -> Described:
    """The node's facts, resources, conditions, taints and pods; NotReady, stale heartbeat, pressure."""
    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    name, now, labels = meta.get("name", "?"), ctx.now, meta.get("labels") or {}
    conditions = status.get("conditions") or []
    ready = find_condition(conditions, "Ready") or {}
    ready_text = "Ready" if ready.get("status") == "True" else f"NotReady ({ready.get('status', 'no Ready condition')})"
    shown = ready_text + (", SchedulingDisabled" if spec.get("unschedulable") else "")
    out = Described(f"Node {name}: {shown}")
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")) or ["<none>"]
    info = status.get("nodeInfo") or {}
    heartbeat_text, heartbeat_age = _heartbeat(ctx, node)
    addresses = ", ".join(f"{a.get('type')}={a.get('address')}" for a in status.get("addresses") or [])
    facts: list[tuple[str, str]] = [
        ("Status", shown), ("Roles", ",".join(roles)), ("Age", age(meta.get("creationTimestamp"), now)),
        ("Heartbeat", heartbeat_text), ("Unschedulable", "yes (cordoned)" if spec.get("unschedulable") else "no"),
        ("Kubelet", info.get("kubeletVersion", "?")),
        ("OS / runtime", f"{info.get('osImage', '?')}, kernel {info.get('kernelVersion', '?')}, "
                         f"{info.get('containerRuntimeVersion', '?')}"),
        ("Addresses", addresses or "none"),
    ]
    for label, key in (("Zone", "topology.kubernetes.io/zone"), ("Instance type", "node.kubernetes.io/instance-type")):
        if labels.get(key):
            facts.append((label, labels[key]))
    try:
        pods = list(ctx.cluster.list("Pod", field_selector=f"spec.nodeName={name}"))
    except ClusterError as exc:
        pods = []
        facts.append(("Pods", f"not readable ({exc})"))
    live = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    terminating = sum(1 for p in live if (p.get("metadata") or {}).get("deletionTimestamp"))
    not_ready = sum(1 for p in live if any(c.get("type") == "Ready" and c.get("status") != "True"
                                           for c in (p.get("status") or {}).get("conditions") or []))
    if pods or not facts[-1][1].startswith("not readable"):
        facts.append(("Pods", f"{len(live)} non-terminated ({not_ready} not ready, {terminating} terminating)"))
    out.blocks.append(Facts(tuple(facts)))

    requested: dict[str, Decimal] = {}
    for pod in live:
        for key, value in pod_requests(pod).items():
            requested[key] = requested.get(key, Decimal(0)) + value
    capacity, allocatable = status.get("capacity") or {}, status.get("allocatable") or {}
    rows = []
    for resource in sorted(set(capacity) | set(allocatable), key=lambda r: (r not in ("cpu", "memory", "pods"), r)):
        alloc = parse_quantity(allocatable.get(resource, "0"))
        if not alloc and not parse_quantity(capacity.get(resource, "0")):
            continue
        used = len(live) if resource == "pods" else requested.get(resource, Decimal(0))
        share = f" ({int(Decimal(used) * 100 / alloc)}%)" if alloc else ""
        rows.append((resource, format_quantity(resource, parse_quantity(capacity.get(resource, "0"))),
                     format_quantity(resource, alloc), format_quantity(resource, Decimal(used)) + share))
    out.blocks.append(Table(("RESOURCE", "CAPACITY", "ALLOCATABLE", "REQUESTED"), tuple(rows)))
    if conditions:
        out.blocks.append(conditions_table(conditions, now))
    taints = spec.get("taints") or []
    out.blocks.append(Table(("TAINT", "EFFECT", "SINCE"), tuple(
        (taint_text(t).rsplit(":", 1)[0], t.get("effect", "?"), age(t.get("timeAdded"), now) if t.get("timeAdded")
         else "") for t in taints
    )) if taints else Text("Taints: none"))
    if live:
        ranked = sorted(live, key=unhealthy_rank, reverse=True)
        out.blocks.append(Table(("POD", "READY", "STATUS", "RESTARTS", "AGE"),
                                tuple(pod_row(p, now, on_node=True) for p in ranked)))

    if ready.get("status") != "True":
        why = one_line(f"{ready.get('reason', '')}: {ready.get('message', '')}".strip(": "), 240)
        line = f"Node {name} is NotReady ({why}); {heartbeat_text}"
        out.flag(Severity.CRITICAL, line)
        out.detail.append("The kubelet stopped reporting: check that the instance runs and is reachable, then the "
                          "kubelet and container runtime logs on it.")
        if live:
            out.detail.append(f"{len(live)} pods are bound to it ({terminating} terminating).")
        out.verdict = Verdict("node", Severity.CRITICAL, line + ".")
    elif heartbeat_age is not None and heartbeat_age > NODE_MONITOR_GRACE_SECONDS:
        out.flag(Severity.WARNING, f"Node {name} reports Ready but its heartbeat is stale: {heartbeat_text}")
    for condition in conditions:
        if condition.get("type") != "Ready" and condition_bad(condition) and condition.get("status") == "True":
            line = f"Node {name} has {condition['type']}: {one_line(condition.get('message') or '', 200)}"
            out.blame("node", Severity.WARNING, line)
    if spec.get("unschedulable"):
        out.flag(Severity.INFO, f"Node {name} is cordoned: no new pods will be scheduled on it")
    return out


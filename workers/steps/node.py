"""The ``node`` step: is this node healthy, and if not, which part of it is failing?

Reads the node's conditions (with their messages), the age of its heartbeat Lease in
``kube-node-lease`` (against ``node-monitor-grace-period``, 40 s by default), its taints
(``not-ready``/``unreachable``/pressure taints the node controller adds), and the pods bound to it
counted by phase — from ONE pod LIST with ``fieldSelector=spec.nodeName=<node>``, whatever the
cluster's size. The node's events come from the ``events`` step that follows in the runbook.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from clusterdoc.humanize import human_duration, one_line, parse_time
from clusterdoc.report import Facts, Finding, Severity, Table, Verdict
from clusterdoc.workers.cluster.base import ClusterError, NotFound, Obj
from clusterdoc.workers.runbook.registry import StepContext, StepKind, StepParams, StepResult
from clusterdoc.workers.steps.common import target_of_kind

STEP = "node"
LEASE_NAMESPACE = "kube-node-lease"
PRESSURES = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")
CONTROLLER_TAINTS = {
    "node.kubernetes.io/not-ready": "the node controller marked it not ready",
    "node.kubernetes.io/unreachable": "the node controller lost contact with its kubelet",
    "node.kubernetes.io/memory-pressure": "memory pressure",
    "node.kubernetes.io/disk-pressure": "disk pressure",
    "node.kubernetes.io/pid-pressure": "PID pressure",
    "node.kubernetes.io/network-unavailable": "network not configured",
    "node.kubernetes.io/unschedulable": "cordoned",
}


class NodeParams(StepParams):
    grace_seconds: int = Field(40, ge=1, description="node-monitor-grace-period: a heartbeat older than this is stale")


# -- reading ---------------------------------------------------------------------------------------


@dataclass
class NodeState:
    """What the cluster says about one node: conditions, heartbeat Lease, taints, the pods bound to it."""

    name: str
    conditions: list[dict[str, Any]]
    ready: dict[str, Any]
    lease_age: float | None
    lease_text: str
    pods: list[Obj]
    phases: Counter[str]
    terminating: int
    taints: list[dict[str, Any]]
    cordoned: bool


def _lease(ctx: StepContext, name: str) -> tuple[float | None, str]:
    """(seconds since the heartbeat Lease was renewed, how that reads)."""
    try:
        lease = ctx.cluster.get("Lease", name, LEASE_NAMESPACE)
    except NotFound:
        return None, f"no Lease {LEASE_NAMESPACE}/{name}"
    except ClusterError as exc:
        return None, f"not readable ({exc})"
    renewed = parse_time((lease.get("spec") or {}).get("renewTime"))
    if not renewed:
        return None, "never renewed"
    return (ctx.now - renewed).total_seconds(), f"renewed {human_duration(ctx.now - renewed)} ago"


def read_node(ctx: StepContext, node: Obj) -> NodeState:
    """The node's state: ONE pod LIST with ``spec.nodeName``, one GET of its Lease."""
    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    name = meta.get("name", "?")
    conditions = status.get("conditions") or []
    lease_age, lease_text = _lease(ctx, name)
    pods = list(ctx.cluster.list("Pod", field_selector=f"spec.nodeName={name}"))
    return NodeState(
        name=name,
        conditions=conditions,
        ready=next((c for c in conditions if c.get("type") == "Ready"), {}),
        lease_age=lease_age,
        lease_text=lease_text,
        pods=pods,
        phases=Counter((p.get("status") or {}).get("phase", "Unknown") for p in pods),
        terminating=sum(1 for p in pods if (p.get("metadata") or {}).get("deletionTimestamp")),
        taints=spec.get("taints") or [],
        cordoned=bool(spec.get("unschedulable")),
    )


# -- deciding --------------------------------------------------------------------------------------


def heartbeat_stale(state: NodeState, grace_seconds: int) -> bool:
    """The Lease is older than ``node-monitor-grace-period``: the kubelet stopped renewing it."""
    return state.lease_age is not None and state.lease_age > grace_seconds


def node_health(state: NodeState, grace_seconds: int) -> Literal["not_ready", "stale", "ready"]:
    if state.ready.get("status") != "True":
        return "not_ready"
    return "stale" if heartbeat_stale(state, grace_seconds) else "ready"


def pressures(state: NodeState) -> list[dict[str, Any]]:
    return [c for c in state.conditions if c.get("type") in PRESSURES and c.get("status") == "True"]


def not_running(state: NodeState) -> int:
    return state.phases.get("Pending", 0) + state.phases.get("Unknown", 0)


# -- wording ---------------------------------------------------------------------------------------


def node_blocks(state: NodeState, now: datetime) -> list[Facts | Table]:
    rows = tuple(
        (c.get("type", "?"), c.get("status", "?"), c.get("reason", ""), one_line(c.get("message", ""), 160),
         human_duration(now - t) + " ago" if (t := parse_time(c.get("lastTransitionTime"))) else "?")
        for c in state.conditions
    )
    by_phase = ", ".join(f"{count} {phase}" for phase, count in sorted(state.phases.items())) or "none"
    facts = Facts((("Ready", f"{state.ready.get('status', '?')} ({state.ready.get('reason', 'no reason')})"),
                   ("Heartbeat Lease", state.lease_text),
                   ("Pods on the node", f"{len(state.pods)}: {by_phase}" + (f"; {state.terminating} terminating"
                                                                            if state.terminating else "")),
                   ("Cordoned", "yes" if state.cordoned else "no")))
    blocks: list[Facts | Table] = [facts, Table(("CONDITION", "STATUS", "REASON", "MESSAGE", "SINCE"), rows)]
    if state.taints:
        blocks.append(Table(("TAINT", "VALUE", "EFFECT", "MEANING"), tuple(
            (t.get("key", "?"), t.get("value", ""), t.get("effect", "?"), CONTROLLER_TAINTS.get(t.get("key", ""), ""))
            for t in state.taints)))
    return blocks


def not_ready_finding(state: NodeState, stale: bool, blocks: list[Facts | Table]) -> Finding:
    why = one_line(state.ready.get("message") or state.ready.get("reason") or "no Ready condition", 200).rstrip(".")
    cause = ("The kubelet stopped renewing its Lease: the machine, the kubelet or its network to the API server is "
             "down." if stale else "The kubelet still renews its Lease but reports itself not ready: check the "
             "container runtime, CNI and PLEG on the node.")
    detail = f"Heartbeat Lease {state.lease_text}. {cause} {len(state.pods)} pods are bound to it."
    return Finding(STEP, Severity.CRITICAL, f"Node {state.name} is NotReady: {why}", detail, list(blocks))


def stale_finding(state: NodeState, blocks: list[Facts | Table]) -> Finding:
    title = f"Node {state.name} reports Ready but its heartbeat Lease is stale ({state.lease_text})"
    return Finding(STEP, Severity.WARNING, title, "", list(blocks))


def ready_finding(state: NodeState, blocks: list[Facts | Table]) -> Finding:
    return Finding(STEP, Severity.OK, f"Node {state.name} is Ready; heartbeat Lease {state.lease_text}", "",
                   list(blocks))


def pressure_finding(state: NodeState, condition: dict[str, Any]) -> Finding:
    title = f"Node {state.name} has {condition['type']}: {one_line(condition.get('message', ''), 200)}"
    return Finding(STEP, Severity.WARNING, title,
                   "The kubelet evicts pods and the node gets a NoSchedule taint until it recovers.")


def verdict_of(finding: Finding) -> Verdict:
    return Verdict("node", finding.severity, finding.title + ".")


# -- the step --------------------------------------------------------------------------------------


def node_step(ctx: StepContext, params: NodeParams) -> StepResult:
    node, refusal = target_of_kind(ctx, STEP, "Node")
    if node is None:
        return refusal or StepResult()
    state = read_node(ctx, node)
    blocks = node_blocks(state, ctx.now)
    health = node_health(state, params.grace_seconds)
    if health == "not_ready":
        first = not_ready_finding(state, heartbeat_stale(state, params.grace_seconds), blocks)
    elif health == "stale":
        first = stale_finding(state, blocks)
    else:
        first = ready_finding(state, blocks)
    findings = [first]
    verdict = verdict_of(first) if health != "ready" else None
    for condition in pressures(state):
        finding = pressure_finding(state, condition)
        findings.append(finding)
        verdict = verdict or verdict_of(finding)
    if not_running(state):
        findings.append(Finding(STEP, Severity.WARNING,
                                f"{not_running(state)} pods on node {state.name} are Pending or Unknown"))
    return StepResult(findings, verdict)


STEP_KIND = StepKind(STEP, NodeParams, node_step,
                     "Node health: conditions, heartbeat Lease, taints, pressure, pods by phase",
                     targets=("Node",))

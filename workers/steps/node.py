"""The ``node`` step: is this node healthy, and if not, which part of it is failing?

Reads the node's conditions (with their messages), the age of its heartbeat Lease in
``kube-node-lease`` (against ``node-monitor-grace-period``, 40 s by default), its taints
(``not-ready``/``unreachable``/pressure taints the node controller adds), and the pods bound to it
counted by phase — from ONE pod LIST with ``fieldSelector=spec.nodeName=<node>``, whatever the
cluster's size. The node's events come from the ``events`` step that follows in the runbook.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import Field

from clusterdoc.humanize import human_duration, one_line, parse_time
from clusterdoc.report import Facts, Finding, Severity, Table, Verdict
from clusterdoc.workers.cluster.base import ClusterError, NotFound
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


def node_step(ctx: StepContext, params: NodeParams) -> StepResult:
    node, refusal = target_of_kind(ctx, STEP, "Node")
    if node is None:
        return refusal or StepResult()
    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    name = meta.get("name", "?")
    findings: list[Finding] = []
    verdict: Verdict | None = None

    conditions = status.get("conditions") or []
    rows = tuple(
        (c.get("type", "?"), c.get("status", "?"), c.get("reason", ""), one_line(c.get("message", ""), 160),
         human_duration(ctx.now - t) + " ago" if (t := parse_time(c.get("lastTransitionTime"))) else "?")
        for c in conditions
    )
    ready: dict[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})

    lease_age: float | None = None
    try:
        lease = ctx.cluster.get("Lease", name, LEASE_NAMESPACE)
        renewed = parse_time((lease.get("spec") or {}).get("renewTime"))
        lease_age = (ctx.now - renewed).total_seconds() if renewed else None
        lease_text = f"renewed {human_duration(ctx.now - renewed)} ago" if renewed else "never renewed"
    except NotFound:
        lease_text = f"no Lease {LEASE_NAMESPACE}/{name}"
    except ClusterError as exc:
        lease_text = f"not readable ({exc})"

    pods = list(ctx.cluster.list("Pod", field_selector=f"spec.nodeName={name}"))
    phases = Counter((p.get("status") or {}).get("phase", "Unknown") for p in pods)
    terminating = sum(1 for p in pods if (p.get("metadata") or {}).get("deletionTimestamp"))
    by_phase = ", ".join(f"{count} {phase}" for phase, count in sorted(phases.items())) or "none"
    taints = spec.get("taints") or []
    taint_rows = tuple((t.get("key", "?"), t.get("value", ""), t.get("effect", "?"),
                        CONTROLLER_TAINTS.get(t.get("key", ""), "")) for t in taints)

    facts = Facts((("Ready", f"{ready.get('status', '?')} ({ready.get('reason', 'no reason')})"),
                   ("Heartbeat Lease", lease_text),
                   ("Pods on the node", f"{len(pods)}: {by_phase}" + (f"; {terminating} terminating"
                                                                      if terminating else "")),
                   ("Cordoned", "yes" if spec.get("unschedulable") else "no")))
    blocks: list = [facts, Table(("CONDITION", "STATUS", "REASON", "MESSAGE", "SINCE"), rows)]
    if taint_rows:
        blocks.append(Table(("TAINT", "VALUE", "EFFECT", "MEANING"), taint_rows))

    stale = lease_age is not None and lease_age > params.grace_seconds
    if ready.get("status") != "True":
        why = one_line(ready.get("message") or ready.get("reason") or "no Ready condition", 200).rstrip(".")
        title = f"Node {name} is NotReady: {why}"
        detail = (f"Heartbeat Lease {lease_text}. " + ("The kubelet stopped renewing its Lease: the machine, the "
                  "kubelet or its network to the API server is down." if stale else "The kubelet still renews its "
                  "Lease but reports itself not ready: check the container runtime, CNI and PLEG on the node.")
                  + f" {len(pods)} pods are bound to it.")
        findings.append(Finding(STEP, Severity.CRITICAL, title, detail, blocks))
        verdict = Verdict("node", Severity.CRITICAL, title + ".")
    elif stale:
        title = f"Node {name} reports Ready but its heartbeat Lease is stale ({lease_text})"
        findings.append(Finding(STEP, Severity.WARNING, title, "", blocks))
        verdict = Verdict("node", Severity.WARNING, title + ".")
    else:
        findings.append(Finding(STEP, Severity.OK, f"Node {name} is Ready; heartbeat Lease {lease_text}", "", blocks))
    for condition in conditions:
        if condition.get("type") in PRESSURES and condition.get("status") == "True":
            title = f"Node {name} has {condition['type']}: {one_line(condition.get('message', ''), 200)}"
            findings.append(Finding(STEP, Severity.WARNING, title,
                                    "The kubelet evicts pods and the node gets a NoSchedule taint until it recovers."))
            verdict = verdict or Verdict("node", Severity.WARNING, title + ".")
    not_running = phases.get("Pending", 0) + phases.get("Unknown", 0)
    if not_running:
        findings.append(Finding(STEP, Severity.WARNING, f"{not_running} pods on node {name} are Pending or Unknown"))
    return StepResult(findings, verdict)


STEP_KIND = StepKind(STEP, NodeParams, node_step,
                     "Node health: conditions, heartbeat Lease, taints, pressure, pods by phase")

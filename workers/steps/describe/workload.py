"""Describing a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job): replicas, rollout, pods.

Lists the workload's ReplicaSets and pods (two LISTs at most, shared with the ``events`` step)
and describes the unhealthiest pods in full, taking a pod's verdict when it has one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clusterdoc.humanize import one_line
from clusterdoc.report import Facts, Severity, Table, Text, Verdict
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.runbook.registry import StepContext
from clusterdoc.workers.steps.common import age, selector_string, workload_members
from clusterdoc.workers.steps.describe.parts import (
    Described,
    chain_facts,
    condition_bad,
    conditions_table,
    resources_text,
)
from clusterdoc.workers.steps.describe.pod import describe_pod, pod_row, unhealthy_rank

if TYPE_CHECKING:
    from clusterdoc.workers.steps.describe import DescribeParams


def _replica_facts(obj: Obj) -> tuple[list[tuple[str, str]], int, int]:
    """Replica counts as facts, plus (desired, ready)."""
    kind, spec, status = obj.get("kind"), obj.get("spec") or {}, obj.get("status") or {}
    if kind == "DaemonSet":
        desired, ready = int(status.get("desiredNumberScheduled") or 0), int(status.get("numberReady") or 0)
        return [("Pods", f"{desired} desired, {status.get('currentNumberScheduled', 0)} scheduled, "
                         f"{status.get('updatedNumberScheduled', 0)} updated, {ready} ready, "
                         f"{status.get('numberAvailable', 0)} available, "
                         f"{status.get('numberMisscheduled', 0)} misscheduled")], desired, ready
    if kind == "Job":
        desired = int(spec.get("completions") or 1)
        succeeded = int(status.get("succeeded") or 0)
        return [("Completions", f"{succeeded}/{desired} succeeded, {status.get('active', 0)} active, "
                                f"{status.get('failed', 0)} failed (backoffLimit {spec.get('backoffLimit', 6)})"),
                ("Parallelism", str(spec.get("parallelism", 1)))], desired, succeeded + int(status.get("active") or 0)
    desired = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    ready = int(status.get("readyReplicas") or 0)
    text = f"{desired} desired, {status.get('replicas', 0)} current"
    if kind in ("Deployment", "StatefulSet"):
        text += f", {status.get('updatedReplicas', 0)} updated"
    text += f", {ready} ready, {status.get('availableReplicas', 0)} available"
    if status.get("unavailableReplicas"):
        text += f", {status['unavailableReplicas']} unavailable"
    return [("Replicas", text)], desired, ready


def _strategy(obj: Obj) -> str:
    spec = obj.get("spec") or {}
    strategy = spec.get("strategy") or spec.get("updateStrategy") or {}
    kind = strategy.get("type", "")
    rolling = strategy.get("rollingUpdate") or {}
    if rolling:
        kind += " (" + ", ".join(f"{k} {v}" for k, v in sorted(rolling.items())) + ")"
    return kind or "default"


def describe_workload(ctx: StepContext, obj: Obj, params: DescribeParams) -> list[Described]:
    """The workload, then its unhealthiest pods (at most ``params.pods``) described in full."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    kind, name, now = obj.get("kind", "?"), meta.get("name", "?"), ctx.now
    replica_facts, desired, ready = _replica_facts(obj)
    out = Described(f"{kind} {meta.get('namespace')}/{name}: {replica_facts[0][1]}")
    facts = [*replica_facts, ("Age", age(meta.get("creationTimestamp"), now))]
    try:
        facts.append(("Selector", selector_string(spec.get("selector")) or "none"))
    except ValueError as exc:
        facts.append(("Selector", f"invalid: {exc}"))
    if kind in ("Deployment", "StatefulSet", "DaemonSet"):
        facts.append(("Strategy", _strategy(obj)))
    if spec.get("paused"):
        facts.append(("Paused", "yes: rollouts are on hold"))
    if meta.get("generation") is not None and status.get("observedGeneration") not in (None, meta.get("generation")):
        facts.append(("Generation", f"{meta['generation']} (controller has seen {status.get('observedGeneration')})"))
    facts.extend(chain_facts(ctx, obj))
    template = ((spec.get("template") or {}).get("spec") or {})
    for container in (template.get("initContainers") or []) + (template.get("containers") or []):
        facts.append((f"Container {container.get('name', '?')}",
                      f"{container.get('image', '?')}; {resources_text(container)}"))
    out.blocks.append(Facts(tuple(facts)))
    conditions = status.get("conditions") or []
    if conditions:
        out.blocks.append(conditions_table(conditions, now))

    members = workload_members(ctx, obj)
    pod_results: list[Described] = []
    if members.replicasets:
        recent = sorted(members.replicasets, key=lambda rs: (rs.get("metadata") or {}).get("creationTimestamp") or "",
                        reverse=True)
        out.blocks.append(Table(("REPLICASET", "DESIRED", "READY", "AGE"), tuple(
            ((rs.get("metadata") or {}).get("name", "?"), str((rs.get("spec") or {}).get("replicas", 0)),
             str((rs.get("status") or {}).get("readyReplicas", 0)), age((rs.get("metadata") or {}).get(
                 "creationTimestamp"), now)) for rs in recent)))
        for rs in recent:
            for condition in (rs.get("status") or {}).get("conditions") or []:
                if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
                    line = (f"ReplicaSet {rs['metadata'].get('name')} cannot create pods: "
                            f"{one_line(condition.get('message') or condition.get('reason') or '', 240)}")
                    out.blame("controller", Severity.WARNING, line)
    pods = sorted(members.pods, key=unhealthy_rank, reverse=True)
    if pods:
        out.blocks.append(Table(("POD", "READY", "STATUS", "RESTARTS", "NODE", "AGE"), tuple(pod_row(p, now)
                                                                                           for p in pods)))
    elif members.note:
        out.blocks.append(Text(f"Pods: not listed, {members.note}."))
    else:
        out.blocks.append(Text("Pods: none."))
    for condition in conditions:
        if condition_bad(condition):
            line = (f"{kind} {name} condition {condition.get('type')}={condition.get('status')}"
                    f" ({condition.get('reason', '')}): {one_line(condition.get('message') or '', 240)}")
            out.flag(Severity.WARNING, line)
            if kind in ("ReplicaSet", "Job") and condition.get("type") == "ReplicaFailure":
                out.verdict = out.verdict or Verdict("controller", Severity.WARNING, line + ".")
    if kind != "Job" and ready < desired:
        severity = Severity.CRITICAL if ready == 0 else Severity.WARNING
        out.flag(severity, f"{kind} {name} has {ready} of {desired} replicas ready")
    for pod in [p for p in pods if unhealthy_rank(p)[0] > 0][: params.pods]:
        described = describe_pod(ctx, pod, params.log_lines)
        pod_results.append(described)
        if described.verdict and (out.verdict is None or out.verdict.layer == "controller"):
            out.verdict = described.verdict
    if out.verdict and out.verdict.layer != "controller" and kind == "Deployment":
        stuck = any(c.get("reason") == "ProgressDeadlineExceeded" for c in conditions)
        if stuck:
            out.verdict = Verdict(out.verdict.layer, out.verdict.severity,
                                  f"The rollout of deploy/{name} is stuck: {out.verdict.summary}")
    return [out, *pod_results]


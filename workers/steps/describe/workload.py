"""Describing a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job): replicas, rollout, pods.

Lists the workload's ReplicaSets and pods (two LISTs at most, shared with the ``events`` step)
and describes the unhealthiest pods in full, taking a pod's verdict when it has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from clusterdoc.humanize import one_line
from clusterdoc.report import Facts, Severity, Table, Text, Verdict, worst
from clusterdoc.workers import layer_rule
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.runbook.registry import StepContext
from clusterdoc.workers.steps import crashloop
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

STEP = "describe"


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


# -- reading ---------------------------------------------------------------------------------------


@dataclass
class WorkloadView:
    """A workload as read from the cluster: itself, its ReplicaSets (newest first) and pods (sickest first)."""

    obj: Obj
    kind: str
    name: str
    namespace: str | None
    replica_facts: list[tuple[str, str]]
    desired: int
    ready: int
    conditions: list[dict[str, Any]]
    replicasets: list[Obj]
    pods: list[Obj]
    pods_note: str

    @property
    def stuck(self) -> bool:
        return any(c.get("reason") == "ProgressDeadlineExceeded" for c in self.conditions)


def read_workload(ctx: StepContext, obj: Obj) -> WorkloadView:
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    replica_facts, desired, ready = _replica_facts(obj)
    members = workload_members(ctx, obj)
    recent = sorted(members.replicasets, key=lambda rs: (rs.get("metadata") or {}).get("creationTimestamp") or "",
                    reverse=True)
    return WorkloadView(obj, obj.get("kind", "?"), meta.get("name", "?"), meta.get("namespace"), replica_facts,
                        desired, ready, status.get("conditions") or [], recent,
                        sorted(members.pods, key=unhealthy_rank, reverse=True), members.note or "")


# -- deciding --------------------------------------------------------------------------------------


def replica_failures(view: WorkloadView) -> list[tuple[str, str]]:
    """(ReplicaSet, message) for each ReplicaSet whose ``ReplicaFailure`` condition is true."""
    return [((rs.get("metadata") or {}).get("name", "?"), condition.get("message") or condition.get("reason") or "")
            for rs in view.replicasets for condition in (rs.get("status") or {}).get("conditions") or []
            if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True"]


def replicas_severity(view: WorkloadView) -> Severity | None:
    """How bad too few ready replicas are (None when there are enough, or for a Job)."""
    if view.kind == "Job" or view.ready >= view.desired:
        return None
    return Severity.CRITICAL if view.ready == 0 else Severity.WARNING


def prevailing(current: Verdict | None, pod: Verdict | None) -> Verdict | None:
    """The workload's verdict once a pod is described: refused pod creation (controller) stands, as
    in the ``rollout`` step; otherwise the pod's own diagnosis is the better explanation."""
    if pod is None:
        return current
    if current is not None and current.layer == layer_rule.POD_CREATION_REFUSED:
        return current
    return pod


# -- wording ---------------------------------------------------------------------------------------


def workload_facts(ctx: StepContext, view: WorkloadView) -> Facts:
    meta, spec, status = view.obj.get("metadata") or {}, view.obj.get("spec") or {}, view.obj.get("status") or {}
    facts = [*view.replica_facts, ("Age", age(meta.get("creationTimestamp"), ctx.now))]
    try:
        facts.append(("Selector", selector_string(spec.get("selector")) or "none"))
    except ValueError as exc:
        facts.append(("Selector", f"invalid: {exc}"))
    if view.kind in ("Deployment", "StatefulSet", "DaemonSet"):
        facts.append(("Strategy", _strategy(view.obj)))
    if spec.get("paused"):
        facts.append(("Paused", "yes: rollouts are on hold"))
    if meta.get("generation") is not None and status.get("observedGeneration") not in (None, meta.get("generation")):
        facts.append(("Generation", f"{meta['generation']} (controller has seen {status.get('observedGeneration')})"))
    facts.extend(chain_facts(ctx, view.obj))
    template = ((spec.get("template") or {}).get("spec") or {})
    for container in (template.get("initContainers") or []) + (template.get("containers") or []):
        facts.append((f"Container {container.get('name', '?')}",
                      f"{container.get('image', '?')}; {resources_text(container)}"))
    return Facts(tuple(facts))


def replicasets_table(view: WorkloadView, now: datetime) -> Table:
    return Table(("REPLICASET", "DESIRED", "READY", "AGE"), tuple(
        ((rs.get("metadata") or {}).get("name", "?"), str((rs.get("spec") or {}).get("replicas", 0)),
         str((rs.get("status") or {}).get("readyReplicas", 0)),
         age((rs.get("metadata") or {}).get("creationTimestamp"), now)) for rs in view.replicasets))


def replica_failure_line(replicaset: str, message: str) -> str:
    return f"ReplicaSet {replicaset} cannot create pods: {one_line(message, 240)}"


def condition_line(view: WorkloadView, condition: dict[str, Any]) -> str:
    return (f"{view.kind} {view.name} condition {condition.get('type')}={condition.get('status')}"
            f" ({condition.get('reason', '')}): {one_line(condition.get('message') or '', 240)}")


def stuck_summary(view: WorkloadView, verdict: Verdict) -> Verdict:
    return Verdict(verdict.layer, verdict.severity, f"The rollout of deploy/{view.name} is stuck: {verdict.summary}")


# -- the description -------------------------------------------------------------------------------


def describe_workload(ctx: StepContext, obj: Obj, params: DescribeParams) -> list[Described]:
    """The workload, then its unhealthiest pods (at most ``params.pods``) described in full."""
    view = read_workload(ctx, obj)
    out = Described(f"{view.kind} {view.namespace}/{view.name}: {view.replica_facts[0][1]}")
    out.blocks.append(workload_facts(ctx, view))
    if view.conditions:
        out.blocks.append(conditions_table(view.conditions, ctx.now))
    if view.replicasets:
        out.blocks.append(replicasets_table(view, ctx.now))
    for replicaset, message in replica_failures(view):
        out.blame(layer_rule.POD_CREATION_REFUSED, Severity.WARNING, replica_failure_line(replicaset, message))
    if view.pods:
        out.blocks.append(Table(("POD", "READY", "STATUS", "RESTARTS", "NODE", "AGE"),
                                tuple(pod_row(p, ctx.now) for p in view.pods)))
    else:
        out.blocks.append(Text(f"Pods: not listed, {view.pods_note}." if view.pods_note else "Pods: none."))
    for condition in view.conditions:
        if condition_bad(condition):
            line = condition_line(view, condition)
            out.flag(Severity.WARNING, line)
            if view.kind in ("ReplicaSet", "Job") and condition.get("type") == "ReplicaFailure":
                out.verdict = out.verdict or Verdict(layer_rule.POD_CREATION_REFUSED, Severity.WARNING, line + ".")
    severity = replicas_severity(view)
    if severity is not None:
        out.flag(severity, f"{view.kind} {view.name} has {view.ready} of {view.desired} replicas ready")
    pod_results: list[Described] = []
    for pod in [p for p in view.pods if unhealthy_rank(p)[0] > 0][: params.pods]:
        described = with_crashloop_analysis(ctx, pod, describe_pod(ctx, pod, params.log_lines))
        pod_results.append(described)
        out.verdict = prevailing(out.verdict, described.verdict)
    refused = out.verdict is not None and out.verdict.layer == layer_rule.POD_CREATION_REFUSED
    if out.verdict and not refused and view.kind == "Deployment" and view.stuck:
        out.verdict = stuck_summary(view, out.verdict)
    return [out, *pod_results]


def with_crashloop_analysis(ctx: StepContext, pod: Obj, described: Described) -> Described:
    """A crash-looping pod's description carries the ``crashloop`` analysis' verdict, its advice and
    fixes (the same CRITICAL and "raise the memory limit" as ``/k8s run crashloop``), and one line
    pointing to the full analysis (previous logs, probes, the rollout that changed the image)."""
    if not crashloop.is_crash_looping(pod):
        return described
    diagnosis = crashloop.diagnose_pod(ctx, pod, crashloop.CrashloopParams(log_lines=0, max_containers=1), STEP)
    worst_container = crashloop.read_containers(pod, 1)[0]
    meta = pod.get("metadata") or {}
    if diagnosis.verdict is not None:
        described.severity = worst([described.severity, diagnosis.verdict.severity])
        described.verdict = diagnosis.verdict
        advice = crashloop.next_step(worst_container, crashloop.cause_of(worst_container))
        described.detail.append(f"{diagnosis.verdict.summary} {advice}")
    described.detail.append(crashloop_pointer(meta.get("name", "?"), meta.get("namespace")))
    described.remediations.extend(diagnosis.remediations)
    return described


def crashloop_pointer(pod: str, namespace: str | None) -> str:
    return f"Full crash-loop analysis (previous log, probes, the rollout): `/k8s run crashloop {pod} -n {namespace}`"

"""The ``rollout`` step: why a Deployment does not have the replicas it wants.

Reads the rollout status as ``kubectl rollout status`` would (observed generation, updated/
ready/available replicas, the ``Progressing`` and ``Available`` conditions, a
``ProgressDeadlineExceeded``), the ReplicaSets old and new (revision, images, replicas), the
unavailable pods — each diagnosed like the ``crashloop`` step does, worst first and capped —
and ``FailedCreate`` events on the ReplicaSets (quota, admission webhooks, PodSecurity), which
mean the pods were never created at all. Pods and ReplicaSets come from one LIST each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field

from clusterdoc.humanize import human_duration, one_line, parse_time
from clusterdoc.report import Facts, Finding, Severity, Table, Verdict
from clusterdoc.workers import layer_rule
from clusterdoc.workers.cluster.base import ClusterError, Obj
from clusterdoc.workers.runbook.registry import StepContext, StepKind, StepParams, StepResult
from clusterdoc.workers.steps.common import target_of_kind, workload_members
from clusterdoc.workers.steps.crashloop import REVISION, CrashloopParams, diagnose_pod

STEP = "rollout"


class RolloutParams(StepParams):
    pods: int = Field(2, ge=0, le=10, description="unavailable pods diagnosed in depth")
    log_lines: int = Field(10, ge=0, le=200)


def _revision(rs: Obj) -> str:
    return str(((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION, "?"))


def _images(rs: Obj) -> str:
    containers = (((rs.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return ", ".join(c.get("image", "?") for c in containers)


def _pod_available(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


# -- reading ---------------------------------------------------------------------------------------


@dataclass
class RolloutState:
    """What the cluster says about one Deployment's rollout."""

    name: str
    namespace: str | None
    generation: int
    observed_generation: int
    wanted: int
    updated: int
    ready: int
    available: int
    progressing: dict[str, Any]
    strategy: str
    replicasets: list[Obj]
    """Newest revision first."""
    failed_create: list[tuple[str, str, str]]
    """(ReplicaSet, count, message) of FailedCreate events of the three newest ReplicaSets."""
    unavailable: list[Obj]
    """Pods not Ready, most restarts first."""

    @property
    def stuck(self) -> bool:
        return self.progressing.get("reason") == "ProgressDeadlineExceeded"

    @property
    def stale_generation(self) -> bool:
        return self.observed_generation < self.generation


def _failed_create(ctx: StepContext, namespace: str | None, replicasets: list[Obj]) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    for rs in replicasets[:3]:
        selector = f"involvedObject.kind=ReplicaSet,involvedObject.name={rs['metadata']['name']}"
        try:
            events = list(ctx.cluster.list("Event", namespace, field_selector=selector))
        except ClusterError:
            continue
        found += [(rs["metadata"]["name"], str(e.get("count") or 1), one_line(e.get("message", ""), 240))
                  for e in events if e.get("reason") == "FailedCreate"]
    return found


def _restarts(pod: Obj) -> int:
    return sum(int(s.get("restartCount") or 0) for s in (pod.get("status") or {}).get("containerStatuses") or [])


def read_rollout(ctx: StepContext, deployment: Obj) -> RolloutState:
    """The rollout's state: status fields, ReplicaSets by revision, FailedCreate events, unavailable pods."""
    meta, spec, status = deployment.get("metadata") or {}, deployment.get("spec") or {}, deployment.get("status") or {}
    namespace = meta.get("namespace")
    members = workload_members(ctx, deployment)
    replicasets = sorted(members.replicasets, key=lambda rs: int(_revision(rs)) if _revision(rs).isdigit() else 0,
                         reverse=True)
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    return RolloutState(
        name=meta.get("name", "?"),
        namespace=namespace,
        generation=int(meta.get("generation") or 0),
        observed_generation=int(status.get("observedGeneration") or 0),
        wanted=int(spec.get("replicas", 1)),
        updated=int(status.get("updatedReplicas") or 0),
        ready=int(status.get("readyReplicas") or 0),
        available=int(status.get("availableReplicas") or 0),
        progressing=conditions.get("Progressing") or {},
        strategy=(spec.get("strategy") or {}).get("type", "RollingUpdate"),
        replicasets=replicasets,
        failed_create=_failed_create(ctx, namespace, replicasets),
        unavailable=sorted((pod for pod in members.pods if not _pod_available(pod)), key=lambda p: -_restarts(p)),
    )


def _pending_message(pod: Obj) -> str | None:
    """The PodScheduled=False message of a pod that has not started any container; None otherwise."""
    status = pod.get("status") or {}
    if status.get("phase") != "Pending" or status.get("containerStatuses"):
        return None
    pending = [c for c in status.get("conditions") or []
               if c.get("type") == "PodScheduled" and c.get("status") == "False"]
    return one_line(pending[0].get("message", ""), 300) if pending else "not scheduled yet"


# -- deciding --------------------------------------------------------------------------------------


def rollout_severity(state: RolloutState) -> Severity:
    """CRITICAL when stuck or nothing is available, WARNING when short, OK when all replicas are available."""
    if state.stuck:
        return Severity.CRITICAL
    if state.available < state.wanted:
        return Severity.CRITICAL if state.available == 0 else Severity.WARNING
    return Severity.OK


def pod_verdict(current: Verdict | None, candidate: Verdict) -> Verdict:
    """Which verdict stands after one more unavailable pod is diagnosed: refused pod creation
    (the controller layer) outranks everything a created pod shows; a pod's own diagnosis refines a
    workload verdict; a Pending pod never replaces one already reached."""
    if current is None:
        return candidate
    if current.layer == layer_rule.POD_CREATION_REFUSED:
        return current
    if candidate.layer == layer_rule.CONTAINER_FAILING and current.layer == layer_rule.WORKLOAD:
        return candidate
    return current


# -- wording ---------------------------------------------------------------------------------------


def status_title(state: RolloutState) -> str:
    if state.stuck:
        return (f"Deployment {state.name} rollout is stuck: "
                f"{one_line(state.progressing.get('message', ''), 200).rstrip('.')}")
    if state.available < state.wanted:
        return f"Deployment {state.name} has {state.available} of {state.wanted} replicas available"
    return f"Deployment {state.name} has all {state.wanted} replicas available"


def status_blocks(state: RolloutState, now: datetime) -> list[Facts | Table]:
    facts = [("Replicas", f"{state.wanted} wanted, {state.updated} updated, {state.ready} ready, "
                          f"{state.available} available"),
             ("Progressing", f"{state.progressing.get('status', '?')} ({state.progressing.get('reason', '')})"),
             ("Strategy", state.strategy)]
    if state.stale_generation:
        facts.append(("Generation", f"{state.generation} not yet observed (controller-manager behind?)"))
    rows = tuple(
        (rs["metadata"]["name"], _revision(rs), "new" if i == 0 else "old", _images(rs),
         f"{(rs.get('status') or {}).get('readyReplicas', 0)}/{(rs.get('spec') or {}).get('replicas', 0)}",
         human_duration(now - t) if (t := parse_time(rs["metadata"].get("creationTimestamp"))) else "?")
        for i, rs in enumerate(state.replicasets)
    )
    blocks: list[Facts | Table] = [Facts(tuple(facts))]
    if rows:
        blocks.append(Table(("REPLICASET", "REVISION", "", "IMAGES", "READY", "AGE"), rows))
    return blocks


def failed_create_finding(state: RolloutState) -> tuple[Finding, Verdict]:
    title = f"ReplicaSet of deployment {state.name} cannot create pods (FailedCreate)"
    finding = Finding(STEP, Severity.CRITICAL, title,
                      "The pods were never created: a ResourceQuota, an admission webhook or PodSecurity "
                      "refused them. The controller layer works; the request is refused.",
                      [Table(("REPLICASET", "COUNT", "MESSAGE"), tuple(state.failed_create[:5]))])
    verdict = Verdict(layer_rule.POD_CREATION_REFUSED, Severity.CRITICAL, f"{title}: {state.failed_create[0][2]}")
    return finding, verdict


def pending_pod_finding(state: RolloutState, pod: Obj, message: str) -> tuple[Finding, Verdict]:
    pod_name = pod["metadata"]["name"]
    finding = Finding(STEP, Severity.WARNING, f"Pod {pod_name} is Pending: {message}",
                      f"Run `/k8s why-pending {pod_name} -n {state.namespace}` for the per-node analysis.")
    return finding, Verdict("scheduler", Severity.WARNING, f"Pods of deployment {state.name} are Pending: {message}")


def unavailable_heading(state: RolloutState, diagnosed: int) -> Finding:
    return Finding(STEP, Severity.INFO, f"{len(state.unavailable)} pods of deployment {state.name} are unavailable; "
                   f"diagnosing {diagnosed}")


# -- the step --------------------------------------------------------------------------------------


def rollout_step(ctx: StepContext, params: RolloutParams) -> StepResult:
    deployment, refusal = target_of_kind(ctx, STEP, "Deployment")
    if deployment is None:
        return refusal or StepResult()
    state = read_rollout(ctx, deployment)
    severity, title = rollout_severity(state), status_title(state)
    findings = [Finding(STEP, severity, title, "", list(status_blocks(state, ctx.now)))]
    verdict: Verdict | None = None
    if severity != Severity.OK:
        verdict = Verdict(layer_rule.stuck_rollout(bool(state.failed_create)) if state.stuck else layer_rule.WORKLOAD,
                          severity, title + ".")
    if state.failed_create:
        finding, verdict = failed_create_finding(state)
        findings.append(finding)
    if not (state.unavailable and params.pods):
        return StepResult(findings, verdict)

    crash_params = CrashloopParams(log_lines=params.log_lines, max_containers=1)
    findings.append(unavailable_heading(state, min(len(state.unavailable), params.pods)))
    remediations = []
    for pod in state.unavailable[: params.pods]:
        message = _pending_message(pod)
        if message is not None:
            finding, pending_verdict = pending_pod_finding(state, pod, message)
            findings.append(finding)
            if verdict is None or verdict.layer != layer_rule.POD_CREATION_REFUSED:
                verdict = pending_verdict
            continue
        diagnosis = diagnose_pod(ctx, pod, crash_params, STEP)
        findings.extend(diagnosis.findings)
        remediations.extend(diagnosis.remediations)
        if diagnosis.verdict:
            verdict = pod_verdict(verdict, Verdict(layer_rule.CONTAINER_FAILING, diagnosis.verdict.severity,
                                                   f"{title}: {diagnosis.verdict.summary}"))
    unique = {remedy.action: remedy for remedy in remediations}
    return StepResult(findings, verdict, list(unique.values()))


STEP_KIND = StepKind(STEP, RolloutParams, rollout_step,
                     "Deployment rollout: status, ReplicaSets old/new, unavailable pods, FailedCreate",
                     targets=("Deployment",))

"""The ``rollout`` step: why a Deployment does not have the replicas it wants.

Reads the rollout status as ``kubectl rollout status`` would (observed generation, updated/
ready/available replicas, the ``Progressing`` and ``Available`` conditions, a
``ProgressDeadlineExceeded``), the ReplicaSets old and new (revision, images, replicas), the
unavailable pods — each diagnosed like the ``crashloop`` step does, worst first and capped —
and ``FailedCreate`` events on the ReplicaSets (quota, admission webhooks, PodSecurity), which
mean the pods were never created at all. Pods and ReplicaSets come from one LIST each.
"""

from __future__ import annotations

from pydantic import Field

from clusterdoc.humanize import human_duration, one_line, parse_time
from clusterdoc.report import Facts, Finding, Severity, Table, Verdict
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


def rollout_step(ctx: StepContext, params: RolloutParams) -> StepResult:
    deployment, refusal = target_of_kind(ctx, STEP, "Deployment")
    if deployment is None:
        return refusal or StepResult()
    meta, spec, status = deployment.get("metadata") or {}, deployment.get("spec") or {}, deployment.get("status") or {}
    name, namespace = meta.get("name", "?"), meta.get("namespace")
    wanted = int(spec.get("replicas", 1))
    updated, ready = int(status.get("updatedReplicas") or 0), int(status.get("readyReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    progressing = conditions.get("Progressing") or {}
    members = workload_members(ctx, deployment)
    replicasets = sorted(members.replicasets, key=lambda rs: int(_revision(rs)) if _revision(rs).isdigit() else 0,
                         reverse=True)
    findings: list[Finding] = []
    verdict: Verdict | None = None

    stale_generation = int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0)
    facts = [("Replicas", f"{wanted} wanted, {updated} updated, {ready} ready, {available} available"),
             ("Progressing", f"{progressing.get('status', '?')} ({progressing.get('reason', '')})"),
             ("Strategy", (spec.get("strategy") or {}).get("type", "RollingUpdate"))]
    if stale_generation:
        facts.append(("Generation", f"{meta.get('generation')} not yet observed (controller-manager behind?)"))
    rs_rows = tuple(
        (rs["metadata"]["name"], _revision(rs), "new" if i == 0 else "old", _images(rs),
         f"{(rs.get('status') or {}).get('readyReplicas', 0)}/{(rs.get('spec') or {}).get('replicas', 0)}",
         human_duration(ctx.now - t) if (t := parse_time(rs["metadata"].get("creationTimestamp"))) else "?")
        for i, rs in enumerate(replicasets)
    )
    blocks: list = [Facts(tuple(facts))]
    if rs_rows:
        blocks.append(Table(("REPLICASET", "REVISION", "", "IMAGES", "READY", "AGE"), rs_rows))

    if progressing.get("reason") == "ProgressDeadlineExceeded":
        title = f"Deployment {name} rollout is stuck: {one_line(progressing.get('message', ''), 200).rstrip('.')}"
        severity = Severity.CRITICAL
    elif available < wanted:
        title = f"Deployment {name} has {available} of {wanted} replicas available"
        severity = Severity.CRITICAL if available == 0 else Severity.WARNING
    else:
        title = f"Deployment {name} has all {wanted} replicas available"
        severity = Severity.OK
    findings.append(Finding(STEP, severity, title, "", blocks))
    if severity != Severity.OK:
        verdict = Verdict("workload", severity, title + ".")

    # FailedCreate: the ReplicaSet controller could not create pods (quota, webhook, PodSecurity).
    failed_create: list[tuple[str, str, str]] = []
    for rs in replicasets[:3]:
        selector = f"involvedObject.kind=ReplicaSet,involvedObject.name={rs['metadata']['name']}"
        try:
            events = list(ctx.cluster.list("Event", namespace, field_selector=selector))
        except ClusterError:
            continue
        failed_create += [(rs["metadata"]["name"], str(e.get("count") or 1), one_line(e.get("message", ""), 240))
                          for e in events if e.get("reason") == "FailedCreate"]
    if failed_create:
        title = f"ReplicaSet of deployment {name} cannot create pods (FailedCreate)"
        findings.append(Finding(STEP, Severity.CRITICAL, title,
                                "The pods were never created: a ResourceQuota, an admission webhook or PodSecurity "
                                "refused them. The controller layer works; the request is refused.",
                                [Table(("REPLICASET", "COUNT", "MESSAGE"), tuple(failed_create[:5]))]))
        verdict = Verdict("controller", Severity.CRITICAL, title + f": {failed_create[0][2]}")

    unavailable = [pod for pod in members.pods if not _pod_available(pod)]
    if unavailable and params.pods:
        unavailable.sort(key=lambda p: -sum(int(s.get("restartCount") or 0)
                                            for s in (p.get("status") or {}).get("containerStatuses") or []))
        crash_params = CrashloopParams(log_lines=params.log_lines, max_containers=1)
        findings.append(Finding(STEP, Severity.INFO, f"{len(unavailable)} pods of deployment {name} are unavailable; "
                                f"diagnosing {min(len(unavailable), params.pods)}"))
        remediations = []
        for pod in unavailable[: params.pods]:
            phase = (pod.get("status") or {}).get("phase")
            if phase == "Pending" and not (pod.get("status") or {}).get("containerStatuses"):
                pending = [c for c in (pod.get("status") or {}).get("conditions") or []
                           if c.get("type") == "PodScheduled" and c.get("status") == "False"]
                message = one_line(pending[0].get("message", ""), 300) if pending else "not scheduled yet"
                findings.append(Finding(STEP, Severity.WARNING, f"Pod {pod['metadata']['name']} is Pending: {message}",
                                        f"Run `/k8s why-pending {pod['metadata']['name']} -n {namespace}` for the "
                                        "per-node analysis."))
                verdict = verdict if verdict and verdict.layer == "controller" else Verdict(
                    "scheduler", Severity.WARNING, f"Pods of deployment {name} are Pending: {message}")
                continue
            diagnosis = diagnose_pod(ctx, pod, crash_params, STEP)
            findings.extend(diagnosis.findings)
            remediations.extend(diagnosis.remediations)
            if diagnosis.verdict and (verdict is None or verdict.layer == "workload"):
                verdict = Verdict("workload", diagnosis.verdict.severity,
                                  f"{title}: {diagnosis.verdict.summary}")
        unique = {remedy.action: remedy for remedy in remediations}
        return StepResult(findings, verdict, list(unique.values()))
    return StepResult(findings, verdict)


STEP_KIND = StepKind(STEP, RolloutParams, rollout_step,
                     "Deployment rollout: status, ReplicaSets old/new, unavailable pods, FailedCreate")

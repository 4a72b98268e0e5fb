"""The ``crashloop`` step: why a pod's containers keep restarting, and what changed.

For each restarting or waiting container: the last termination's reason and exit code, read
as OOMKilled (memory limit, or the node ran out) versus an application error (exit code, with
the conventional meaning of 1, 137, 139, 143...), the last lines of the previous container's
log, the restart trend (restarts over the pod's life, the BackOff events' rate), liveness/
readiness/startup probe failures from the pod's events, and — for a Deployment's pod — the
rollout that changed the image (the pod's ReplicaSet revision against the one before it).
:func:`diagnose_pod` is reused by the ``rollout`` step for a deployment's unavailable pods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import Field

from clusterdoc.humanize import human_duration, one_line, parse_time
from clusterdoc.report import Facts, Finding, Preformatted, Remediation, Severity, Table, Target, Verdict
from clusterdoc.workers.cluster.base import ClusterError, Obj
from clusterdoc.workers.runbook.registry import StepContext, StepKind, StepParams, StepResult
from clusterdoc.workers.steps.common import controller_of, target_of_kind

STEP = "crashloop"
REVISION = "deployment.kubernetes.io/revision"
EXIT_CODES = {
    1: "general application error",
    2: "misuse of a shell builtin / bad arguments",
    126: "command cannot execute (permissions?)",
    127: "command not found (wrong image or entrypoint)",
    128: "invalid exit argument",
    134: "aborted (SIGABRT)",
    137: "killed (SIGKILL: OOM killer or a failed liveness probe)",
    139: "segmentation fault (SIGSEGV)",
    143: "terminated (SIGTERM)",
}
PROBE_MARKERS = ("Liveness probe failed", "Readiness probe failed", "Startup probe failed")


class CrashloopParams(StepParams):
    log_lines: int = Field(15, ge=0, le=200, description="lines of the previous container's log to show")
    max_containers: int = Field(2, ge=1, le=10, description="containers analysed per pod (worst first)")


@dataclass
class PodDiagnosis:
    findings: list[Finding] = field(default_factory=list)
    verdict: Verdict | None = None
    remediations: list[Remediation] = field(default_factory=list)


def exit_meaning(code: int | None) -> str:
    if code is None:
        return "unknown exit code"
    return EXIT_CODES.get(code, "application error" if code else "exited normally")


def _restart_trend(pod: Obj, restarts: int, now: datetime) -> str:
    started = parse_time((pod.get("status") or {}).get("startTime")) or parse_time(
        (pod.get("metadata") or {}).get("creationTimestamp"))
    if not started or restarts == 0:
        return f"{restarts} restarts"
    hours = max((now - started).total_seconds() / 3600, 1 / 60)
    return f"{restarts} restarts in {human_duration(now - started)} (about {restarts / hours:.1f} per hour)"


def _pod_events(ctx: StepContext, pod: Obj) -> list[Obj]:
    meta = pod.get("metadata") or {}
    selector = f"involvedObject.kind=Pod,involvedObject.name={meta.get('name')}"
    try:
        return list(ctx.cluster.list("Event", meta.get("namespace"), field_selector=selector))
    except ClusterError:
        return []


def _event_line(event: Obj, now: datetime) -> tuple[str, str, str]:
    last = parse_time(event.get("lastTimestamp") or event.get("eventTime")
                      or (event.get("metadata") or {}).get("creationTimestamp"))
    count = event.get("count") or ((event.get("series") or {}).get("count")) or 1
    return (f"{human_duration(now - last)} ago" if last else "?", str(count), one_line(event.get("message", ""), 200))


def _backoff_trend(event: Obj, now: datetime) -> str:
    """``187 back-offs over 58m, last 2m ago``: how fast the kubelet is restarting it lately."""
    count = event.get("count") or ((event.get("series") or {}).get("count")) or 1
    first, last = parse_time(event.get("firstTimestamp")), parse_time(event.get("lastTimestamp"))
    span = f" over {human_duration(last - first)}" if first and last and last > first else ""
    ago = f", last {human_duration(now - last)} ago" if last else ""
    return f"{count} back-offs{span}{ago}"


def _image_change(ctx: StepContext, pod: Obj) -> tuple[str, Obj | None, bool]:
    """(sentence, deployment, newest) about the rollout that put this pod's image in place."""
    owner = controller_of(pod)
    namespace = (pod.get("metadata") or {}).get("namespace")
    if not owner or owner.get("kind") != "ReplicaSet":
        return "", None, False
    try:
        replicaset = ctx.cluster.get("ReplicaSet", owner["name"], namespace)
        deploy_ref = controller_of(replicaset)
        if not deploy_ref or deploy_ref.get("kind") != "Deployment":
            return "", None, False
        deployment = ctx.cluster.get("Deployment", deploy_ref["name"], namespace)
        uid = (deployment.get("metadata") or {}).get("uid")
        siblings = [rs for rs in ctx.cluster.list("ReplicaSet", namespace)
                    if any(ref.get("uid") == uid for ref in (rs.get("metadata") or {}).get("ownerReferences") or [])]
    except ClusterError:
        return "", None, False

    def revision(rs: Obj) -> int:
        value = ((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0")
        return int(value) if str(value).isdigit() else 0

    def images(rs: Obj) -> dict[str, str]:
        containers = (((rs.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
        return {c.get("name", "?"): c.get("image", "?") for c in containers}

    mine = revision(replicaset)
    newest = max((revision(rs) for rs in siblings), default=mine) == mine
    older = sorted((rs for rs in siblings if revision(rs) < mine), key=revision)
    name = deploy_ref["name"]
    if not older:
        return f"Deployment {name} revision {mine} is its first known revision.", deployment, newest
    before = older[-1]
    changes = [f"{c}: {images(before).get(c, '(none)')} → {img}" for c, img in sorted(images(replicaset).items())
               if images(before).get(c) != img]
    created = parse_time((replicaset.get("metadata") or {}).get("creationTimestamp"))
    when = f" {human_duration(ctx.now - created)} ago" if created else ""
    if not changes:
        return (f"Deployment {name} revision {mine} (rolled out{when}) did not change any image since revision "
                f"{revision(before)}.", deployment, newest)
    return (f"Deployment {name} revision {mine} (rolled out{when}) changed the image: {'; '.join(changes)}.",
            deployment, newest)


def diagnose_pod(ctx: StepContext, pod: Obj, params: CrashloopParams, step_id: str = STEP) -> PodDiagnosis:
    """Findings about one pod's restarting containers (see the module docstring)."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    name, namespace = meta.get("name", "?"), meta.get("namespace")
    out = PodDiagnosis()
    specs = {c.get("name"): c for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])}
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    troubled = sorted(
        (s for s in statuses if int(s.get("restartCount") or 0) > 0 or (s.get("state") or {}).get("waiting")),
        key=lambda s: int(s.get("restartCount") or 0), reverse=True,
    )[: params.max_containers]
    if not troubled:
        phase = status.get("phase", "?")
        out.findings.append(Finding(step_id, Severity.OK, f"Pod {name}: no container is restarting ({phase})"))
        return out
    events = _pod_events(ctx, pod)
    probes = [e for e in events if any(marker in (e.get("message") or "") for marker in PROBE_MARKERS)]
    backoffs = [e for e in events if e.get("reason") == "BackOff"]
    for container in troubled:
        cname = container.get("name", "?")
        restarts = int(container.get("restartCount") or 0)
        waiting = (container.get("state") or {}).get("waiting") or {}
        last = (container.get("lastState") or {}).get("terminated") or (container.get("state") or {}).get(
            "terminated") or {}
        reason, code = last.get("reason"), last.get("exitCode")
        limit = (((specs.get(cname) or {}).get("resources") or {}).get("limits") or {}).get("memory")
        facts = [("Container", cname), ("State", waiting.get("reason") or next(iter(container.get("state") or {}),
                                                                                "?")),
                 ("Restarts", _restart_trend(pod, restarts, ctx.now))]
        if last:
            finished = parse_time(last.get("finishedAt"))
            facts.append(("Last termination", f"{reason or '?'}, exit code {code} ({exit_meaning(code)})"
                          + (f", {human_duration(ctx.now - finished)} ago" if finished else "")))
        if backoffs:
            facts.append(("BackOff events", _backoff_trend(backoffs[0], ctx.now)))
        if reason == "OOMKilled":
            title = (f"Container {cname} of pod {name} is OOMKilled: it needs more memory than its limit {limit}"
                     if limit else f"Container {cname} of pod {name} is OOMKilled with no memory limit: the node "
                                   "ran out of memory")
            detail = ("Raise the memory limit (or fix the leak); the last log lines below show what it was doing."
                      if limit else "Set a memory request/limit that fits, and check the node's memory pressure.")
        elif code is not None:
            title = (f"Container {cname} of pod {name} exits with code {code} ({exit_meaning(code)}) and is "
                     f"restarted: {restarts} restarts")
            detail = "The application fails at start or shortly after: its previous log below usually says why."
        else:
            title = f"Container {cname} of pod {name} is {waiting.get('reason', 'not running')}: {restarts} restarts"
            detail = one_line(waiting.get("message", ""), 300)
        blocks: list = [Facts(tuple(facts))]
        if params.log_lines:
            try:
                text = ctx.cluster.logs(namespace or "", name, cname, previous=True, tail_lines=params.log_lines)
            except ClusterError as exc:
                text = ""
                detail += f" Previous log not readable: {exc}."
            if text.strip():
                tail = text.rstrip("\n")
                blocks.append(Preformatted(tail, title=f"Last {len(tail.splitlines())} lines of {cname}'s "
                                                       "previous run"))
            else:
                detail += " The previous container left no log lines."
        severity = Severity.CRITICAL if restarts >= 3 or waiting.get("reason") == "CrashLoopBackOff" else \
            Severity.WARNING
        out.findings.append(Finding(step_id, severity, title, detail.strip(), blocks))
        if out.verdict is None:
            out.verdict = Verdict("workload", severity, title + ".")
    if probes:
        rows = tuple((e.get("reason", "?"), *_event_line(e, ctx.now)) for e in probes[:5])
        kinds = sorted({marker.split()[0] for e in probes for marker in PROBE_MARKERS
                        if marker in (e.get("message") or "")})
        out.findings.append(Finding(step_id, Severity.WARNING, f"{' and '.join(kinds)} probe failures on pod {name}",
                                    "A failing liveness or startup probe makes the kubelet restart the container; "
                                    "a failing readiness probe keeps the pod out of its Services' endpoints.",
                                    [Table(("REASON", "LAST SEEN", "COUNT", "MESSAGE"), rows)]))
    change, deployment, newest = _image_change(ctx, pod)
    if change:
        out.findings.append(Finding(step_id, Severity.INFO, "Rollout that put this image in place", change))
        if deployment is not None and newest and "changed the image" in change:
            dmeta = deployment.get("metadata") or {}
            out.remediations.append(Remediation(
                "rollback_deployment", Target("Deployment", dmeta.get("name", "?"), dmeta.get("namespace")),
                "medium", f"Roll deployment {dmeta.get('name')} back to the revision before the image change."))
    return out


def crashloop_step(ctx: StepContext, params: CrashloopParams) -> StepResult:
    pod, refusal = target_of_kind(ctx, STEP, "Pod")
    if pod is None:
        return refusal or StepResult()
    diagnosis = diagnose_pod(ctx, pod, params)
    return StepResult(diagnosis.findings, diagnosis.verdict, diagnosis.remediations)


STEP_KIND = StepKind(STEP, CrashloopParams, crashloop_step,
                     "Why a pod's containers restart: exit codes, OOM, previous logs, probes, rollout")

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
from typing import Any, Literal

from pydantic import Field

from clusterdoc.humanize import human_duration, one_line, parse_time
from clusterdoc.report import Block, Facts, Finding, Preformatted, Remediation, Severity, Table, Target, Verdict
from clusterdoc.workers import layer_rule
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


# -- reading ---------------------------------------------------------------------------------------


@dataclass
class ContainerEvidence:
    """What the pod's status says about one restarting or waiting container."""

    name: str
    restarts: int
    waiting: dict[str, Any]
    state: str
    """The waiting reason (``CrashLoopBackOff``) or the state's name (``running``)."""
    last: dict[str, Any]
    """The last termination (``lastState.terminated``, else ``state.terminated``); empty when none."""
    memory_limit: str | None

    @property
    def reason(self) -> str | None:
        return self.last.get("reason")

    @property
    def exit_code(self) -> int | None:
        return self.last.get("exitCode")


def read_containers(pod: Obj, max_containers: int) -> list[ContainerEvidence]:
    """The pod's restarting or waiting containers, most restarts first, at most ``max_containers``."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    specs = {c.get("name"): c for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])}
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    troubled = sorted(
        (s for s in statuses if int(s.get("restartCount") or 0) > 0 or (s.get("state") or {}).get("waiting")),
        key=lambda s: int(s.get("restartCount") or 0), reverse=True,
    )[:max_containers]
    evidence = []
    for container in troubled:
        name = container.get("name", "?")
        state = container.get("state") or {}
        waiting = state.get("waiting") or {}
        evidence.append(ContainerEvidence(
            name=name,
            restarts=int(container.get("restartCount") or 0),
            waiting=waiting,
            state=waiting.get("reason") or next(iter(state), "?"),
            last=(container.get("lastState") or {}).get("terminated") or state.get("terminated") or {},
            memory_limit=(((specs.get(name) or {}).get("resources") or {}).get("limits") or {}).get("memory"),
        ))
    return evidence


def is_crash_looping(pod: Obj) -> bool:
    """A container of ``pod`` waits in CrashLoopBackOff or has restarted three times or more."""
    return any(c.waiting.get("reason") == "CrashLoopBackOff" or c.restarts >= 3 for c in read_containers(pod, 10))


def _previous_log(ctx: StepContext, pod: Obj, container: str, lines: int) -> tuple[str, str | None]:
    """(log tail, problem reading it)."""
    meta = pod.get("metadata") or {}
    try:
        text = ctx.cluster.logs(meta.get("namespace") or "", meta.get("name", "?"), container, previous=True,
                                tail_lines=lines)
    except ClusterError as exc:
        return "", str(exc)
    return text.rstrip("\n") if text.strip() else "", None


# -- deciding --------------------------------------------------------------------------------------

Cause = Literal["oom_limit", "oom_node", "exit_code", "waiting"]


def cause_of(container: ContainerEvidence) -> Cause:
    """Why the container restarts: OOMKilled against its limit, OOMKilled without one (the node ran
    out), an exit code of its own, or it is waiting (image pull, configuration)."""
    if container.reason == "OOMKilled":
        return "oom_limit" if container.memory_limit else "oom_node"
    if container.exit_code is not None:
        return "exit_code"
    return "waiting"


def container_severity(container: ContainerEvidence) -> Severity:
    """CRITICAL once it is crash-looping (three restarts, or CrashLoopBackOff), WARNING before."""
    looping = container.restarts >= 3 or container.waiting.get("reason") == "CrashLoopBackOff"
    return Severity.CRITICAL if looping else Severity.WARNING


def offers_rollback(change: str, deployment: Obj | None, newest: bool) -> bool:
    """A rollback is offered when this pod runs the newest revision and that revision changed the image."""
    return deployment is not None and newest and "changed the image" in change


# -- wording ---------------------------------------------------------------------------------------


def cause_title(container: ContainerEvidence, pod_name: str, cause: Cause) -> str:
    who = f"Container {container.name} of pod {pod_name}"
    if cause == "oom_limit":
        return f"{who} is OOMKilled: it needs more memory than its limit {container.memory_limit}"
    if cause == "oom_node":
        return f"{who} is OOMKilled with no memory limit: the node ran out of memory"
    if cause == "exit_code":
        return (f"{who} exits with code {container.exit_code} ({exit_meaning(container.exit_code)}) and is "
                f"restarted: {container.restarts} restarts")
    return f"{who} is {container.waiting.get('reason', 'not running')}: {container.restarts} restarts"


def cause_advice(container: ContainerEvidence, cause: Cause) -> str:
    """What to do about it, in one or two sentences."""
    if cause == "oom_limit":
        return "Raise the memory limit (or fix the leak); the last log lines below show what it was doing."
    if cause == "oom_node":
        return "Set a memory request/limit that fits, and check the node's memory pressure."
    if cause == "exit_code":
        return "The application fails at start or shortly after: its previous log below usually says why."
    return one_line(container.waiting.get("message", ""), 300)


def next_step(container: ContainerEvidence, cause: Cause) -> str:
    """The fix in one short sentence, for surfaces that point to this analysis (``describe``)."""
    if cause == "oom_limit":
        return f"Raise the memory limit above {container.memory_limit} (or fix the leak)."
    if cause == "oom_node":
        return "Give the container a memory request and limit that fit."
    if cause == "exit_code":
        return "Its previous log says why it exits."
    return one_line(container.waiting.get("message", "") or "See why it is waiting.", 300)


def container_facts(container: ContainerEvidence, pod: Obj, backoff: Obj | None, now: datetime) -> Facts:
    facts = [("Container", container.name), ("State", container.state),
             ("Restarts", _restart_trend(pod, container.restarts, now))]
    if container.last:
        finished = parse_time(container.last.get("finishedAt"))
        facts.append(("Last termination", f"{container.reason or '?'}, exit code {container.exit_code} "
                                          f"({exit_meaning(container.exit_code)})"
                      + (f", {human_duration(now - finished)} ago" if finished else "")))
    if backoff is not None:
        facts.append(("BackOff events", _backoff_trend(backoff, now)))
    return Facts(tuple(facts))


def probe_finding(step_id: str, pod_name: str, probes: list[Obj], now: datetime) -> Finding:
    rows = tuple((e.get("reason", "?"), *_event_line(e, now)) for e in probes[:5])
    kinds = sorted({marker.split()[0] for e in probes for marker in PROBE_MARKERS
                    if marker in (e.get("message") or "")})
    return Finding(step_id, Severity.WARNING, f"{' and '.join(kinds)} probe failures on pod {pod_name}",
                   "A failing liveness or startup probe makes the kubelet restart the container; "
                   "a failing readiness probe keeps the pod out of its Services' endpoints.",
                   [Table(("REASON", "LAST SEEN", "COUNT", "MESSAGE"), rows)])


def rollback_remediation(deployment: Obj) -> Remediation:
    meta = deployment.get("metadata") or {}
    return Remediation("rollback_deployment", Target("Deployment", meta.get("name", "?"), meta.get("namespace")),
                       "high", f"Roll deployment {meta.get('name')} back to the revision before the image change.")


# -- the diagnosis ---------------------------------------------------------------------------------


def diagnose_pod(ctx: StepContext, pod: Obj, params: CrashloopParams, step_id: str = STEP) -> PodDiagnosis:
    """Findings about one pod's restarting containers (see the module docstring)."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    name = meta.get("name", "?")
    out = PodDiagnosis()
    containers = read_containers(pod, params.max_containers)
    if not containers:
        phase = status.get("phase", "?")
        out.findings.append(Finding(step_id, Severity.OK, f"Pod {name}: no container is restarting ({phase})"))
        return out
    events = _pod_events(ctx, pod)
    probes = [e for e in events if any(marker in (e.get("message") or "") for marker in PROBE_MARKERS)]
    backoffs = [e for e in events if e.get("reason") == "BackOff"]
    for container in containers:
        cause = cause_of(container)
        title, detail = cause_title(container, name, cause), cause_advice(container, cause)
        blocks: list[Block] = [container_facts(container, pod, backoffs[0] if backoffs else None, ctx.now)]
        if params.log_lines:
            tail, problem = _previous_log(ctx, pod, container.name, params.log_lines)
            if problem:
                detail += f" Previous log not readable: {problem}."
            if tail:
                blocks.append(Preformatted(tail, title=f"Last {len(tail.splitlines())} lines of {container.name}'s "
                                                       "previous run"))
            elif not problem:
                detail += " The previous container left no log lines."
        severity = container_severity(container)
        out.findings.append(Finding(step_id, severity, title, detail.strip(), blocks))
        if out.verdict is None:
            out.verdict = Verdict(layer_rule.CONTAINER_FAILING, severity, title + ".")
    if probes:
        out.findings.append(probe_finding(step_id, name, probes, ctx.now))
    change, deployment, newest = _image_change(ctx, pod)
    if change:
        out.findings.append(Finding(step_id, Severity.INFO, "Rollout that put this image in place", change))
        if deployment is not None and offers_rollback(change, deployment, newest):
            out.remediations.append(rollback_remediation(deployment))
    return out


def crashloop_step(ctx: StepContext, params: CrashloopParams) -> StepResult:
    pod, refusal = target_of_kind(ctx, STEP, "Pod")
    if pod is None:
        return refusal or StepResult()
    diagnosis = diagnose_pod(ctx, pod, params)
    return StepResult(diagnosis.findings, diagnosis.verdict, diagnosis.remediations)


STEP_KIND = StepKind(STEP, CrashloopParams, crashloop_step,
                     "Why a pod's containers restart: exit codes, OOM, previous logs, probes, rollout",
                     targets=("Pod",))

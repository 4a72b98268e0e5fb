"""Describing a Pod: status, containers, node, owners, and what is plainly wrong with it.

Also the pod-level pieces the node and workload descriptions reuse: ``kubectl get pods``-style
status and rows, and a ranking of pods from the least to the most healthy. A pod costs one GET
per owner level and one for its node, plus one log read per crashed container (two at most).
Never shown: environment variables, commands and arguments, termination messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clusterdoc.humanize import human_duration, one_line, parse_time
from clusterdoc.report import Block, Facts, Preformatted, Severity, Table, Verdict
from clusterdoc.workers.cluster.base import ClusterError, NotFound, Obj
from clusterdoc.workers.runbook.registry import StepContext
from clusterdoc.workers.steps.common import age, ago
from clusterdoc.workers.steps.describe.parts import (
    Described,
    chain_facts,
    conditions_table,
    find_condition,
    resource_list,
    resources_text,
    toleration_text,
)

UNSCHEDULED_GRACE_SECONDS = 60
WAITING_PROBLEMS = {
    "CrashLoopBackOff": "is crash-looping",
    "ImagePullBackOff": "cannot pull its image",
    "ErrImagePull": "cannot pull its image",
    "InvalidImageName": "has an invalid image name",
    "CreateContainerConfigError": "cannot be configured",
    "CreateContainerError": "cannot be created",
    "RunContainerError": "cannot be started",
}

Container = tuple[bool, dict[str, Any], dict[str, Any]]
"""``(is_init, spec, status)`` of one container."""


def containers_of(pod: Obj) -> list[Container]:
    """(is_init, spec, status) for every init and app container, in spec order."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    result: list[Container] = []
    for is_init, specs, statuses in (
        (True, spec.get("initContainers") or [], status.get("initContainerStatuses") or []),
        (False, spec.get("containers") or [], status.get("containerStatuses") or []),
    ):
        by_name = {s.get("name"): s for s in statuses}
        result.extend((is_init, c, by_name.get(c.get("name"), {})) for c in specs)
    return result


def pod_status(pod: Obj) -> str:
    """The STATUS column of ``kubectl get pods``, close enough: waiting reasons win over the phase."""
    status = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    if status.get("reason"):
        return str(status["reason"])
    for is_init, _spec, container in containers_of(pod):
        state = container.get("state") or {}
        reason = (state.get("waiting") or {}).get("reason") or (state.get("terminated") or {}).get("reason")
        if is_init and reason and reason != "Completed":
            return f"Init:{reason}"
        if not is_init and reason and reason != "Completed":
            return str(reason)
    return str(status.get("phase") or "Unknown")


def _state_text(container: dict[str, Any], now: datetime) -> str:
    state = container.get("state") or {}
    if "waiting" in state:
        return f"Waiting: {(state['waiting'] or {}).get('reason', '?')}"
    if "running" in state:
        return f"Running for {age((state['running'] or {}).get('startedAt'), now)}"
    if "terminated" in state:
        term = state["terminated"] or {}
        return f"Terminated: {term.get('reason', '?')} (exit code {term.get('exitCode', '?')})"
    return "not started"


def _last_termination(container: dict[str, Any], now: datetime) -> str:
    term = (container.get("lastState") or {}).get("terminated")
    if not term:
        return ""
    finished = ago(parse_time(term.get("finishedAt")), now)
    return f"{term.get('reason', '?')}, exit code {term.get('exitCode', '?')}, {finished}"


def _container_problem(pod_name: str, is_init: bool, spec: dict[str, Any], status: dict[str, Any]) -> str:
    """One sentence about what is wrong with a container, or empty."""
    waiting = (status.get("state") or {}).get("waiting") or {}
    what = f"{'Init container' if is_init else 'Container'} {spec.get('name')} of pod {pod_name}"
    reason = waiting.get("reason", "")
    if reason not in WAITING_PROBLEMS:
        return ""
    sentence = f"{what} {WAITING_PROBLEMS[reason]} ({reason})"
    last = (status.get("lastState") or {}).get("terminated")
    if reason == "CrashLoopBackOff":
        sentence += f": {status.get('restartCount', 0)} restarts"
        if last:
            sentence += f", last exit {last.get('reason', '?')} with exit code {last.get('exitCode', '?')}"
            limit = ((spec.get("resources") or {}).get("limits") or {}).get("memory")
            if last.get("reason") == "OOMKilled":
                sentence += f" (memory limit {limit})" if limit else " (no memory limit: the node ran out)"
    elif waiting.get("message"):
        sentence += f": {one_line(waiting['message'], 200)}"
    return sentence


def _node_state(ctx: StepContext, node_name: str) -> tuple[str, bool | None]:
    """``(text, ready)`` for the pod's node; ready is None when unknown."""
    try:
        node = ctx.cluster.get("Node", node_name)
    except NotFound:
        return f"{node_name} (the node no longer exists)", False
    except ClusterError:
        return node_name, None
    ready = find_condition((node.get("status") or {}).get("conditions"), "Ready")
    if ready is None:
        return node_name, None
    if ready.get("status") == "True":
        return f"{node_name} (Ready)", True
    return f"{node_name} (NotReady: {ready.get('reason') or ready.get('status')})", False


def _previous_logs(ctx: StepContext, pod: Obj, lines: int) -> list[Block]:
    """The tail of the previous run's log for containers that crashed (at most two, one call each)."""
    meta = pod.get("metadata") or {}
    blocks: list[Block] = []
    crashed = [(spec, status) for _init, spec, status in containers_of(pod)
               if int(status.get("restartCount") or 0) > 0 and (status.get("lastState") or {}).get("terminated")]
    for spec, status in crashed[:2]:
        name = spec.get("name", "?")
        try:
            text = ctx.cluster.logs(meta.get("namespace", ""), meta.get("name", ""), name, previous=True,
                                    tail_lines=lines)
        except ClusterError:
            continue
        if text.strip():
            reason = ((status.get("lastState") or {}).get("terminated") or {}).get("reason", "?")
            tail = text.rstrip("\n")
            count = len(tail.splitlines())
            blocks.append(Preformatted(tail, title=f"Last {count} log lines of {name} before it stopped ({reason})"))
    return blocks


def describe_pod(ctx: StepContext, pod: Obj, log_lines: int = 0) -> Described:
    """The pod's facts, containers and conditions; what is wrong with it; the log tail of crashed containers."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    name, now = meta.get("name", "?"), ctx.now
    shown_status = pod_status(pod)
    containers = containers_of(pod)
    ready = sum(1 for is_init, _s, c in containers if not is_init and c.get("ready"))
    app_count = sum(1 for is_init, _s, _c in containers if not is_init)
    restarts = restart_count(containers)
    out = Described(f"Pod {meta.get('namespace')}/{name}: {shown_status}, {ready}/{app_count} ready, "
                    f"{restarts} restart{'s' if restarts != 1 else ''}")
    facts: list[tuple[str, str]] = [("Status", shown_status)]
    if status.get("phase") != shown_status:
        facts.append(("Phase", status.get("phase", "?")))
    if status.get("message"):
        facts.append(("Message", one_line(status["message"], 240)))
    node_ready: bool | None = None
    if spec.get("nodeName"):
        node_text, node_ready = _node_state(ctx, spec["nodeName"])
        facts.append(("Node", node_text))
    else:
        facts.append(("Node", "none (not scheduled)"))
    facts.append(("Age", age(meta.get("creationTimestamp"), now)))
    if meta.get("deletionTimestamp"):
        facts.append(("Deleting since", ago(parse_time(meta["deletionTimestamp"]), now)))
    for label, value in (("QoS class", status.get("qosClass")), ("Priority class", spec.get("priorityClassName")),
                         ("Scheduler", spec.get("schedulerName") if spec.get("schedulerName") != "default-scheduler"
                          else None), ("Pod IP", status.get("podIP"))):
        if value:
            facts.append((label, str(value)))
    facts.extend(chain_facts(ctx, pod))
    if spec.get("nodeSelector"):
        facts.append(("Node selector", resource_list(spec["nodeSelector"])))
    if spec.get("schedulingGates"):
        facts.append(("Scheduling gates", ", ".join(g.get("name", "?") for g in spec["schedulingGates"])))
    claims = [v["persistentVolumeClaim"].get("claimName", "?") for v in spec.get("volumes") or []
              if v.get("persistentVolumeClaim")]
    if claims:
        facts.append(("PVCs", ", ".join(claims)))
    tolerations = spec.get("tolerations") or []
    facts.append(("Tolerations", "; ".join(toleration_text(t) for t in tolerations) if tolerations else "none"))
    out.blocks.append(Facts(tuple(facts)))

    rows = []
    for is_init, c_spec, c_status in containers:
        rows.append((
            f"{'init:' if is_init else ''}{c_spec.get('name', '?')}", c_spec.get("image", "?"),
            _state_text(c_status, now), "yes" if c_status.get("ready") else "no",
            str(c_status.get("restartCount", 0)), _last_termination(c_status, now), resources_text(c_spec),
        ))
    out.blocks.append(Table(("CONTAINER", "IMAGE", "STATE", "READY", "RESTARTS", "LAST EXIT", "RESOURCES"),
                            tuple(rows)))
    conditions = status.get("conditions") or []
    if conditions:
        out.blocks.append(conditions_table(conditions, now))
    _judge_pod(ctx, pod, out, containers, node_ready)
    if log_lines:
        out.blocks.extend(_previous_logs(ctx, pod, log_lines))
    return out


def _judge_pod(ctx: StepContext, pod: Obj, out: Described,
               containers: list[Container], node_ready: bool | None) -> None:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    name, phase = meta.get("name", "?"), status.get("phase")
    scheduled = find_condition(status.get("conditions"), "PodScheduled")
    if spec.get("nodeName") and node_ready is False:
        line = f"Pod {name} is bound to node {spec['nodeName']}, which is not Ready"
        out.flag(Severity.CRITICAL, line)
        out.verdict = Verdict("node", Severity.CRITICAL, f"{line}: look at the node, not the pod.")
        owner = (meta.get("ownerReferences") or [{}])[0]
        if owner.get("kind") == "StatefulSet" and meta.get("deletionTimestamp"):
            out.detail.append("A StatefulSet pod is not recreated elsewhere until this one is confirmed gone; if the "
                              "node is really down, deleting the Node object releases it.")
    if scheduled and scheduled.get("status") == "False":
        message = one_line(scheduled.get("message") or "", 400)
        line = f"Pod {name} is not scheduled ({scheduled.get('reason', '?')}): {message}"
        out.flag(Severity.WARNING, line)
        if scheduled.get("reason") == "Unschedulable" and out.verdict is None:
            out.verdict = Verdict("scheduler", Severity.WARNING, f"{name} is Pending: the scheduler found no node. "
                                  f"{message}")
    elif phase == "Pending" and not spec.get("nodeName") and not spec.get("schedulingGates"):
        created = parse_time(meta.get("creationTimestamp"))
        if created and (ctx.now - created).total_seconds() > UNSCHEDULED_GRACE_SECONDS:
            scheduler = spec.get("schedulerName") or "default-scheduler"
            line = (f"Pod {name} has been Pending for {human_duration(ctx.now - created)} and no scheduler has "
                    f"reported on it (schedulerName {scheduler})")
            out.blame("scheduler", Severity.WARNING, line)
    if spec.get("schedulingGates"):
        out.flag(Severity.WARNING, f"Pod {name} still has scheduling gates, so no scheduler will place it")
    for is_init, c_spec, c_status in containers:
        problem = _container_problem(name, is_init, c_spec, c_status)
        if problem:
            out.blame("workload", Severity.WARNING, problem)
        elif int(c_status.get("restartCount") or 0) >= 3:
            last = _last_termination(c_status, ctx.now)
            out.flag(Severity.WARNING, f"Container {c_spec.get('name')} has restarted {c_status['restartCount']} "
                                       f"times" + (f" (last: {last})" if last else ""))
    if phase == "Pending" and spec.get("nodeName") and node_ready is not False and not out.detail:
        out.flag(Severity.WARNING, f"Pod {name} is on node {spec['nodeName']} but its containers have not started "
                                   f"({pod_status(pod)}): the events say why")
    if phase == "Failed":
        line = f"Pod {name} failed: {status.get('reason') or ''} {one_line(status.get('message') or '', 240)}".strip()
        out.blame("workload", Severity.WARNING, line)
    elif phase == "Running":
        ready = find_condition(status.get("conditions"), "Ready")
        if ready and ready.get("status") != "True" and not out.detail:
            out.flag(Severity.WARNING, f"Pod {name} is running but not Ready ({ready.get('reason') or '?'})")
    if meta.get("deletionTimestamp"):
        out.flag(Severity.WARNING, f"Pod {name} has been terminating for {age(meta['deletionTimestamp'], ctx.now)}")


def restart_count(containers: list[Container]) -> int:
    """Restarts of all containers, init containers included."""
    return sum(int(status.get("restartCount") or 0) for _init, _spec, status in containers)


def unhealthy_rank(pod: Obj) -> tuple[int, int]:
    """Sort key, higher is sicker: (0 healthy, 1 running but not well, 2 not running; restarts)."""
    status = pod_status(pod)
    containers = containers_of(pod)
    restarts = restart_count(containers)
    all_ready = all(c.get("ready") for is_init, _s, c in containers if not is_init) and bool(containers)
    healthy = status == "Running" and all_ready and restarts < 3
    return (0 if healthy else 2 if status not in ("Running", "Completed", "Succeeded") else 1, restarts)


def pod_row(pod: Obj, now: datetime, on_node: bool = False) -> tuple[str, ...]:
    """A ``kubectl get pods`` row; ``on_node`` rows (a node's pods) name the namespace instead of the node."""
    containers = containers_of(pod)
    app = [c for is_init, _s, c in containers if not is_init]
    ready = sum(1 for c in app if c.get("ready"))
    restarts = restart_count(containers)
    meta = pod.get("metadata") or {}
    if on_node:
        return (f"{meta.get('namespace')}/{meta.get('name', '?')}", f"{ready}/{len(app)}", pod_status(pod),
                str(restarts), age(meta.get("creationTimestamp"), now))
    return (meta.get("name", "?"), f"{ready}/{len(app)}", pod_status(pod), str(restarts),
            (pod.get("spec") or {}).get("nodeName") or "<none>", age(meta.get("creationTimestamp"), now))


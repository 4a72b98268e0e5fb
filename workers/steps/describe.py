"""The ``describe`` step: the state of the target as an SRE reads it, with the bad parts flagged.

Covers Pod, Node, Deployment/StatefulSet/DaemonSet, ReplicaSet, Job and PersistentVolumeClaim
(other kinds get their metadata and conditions). Each object's output is capped at
``max_lines``; whatever is cut is counted in a note. For a workload it also lists the pods and
describes the unhealthiest ones in full. It offers a verdict only when the evidence is plain
(crash loop → ``workload``, NotReady node → ``node``, unschedulable pod → ``scheduler``); the
deep why-pending analysis is another step's job.

Never shown: a Secret's data, environment variable values (or names), ``valueFrom`` references,
container commands and arguments, termination messages — anything that may carry a credential.

API calls are bounded: a pod costs one GET per owner level and one for its node; a node one GET
(its Lease) and one LIST (its pods); a workload two LISTs at most for its ReplicaSets and pods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from workers.cluster.base import ClusterError, NotFound, Obj
from workers.report import Block, Facts, Finding, Preformatted, Severity, Table, Text, Verdict, worst
from workers.runbook.registry import StepContext, StepParams, StepResult, step
from workers.steps.common import (
    age,
    format_quantity,
    human_duration,
    one_line,
    owner_chain,
    parse_quantity,
    parse_time,
    selector_string,
    short_ref,
    workload_members,
)

STEP = "describe"
NODE_LEASE_NAMESPACE = "kube-node-lease"
NODE_MONITOR_GRACE_SECONDS = 40
"""kube-controller-manager's default ``--node-monitor-grace-period``."""
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
TRUE_IS_BAD = {"MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable", "ReplicaFailure",
               "Failed", "DisruptionTarget", "Suspended", "FileSystemResizePending"}
CONDITION_COLUMNS = ("CONDITION", "STATUS", "OK", "REASON", "MESSAGE", "SINCE")


class DescribeParams(StepParams):
    max_lines: int = Field(60, ge=10, le=1000, description="at most this many lines per object")
    pods: int = Field(1, ge=0, le=10, description="for a workload: how many unhealthy pods to describe in full")
    log_lines: int = Field(10, ge=0, le=200, description="log tail of a crashed container (0: none)")


@dataclass
class Described:
    """What describing one object established, before the size cap."""

    title: str
    severity: Severity = Severity.INFO
    detail: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    verdict: Verdict | None = None

    def flag(self, severity: Severity, line: str) -> None:
        """Record a problem: raise the severity and add the line to the detail."""
        self.severity = worst([self.severity, severity])
        self.detail.append(line)


# ---------------------------------------------------------------------------------------------- shared parts

def condition_bad(condition: dict[str, Any]) -> bool:
    status = condition.get("status")
    if condition.get("type") in TRUE_IS_BAD:
        return status == "True"
    if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
        return True
    return status != "True"


def _ok_mark(condition: dict[str, Any]) -> str:
    if condition.get("status") == "Unknown":
        return "?"
    return "NO" if condition_bad(condition) else "yes"


def conditions_table(conditions: list[dict[str, Any]], now: datetime) -> Table:
    """Conditions with the bad ones first, marked ``NO`` (``?`` when Unknown) in the OK column."""
    order = {"NO": 0, "?": 1, "yes": 2}
    ordered = sorted(conditions, key=lambda c: (order[_ok_mark(c)], c.get("type") != "Ready"))
    rows = tuple(
        (
            c.get("type", "?"), c.get("status", "?"), _ok_mark(c),
            c.get("reason") or "", one_line(c.get("message") or "", 240),
            age(c.get("lastTransitionTime"), now),
        )
        for c in ordered
    )
    return Table(CONDITION_COLUMNS, rows)


def _resource_list(values: dict[str, Any] | None) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted((values or {}).items()))


def resources_text(container: dict[str, Any]) -> str:
    resources = container.get("resources") or {}
    requests, limits = _resource_list(resources.get("requests")), _resource_list(resources.get("limits"))
    parts = [f"req {requests}" if requests else "", f"lim {limits}" if limits else ""]
    return "; ".join(p for p in parts if p) or "none"


def _since(value: Any, now: datetime) -> str:
    when = parse_time(value)
    return f"{human_duration(now - when)} ago" if when else "?"


def toleration_text(toleration: dict[str, Any]) -> str:
    key, operator = toleration.get("key") or "", toleration.get("operator") or "Equal"
    text = key if operator == "Exists" or not key else f"{key}={toleration.get('value', '')}"
    if toleration.get("effect"):
        text += f":{toleration['effect']}"
    if operator == "Exists":
        text += " op=Exists" if key else "(all taints) op=Exists"
    if toleration.get("tolerationSeconds") is not None:
        text += f" for {toleration['tolerationSeconds']}s"
    return text


def taint_text(taint: dict[str, Any]) -> str:
    value = taint.get("value")
    return f"{taint.get('key', '?')}{'=' + value if value else ''}:{taint.get('effect', '?')}"


def _chain_fact(ctx: StepContext, obj: Obj) -> tuple[str, str] | None:
    chain = owner_chain(ctx.cluster, obj)
    if not chain:
        return None
    meta = obj.get("metadata") or {}
    names = [short_ref(obj.get("kind", "?"), meta.get("name", "?"))] + [link.label() for link in chain]
    return ("Controlled by", " → ".join(names))


# ---------------------------------------------------------------------------------------------- pods

def _containers(pod: Obj) -> list[tuple[bool, dict[str, Any], dict[str, Any]]]:
    """(is_init, spec, status) for every init and app container, in spec order."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    result = []
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
    for is_init, _spec, container in _containers(pod):
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
    return f"{term.get('reason', '?')}, exit code {term.get('exitCode', '?')}, {_since(term.get('finishedAt'), now)}"


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
    ready = next((c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is None:
        return node_name, None
    if ready.get("status") == "True":
        return f"{node_name} (Ready)", True
    return f"{node_name} (NotReady: {ready.get('reason') or ready.get('status')})", False


def _previous_logs(ctx: StepContext, pod: Obj, lines: int) -> list[Block]:
    """The tail of the previous run's log for containers that crashed (at most two, one call each)."""
    meta = pod.get("metadata") or {}
    blocks: list[Block] = []
    crashed = [(spec, status) for _init, spec, status in _containers(pod)
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
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    name, now = meta.get("name", "?"), ctx.now
    shown_status = pod_status(pod)
    containers = _containers(pod)
    ready = sum(1 for is_init, _s, c in containers if not is_init and c.get("ready"))
    app_count = sum(1 for is_init, _s, _c in containers if not is_init)
    restarts = sum(int(c.get("restartCount") or 0) for _i, _s, c in containers)
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
        facts.append(("Deleting since", _since(meta["deletionTimestamp"], now)))
    for label, value in (("QoS class", status.get("qosClass")), ("Priority class", spec.get("priorityClassName")),
                         ("Scheduler", spec.get("schedulerName") if spec.get("schedulerName") != "default-scheduler"
                          else None), ("Pod IP", status.get("podIP"))):
        if value:
            facts.append((label, str(value)))
    chain = _chain_fact(ctx, pod)
    if chain:
        facts.append(chain)
    if spec.get("nodeSelector"):
        facts.append(("Node selector", _resource_list(spec["nodeSelector"])))
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
               containers: list[tuple[bool, dict[str, Any], dict[str, Any]]], node_ready: bool | None) -> None:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    name, phase = meta.get("name", "?"), status.get("phase")
    scheduled = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None)
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
            out.flag(Severity.WARNING, line)
            out.verdict = out.verdict or Verdict("scheduler", Severity.WARNING, line + ".")
    if spec.get("schedulingGates"):
        out.flag(Severity.WARNING, f"Pod {name} still has scheduling gates, so no scheduler will place it")
    for is_init, c_spec, c_status in containers:
        problem = _container_problem(name, is_init, c_spec, c_status)
        if problem:
            out.flag(Severity.WARNING, problem)
            out.verdict = out.verdict or Verdict("workload", Severity.WARNING, problem + ".")
        elif int(c_status.get("restartCount") or 0) >= 3:
            last = _last_termination(c_status, ctx.now)
            out.flag(Severity.WARNING, f"Container {c_spec.get('name')} has restarted {c_status['restartCount']} "
                                       f"times" + (f" (last: {last})" if last else ""))
    if phase == "Pending" and spec.get("nodeName") and node_ready is not False and not out.detail:
        out.flag(Severity.WARNING, f"Pod {name} is on node {spec['nodeName']} but its containers have not started "
                                   f"({pod_status(pod)}): the events say why")
    if phase == "Failed":
        line = f"Pod {name} failed: {status.get('reason') or ''} {one_line(status.get('message') or '', 240)}".strip()
        out.flag(Severity.WARNING, line)
        out.verdict = out.verdict or Verdict("workload", Severity.WARNING, line + ".")
    elif phase == "Running":
        ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
        if ready and ready.get("status") != "True" and not out.detail:
            out.flag(Severity.WARNING, f"Pod {name} is running but not Ready ({ready.get('reason') or '?'})")
    if meta.get("deletionTimestamp"):
        out.flag(Severity.WARNING, f"Pod {name} has been terminating for {age(meta['deletionTimestamp'], ctx.now)}")


# ---------------------------------------------------------------------------------------------- nodes

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
    except ClusterError:
        parts.append("Lease not readable")
    ready = next((c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {})
    beat = parse_time(ready.get("lastHeartbeatTime"))
    if beat:
        parts.append(f"status posted {human_duration(ctx.now - beat)} ago")
        seconds = seconds if seconds is not None else (ctx.now - beat).total_seconds()
    return "; ".join(parts) or "unknown", seconds


def describe_node(ctx: StepContext, node: Obj) -> Described:
    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    name, now, labels = meta.get("name", "?"), ctx.now, meta.get("labels") or {}
    conditions = status.get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), {})
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
        ranked = sorted(live, key=_unhealthy_rank, reverse=True)
        out.blocks.append(Table(("POD", "READY", "STATUS", "RESTARTS", "AGE"),
                                tuple(_pod_row(p, now, on_node=True) for p in ranked)))

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
            out.flag(Severity.WARNING, line)
            out.verdict = out.verdict or Verdict("node", Severity.WARNING, line + ".")
    if spec.get("unschedulable"):
        out.flag(Severity.INFO, f"Node {name} is cordoned: no new pods will be scheduled on it")
    return out


# ---------------------------------------------------------------------------------------------- workloads

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


def _unhealthy_rank(pod: Obj) -> tuple[int, int]:
    status = pod_status(pod)
    containers = _containers(pod)
    restarts = sum(int(c.get("restartCount") or 0) for _i, _s, c in containers)
    all_ready = all(c.get("ready") for is_init, _s, c in containers if not is_init) and bool(containers)
    healthy = status == "Running" and all_ready and restarts < 3
    return (0 if healthy else 2 if status not in ("Running", "Completed", "Succeeded") else 1, restarts)


def describe_workload(ctx: StepContext, obj: Obj, params: DescribeParams) -> list[Described]:
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
    chain = _chain_fact(ctx, obj)
    if chain:
        facts.append(chain)
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
                    out.flag(Severity.WARNING, line)
                    out.verdict = out.verdict or Verdict("controller", Severity.WARNING, line + ".")
    pods = sorted(members.pods, key=lambda p: _unhealthy_rank(p), reverse=True)
    if pods:
        out.blocks.append(Table(("POD", "READY", "STATUS", "RESTARTS", "NODE", "AGE"), tuple(_pod_row(p, now)
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
    for pod in [p for p in pods if _unhealthy_rank(p)[0] > 0][: params.pods]:
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


def _pod_row(pod: Obj, now: datetime, on_node: bool = False) -> tuple[str, ...]:
    """A ``kubectl get pods`` row; ``on_node`` rows (a node's pods) name the namespace instead of the node."""
    containers = _containers(pod)
    app = [c for is_init, _s, c in containers if not is_init]
    ready = sum(1 for c in app if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for _i, _s, c in containers)
    meta = pod.get("metadata") or {}
    if on_node:
        return (f"{meta.get('namespace')}/{meta.get('name', '?')}", f"{ready}/{len(app)}", pod_status(pod),
                str(restarts), age(meta.get("creationTimestamp"), now))
    return (meta.get("name", "?"), f"{ready}/{len(app)}", pod_status(pod), str(restarts),
            (pod.get("spec") or {}).get("nodeName") or "<none>", age(meta.get("creationTimestamp"), now))


# ---------------------------------------------------------------------------------------------- PVCs and others

def describe_pvc(ctx: StepContext, pvc: Obj) -> Described:
    meta, spec, status = pvc.get("metadata") or {}, pvc.get("spec") or {}, pvc.get("status") or {}
    name, phase = meta.get("name", "?"), status.get("phase", "?")
    out = Described(f"PersistentVolumeClaim {meta.get('namespace')}/{name}: {phase}")
    class_name = spec.get("storageClassName")
    binding_mode = ""
    class_text = class_name or "none (the cluster default applies only at creation)"
    if class_name:
        try:
            storage_class = ctx.cluster.get("StorageClass", class_name)
            binding_mode = storage_class.get("volumeBindingMode") or "Immediate"
            class_text = f"{class_name} ({storage_class.get('provisioner', '?')}, {binding_mode})"
        except NotFound:
            class_text = f"{class_name} (no such StorageClass)"
            out.flag(Severity.WARNING, f"PVC {name} names StorageClass {class_name}, which does not exist")
        except ClusterError:
            pass
    requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "?")
    facts = [
        ("Status", phase), ("StorageClass", class_text), ("Volume", spec.get("volumeName") or "none"),
        ("Access modes", ", ".join(spec.get("accessModes") or []) or "?"), ("Requested", str(requested)),
        ("Capacity", str((status.get("capacity") or {}).get("storage", "none"))),
        ("Volume mode", spec.get("volumeMode") or "Filesystem"), ("Age", age(meta.get("creationTimestamp"), ctx.now)),
    ]
    chain = _chain_fact(ctx, pvc)
    if chain:
        facts.append(chain)
    out.blocks.append(Facts(tuple(facts)))
    if status.get("conditions"):
        out.blocks.append(conditions_table(status["conditions"], ctx.now))
    if phase == "Pending":
        if binding_mode == "WaitForFirstConsumer":
            out.detail.append(f"PVC {name} waits for its first consumer to be scheduled (normal for "
                              f"WaitForFirstConsumer)")
        else:
            out.flag(Severity.WARNING, f"PVC {name} is Pending: no volume bound yet")
    elif phase == "Lost":
        out.flag(Severity.CRITICAL, f"PVC {name} is Lost: its PersistentVolume {spec.get('volumeName')} is gone")
    return out


def describe_other(ctx: StepContext, obj: Obj) -> Described:
    """Metadata and conditions only: spec and data are never shown (a Secret stays secret)."""
    meta = obj.get("metadata") or {}
    out = Described(f"{obj.get('kind', '?')} {short_ref(obj.get('kind', '?'), meta.get('name', '?'))}")
    facts = [("Kind", obj.get("kind", "?")), ("Age", age(meta.get("creationTimestamp"), ctx.now))]
    if meta.get("namespace"):
        facts.append(("Namespace", meta["namespace"]))
    chain = _chain_fact(ctx, obj)
    if chain:
        facts.append(chain)
    out.blocks.append(Facts(tuple(facts)))
    conditions = (obj.get("status") or {}).get("conditions") or []
    if isinstance(conditions, list) and conditions:
        out.blocks.append(conditions_table(conditions, ctx.now))
        for condition in conditions:
            if condition_bad(condition):
                out.flag(Severity.WARNING, f"Condition {condition.get('type')}={condition.get('status')}: "
                                           f"{one_line(condition.get('message') or '', 200)}")
    out.detail.append(f"clusterdoc describes {obj.get('kind')} objects by metadata and conditions only.")
    return out


# ---------------------------------------------------------------------------------------------- size cap

def _lines(block: Block) -> int:
    if isinstance(block, Facts):
        return len(block.items)
    if isinstance(block, Table):
        return len(block.rows) + 1
    return len(block.text.splitlines()) or 1


def cap_blocks(blocks: list[Block], max_lines: int) -> list[Block]:
    """``blocks`` trimmed to ``max_lines`` by cutting table rows (then facts) from the end, with a note."""
    total = sum(_lines(b) for b in blocks)
    if total <= max_lines:
        return blocks
    excess = total - max_lines + 1  # one line for the note
    trimmed = list(blocks)
    cuts: list[str] = []
    for kinds_to_cut in ((Table,), (Facts,)):
        for index in range(len(trimmed) - 1, -1, -1):
            block = trimmed[index]
            if excess <= 0 or not isinstance(block, kinds_to_cut):
                continue
            items = block.rows if isinstance(block, Table) else block.items
            keep = max(len(items) - excess, 2 if isinstance(block, Table) else 4)
            if keep >= len(items):
                continue
            dropped = len(items) - keep
            excess -= dropped
            if isinstance(block, Table):
                trimmed[index] = Table(block.columns, block.rows[:keep])
                cuts.append(f"{dropped} of {len(items)} {block.columns[0].lower()} rows")
            else:
                trimmed[index] = Facts(block.items[:keep])
                cuts.append(f"{dropped} facts")
    if cuts:
        trimmed.append(Text(f"Cut to stay within {max_lines} lines: {', '.join(cuts)} not shown."))
    return trimmed


# ---------------------------------------------------------------------------------------------- the step

def _finding(described: Described, max_lines: int) -> Finding:
    return Finding(STEP, described.severity, described.title, "\n".join(described.detail),
                   cap_blocks(described.blocks, max_lines))


@step("describe", DescribeParams, "State of the target: status, conditions, containers, owners, taints")
def describe_step(ctx: StepContext, params: DescribeParams) -> StepResult:
    obj = ctx.target_object
    if obj is None:
        return StepResult([Finding(STEP, Severity.INFO, "No target object: nothing to describe")])
    kind = obj.get("kind")
    if kind == "Pod":
        described = [describe_pod(ctx, obj, params.log_lines)]
    elif kind == "Node":
        described = [describe_node(ctx, obj)]
    elif kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        described = describe_workload(ctx, obj, params)
    elif kind == "PersistentVolumeClaim":
        described = [describe_pvc(ctx, obj)]
    else:
        described = [describe_other(ctx, obj)]
    verdict = described[0].verdict or next((d.verdict for d in described if d.verdict), None)
    return StepResult([_finding(d, params.max_lines) for d in described], verdict=verdict)

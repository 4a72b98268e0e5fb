"""The five kinds of "pending", told apart, and the verdict layer each one points to.

Layer mapping (where the pod creation path stalls):

============================  ==================================================================
case                          verdict layer
============================  ==================================================================
``not_scheduled``             ``scheduler`` (resources, taints, affinity, volumes: the scheduler is
                              where it stalls) — except ``node`` when the cause is a node-condition
                              taint (``node.kubernetes.io/not-ready``/``unreachable``/pressure,
                              ``network-unavailable``) on every node or on a node that would
                              otherwise fit; ``node`` too when the cluster has no nodes.
``no_scheduler``              ``scheduler``: a ``schedulerName`` no running scheduler has,
                              ``schedulingGates`` still set, or a stale scheduler leader Lease;
                              ``workload`` for ``spec.nodeName`` set by hand to a node that does not
                              exist (the scheduler skips such pods; the manifest must change).
``scheduled_not_started``     ``node`` for sandbox/CNI errors, volume attach failures and a node that
                              went NotReady; ``workload`` for a node deleted under the pod (the fix
                              is recreating the pod), image pulls, missing ConfigMap/Secret
                              (``CreateContainerConfigError``, ``FailedMount`` of one) and init
                              containers failing or still running.
``never_created``             ``controller``: ``FailedCreate`` (ResourceQuota with its numbers,
                              admission webhook, PodSecurity), a stuck rollout; ``workload`` for a
                              Deployment someone paused (the controller is doing as told).
``not_pending``               ``none`` when running and ready or succeeded; ``workload`` when
                              failed, crash-looping or not ready.
============================  ==================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from clusterdoc.humanize import parse_time
from clusterdoc.report import Facts, Finding, Preformatted, Severity, Table
from clusterdoc.workers import layer_rule
from clusterdoc.workers.cluster.base import Cluster, ClusterError, NotFound, Obj
from clusterdoc.workers.scheduling.inputs import DEFAULT_SCHEDULER

NOT_SCHEDULED = "not_scheduled"
SCHEDULED_NOT_STARTED = "scheduled_not_started"
NEVER_CREATED = "never_created"
NOT_PENDING = "not_pending"
NO_SCHEDULER = "no_scheduler"
CASES = (NOT_SCHEDULED, SCHEDULED_NOT_STARTED, NEVER_CREATED, NOT_PENDING, NO_SCHEDULER)

STEP = "scheduling"
IMAGE_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                           "RegistryUnavailable"})
CONFIG_REASONS = frozenset({"CreateContainerConfigError", "CreateContainerError", "RunContainerError"})
SANDBOX_EVENT_REASONS = frozenset({"FailedCreatePodSandBox", "FailedPodSandBoxStatus", "NetworkNotReady",
                                   "FailedKillPod", "SandboxChanged"})
MISSING_CONFIG = re.compile(
    r'(configmap|secret)s? "?([\w.-]+)"? not found|couldn\'t find key (\S+) in (\w+) ([\w/.-]+)', re.IGNORECASE
)
QUOTA = re.compile(r"exceeded quota: (?P<quota>[\w.-]+), requested: (?P<requested>[^,]+(?:,[^,:]+=[^,]+)*), "
                   r"used: (?P<used>[^,]+(?:,[^,:]+=[^,]+)*), limited: (?P<limited>[^,]+(?:,[^,:]+=[^,]+)*)")


@dataclass
class CaseResult:
    """The case, its layer and severity, one sentence, and the evidence."""

    case: str
    layer: str
    severity: Severity
    summary: str
    findings: list[Finding] = field(default_factory=list)


def event_time(event: Obj) -> str:
    series = event.get("series") or {}
    return (series.get("lastObservedTime") or event.get("lastTimestamp") or event.get("eventTime")
            or (event.get("metadata") or {}).get("creationTimestamp") or "")


def newest(events: list[Obj], reason: str) -> Obj | None:
    matching = [e for e in events if e.get("reason") == reason]
    return max(matching, key=event_time) if matching else None


def _condition(pod: Obj, kind: str) -> dict[str, Any]:
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if condition.get("type") == kind:
            return dict(condition)
    return {}


def scheduler_message(pod: Obj, events: list[Obj]) -> str:
    """The newest FailedScheduling message, or the PodScheduled condition's message."""
    event = newest(events, "FailedScheduling")
    condition = _condition(pod, "PodScheduled")
    if event is not None:
        return str(event.get("message") or event.get("note") or "")
    if condition.get("status") == "False":
        return str(condition.get("message") or "")
    return ""


def classify(pod: Obj, events: list[Obj], now: datetime, no_scheduler_after: timedelta) -> str:
    """Which of the five cases a pod is in (``never_created`` is decided at the workload level)."""
    status, spec = pod.get("status") or {}, pod.get("spec") or {}
    if status.get("phase", "Pending") != "Pending":
        return NOT_PENDING
    if spec.get("nodeName"):
        return SCHEDULED_NOT_STARTED
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return NO_SCHEDULER  # kube-scheduler skips pods being deleted (skipPodSchedule), whatever it said before
    condition = _condition(pod, "PodScheduled")
    if spec.get("schedulingGates") or condition.get("reason") == "SchedulingGated":
        return NO_SCHEDULER
    if newest(events, "FailedScheduling") is not None or condition.get("reason") == "Unschedulable":
        return NOT_SCHEDULED
    created = parse_time((pod.get("metadata") or {}).get("creationTimestamp"))
    if created is not None and now - created > no_scheduler_after:
        return NO_SCHEDULER
    return NOT_SCHEDULED


def node_named_but_missing(cluster: Cluster, pod: Obj) -> bool:
    """``spec.nodeName`` set by hand (no PodScheduled condition) to a node that does not exist."""
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name or _condition(pod, "PodScheduled"):
        return False
    try:
        cluster.get("Node", node_name)
    except NotFound:
        return True
    except ClusterError:
        return False
    return False


# -- no scheduler --------------------------------------------------------------------------------


def explain_no_scheduler(cluster: Cluster, pod: Obj, now: datetime) -> CaseResult:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    name = meta.get("name", "")
    created = parse_time(meta.get("creationTimestamp"))
    waited = f" for {_ago(now - created)}" if created else ""
    if meta.get("deletionTimestamp"):
        return _explain_deleting(pod, now)
    gates = [gate.get("name", "") for gate in spec.get("schedulingGates") or ()]
    if gates:
        summary = (f"{name} is held back by schedulingGates {', '.join(gates)}: the scheduler will not look at it "
                   "until the controller that added them removes them")
        return CaseResult(NO_SCHEDULER, "scheduler", Severity.WARNING, summary, [Finding(
            STEP, Severity.WARNING, f"Scheduling gates still set: {', '.join(gates)}",
            f"The pod has waited{waited}. Gates are removed by whatever added them (a queueing controller such as "
            "Kueue, or an admission webhook); check that component.")])
    scheduler = spec.get("schedulerName") or DEFAULT_SCHEDULER
    lease_name = "kube-scheduler" if scheduler == DEFAULT_SCHEDULER else scheduler
    facts: list[tuple[str, str]] = [("schedulerName", scheduler), ("Waiting", waited.removeprefix(" for ") or "?")]
    try:
        lease = cluster.get("Lease", lease_name, "kube-system")
    except NotFound:
        lease = None
    except ClusterError as exc:
        lease, facts = None, [*facts, ("Lease", f"could not read: {exc}")]
    if lease is None:
        if scheduler != DEFAULT_SCHEDULER:
            summary = (f"{name} asks for scheduler {scheduler!r}, and no running scheduler by that name was found "
                       f"(no Lease kube-system/{lease_name}); no FailedScheduling event{waited}")
        else:
            summary = (f"{name} has no FailedScheduling event{waited}: the default scheduler is not handling it "
                       "(its Lease kube-system/kube-scheduler is not visible; a managed control plane hides it)")
        return CaseResult(NO_SCHEDULER, "scheduler", Severity.CRITICAL, summary,
                          [Finding(STEP, Severity.CRITICAL, "No scheduler is handling the pod", summary,
                                   [Facts(tuple(facts))])])
    lease_spec = lease.get("spec") or {}
    renewed = parse_time(lease_spec.get("renewTime"))
    duration = int(lease_spec.get("leaseDurationSeconds") or 15)
    holder = lease_spec.get("holderIdentity") or "?"
    facts += [("Lease", f"kube-system/{lease_name}"), ("Holder", holder),
              ("Renewed", f"{_ago(now - renewed)} ago" if renewed else "never")]
    if renewed is None or now - renewed > timedelta(seconds=2 * duration):
        summary = (f"{name} is not being scheduled: the scheduler's leader Lease kube-system/{lease_name} was last "
                   f"renewed {_ago(now - renewed) + ' ago' if renewed else 'never'} (duration {duration}s), "
                   f"so {scheduler} is down or cannot reach the API server")
        return CaseResult(NO_SCHEDULER, "scheduler", Severity.CRITICAL, summary,
                          [Finding(STEP, Severity.CRITICAL, "Scheduler leader Lease is stale", summary,
                                   [Facts(tuple(facts))])])
    summary = (f"{name} has no FailedScheduling event{waited} although {scheduler} holds a fresh Lease: the "
               "scheduler is running but has not reported on this pod (check its logs and queue)")
    return CaseResult(NO_SCHEDULER, "scheduler", Severity.WARNING, summary,
                      [Finding(STEP, Severity.WARNING, "Scheduler has not reported on the pod", summary,
                               [Facts(tuple(facts))])])


def _explain_deleting(pod: Obj, now: datetime) -> CaseResult:
    """A Pending pod with ``deletionTimestamp``: the scheduler skips it; whatever holds it is the answer."""
    meta = pod.get("metadata") or {}
    name = meta.get("name", "")
    deleted = parse_time(meta.get("deletionTimestamp"))
    when = f" {_ago(now - deleted)} ago" if deleted else ""
    finalizers = [str(f) for f in meta.get("finalizers") or ()]
    facts: list[tuple[str, str]] = [("deletionTimestamp", str(meta.get("deletionTimestamp"))),
                                    ("Finalizers", ", ".join(finalizers) or "none")]
    if finalizers:
        summary = (f"{name} was deleted{when} and is still there: kube-scheduler skips pods being deleted, and "
                   f"finalizer {', '.join(finalizers)} holds it — the controller that owns the finalizer must "
                   "finish and remove it (remove it by hand only if that controller is gone)")
    else:
        summary = (f"{name} was deleted{when}: kube-scheduler skips pods being deleted, and a pod never bound to a "
                   "node goes away at once; it should be gone in moments (its owner then creates a replacement)")
    return CaseResult(NO_SCHEDULER, "workload", Severity.WARNING, summary, [Finding(
        STEP, Severity.WARNING, "Pod is being deleted: the scheduler skips it", summary, [Facts(tuple(facts))])])


def _ago(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


# -- scheduled but not started -------------------------------------------------------------------


def _statuses(pod: Obj, key: str) -> list[dict[str, Any]]:
    return list((pod.get("status") or {}).get(key) or ())


def _log_tail(cluster: Cluster, pod: Obj, container: str, previous: bool) -> str:
    meta = pod.get("metadata") or {}
    try:
        return cluster.logs(meta.get("namespace", ""), meta.get("name", ""), container, previous=previous,
                            tail_lines=10)
    except ClusterError:
        return ""


@dataclass(frozen=True)
class NotStarted:
    """Why a scheduled pod has not started, decided from what was read (no wording here)."""

    kind: str
    """``node_gone``, ``node_not_ready``, ``init_failing``, ``init_running``, ``image``, ``config``, ``volume``,
    ``sandbox`` or ``waiting``."""
    container: str = ""
    reason: str = ""
    message: str = ""
    exit_code: Any = "?"
    restarts: int = 0
    since: str = ""
    image: str = ""
    layer: str = "node"
    previous_log: bool = False
    ready: dict[str, Any] = field(default_factory=dict)


def read_node(cluster: Cluster, name: str) -> Obj | None:
    """The node a pod is bound to, or None when it no longer exists."""
    try:
        return cluster.get("Node", name)
    except NotFound:
        return None


def _decide_init(pod: Obj) -> NotStarted | None:
    for status in _statuses(pod, "initContainerStatuses"):
        state, last = status.get("state") or {}, status.get("lastState") or {}
        waiting, terminated, running = state.get("waiting"), state.get("terminated"), state.get("running")
        container = str(status.get("name", ""))
        if waiting and waiting.get("reason") in IMAGE_REASONS | CONFIG_REASONS:
            return None  # decided with the app containers
        failed = (terminated and terminated.get("exitCode", 0) != 0) or (
            waiting and waiting.get("reason") == "CrashLoopBackOff")
        if failed:
            exit_code = (terminated or last.get("terminated") or {}).get("exitCode", "?")
            return NotStarted("init_failing", container, exit_code=exit_code,
                              restarts=int(status.get("restartCount", 0)), layer="workload",
                              previous_log=bool(waiting))
        if running or (waiting and not terminated):
            return NotStarted("init_running", container, since=str((running or {}).get("startedAt", "")),
                              layer="workload")
    return None


def _decide_containers(pod: Obj, events: list[Obj]) -> NotStarted | None:
    for status in _statuses(pod, "initContainerStatuses") + _statuses(pod, "containerStatuses"):
        waiting = (status.get("state") or {}).get("waiting") or {}
        reason, message = str(waiting.get("reason", "")), str(waiting.get("message", ""))
        container = str(status.get("name", ""))
        if reason in IMAGE_REASONS:
            failed = newest([e for e in events if "pull" in str(e.get("message", "")).lower()], "Failed")
            registry_error = str((failed or {}).get("message") or message or "no message")
            return NotStarted("image", container, reason, registry_error, image=str(status.get("image", "?")),
                              layer="workload")
        if reason in CONFIG_REASONS:
            return NotStarted("config", container, reason, message, layer="workload")
    return None


def _decide_events(events: list[Obj]) -> NotStarted | None:
    for reason in ("FailedMount", "FailedAttachVolume"):
        event = newest(events, reason)
        if event is not None:
            message = str(event.get("message") or "")
            config = MISSING_CONFIG.search(message) or re.search(r'persistentvolumeclaim "[^"]+" not found', message)
            return NotStarted("volume", reason=reason, message=message, layer="workload" if config else "node")
    for reason in sorted(SANDBOX_EVENT_REASONS):
        event = newest(events, reason)
        if event is not None:
            return NotStarted("sandbox", reason=reason, message=str(event.get("message") or ""))
    return None


def decide_not_started(pod: Obj, node: Obj | None, events: list[Obj]) -> NotStarted:
    """The first thing that keeps a scheduled pod from starting, in the order the kubelet meets them."""
    if node is None:
        return NotStarted("node_gone", layer="workload")
    conditions: list[dict[str, Any]] = list((node.get("status") or {}).get("conditions") or ())
    ready: dict[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})
    if ready.get("status") != "True":
        return NotStarted("node_not_ready", ready=dict(ready))
    return _decide_init(pod) or _decide_containers(pod, events) or _decide_events(events) or NotStarted("waiting")


def word_not_started(pod: Obj, decided: NotStarted, tail: str = "") -> CaseResult:
    """Every sentence of the scheduled-but-not-started case, in one place."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    name, node_name, container = meta.get("name", ""), spec.get("nodeName", ""), decided.container
    blocks: list[Any] = [Preformatted(tail, title=f"last log lines of {container}")] if tail else []
    kind = decided.kind
    if kind == "node_gone":
        summary = (f"{name} is bound to node {node_name}, which no longer exists: the pod will never start "
                   "there; delete it so its controller (if any) recreates it")
        return _case("workload", Severity.CRITICAL, summary, "Bound to a node that is gone")
    if kind == "node_not_ready":
        ready = decided.ready
        summary = (f"{name} is bound to node {node_name}, which is NotReady "
                   f"({ready.get('reason') or 'no Ready condition'}: {ready.get('message') or 'no message'})")
        facts = Facts((("Node", node_name), ("Ready", ready.get("status", "Unknown")),
                       ("Since", ready.get("lastTransitionTime", "?"))))
        return _case("node", Severity.CRITICAL, summary, f"Node {node_name} is NotReady", [facts])
    if kind == "init_failing":
        summary = (f"{name} is stuck in init: init container {container} fails (exit code {decided.exit_code}, "
                   f"{decided.restarts} restarts)")
        return _case("workload", Severity.WARNING, summary, f"Init container {container} failing", blocks)
    if kind == "init_running":
        summary = f"{name} is still running init container {container}" + (
            f" (since {decided.since})" if decided.since else "")
        return _case("workload", Severity.WARNING, summary, f"Init container {container} still running", blocks,
                     finding_severity=Severity.INFO)
    if kind == "image":
        summary = f"{name} cannot pull the image of {container} ({decided.image}): {decided.message}"
        facts = Facts((("Container", container), ("Image", decided.image), ("Reason", decided.reason)))
        return _case("workload", Severity.WARNING, summary, f"Image pull failing: {decided.reason}", [facts])
    if kind == "config":
        missing = MISSING_CONFIG.search(decided.message or "")
        what = f" ({missing.group(0)})" if missing else ""
        summary = (f"{name} cannot create container {container}: {decided.reason}{what}: "
                   f"{decided.message or 'no message'}")
        return _case("workload", Severity.WARNING, summary, f"{decided.reason} in {container}")
    if kind == "volume":
        summary = f"{name} is waiting for its volumes on {node_name}: {decided.reason}: {decided.message}"
        return _case(decided.layer, Severity.WARNING, summary, f"{decided.reason} on {node_name}")
    if kind == "sandbox":
        summary = (f"{name} cannot get a pod sandbox on {node_name} (container runtime or CNI): "
                   f"{decided.reason}: {decided.message}")
        return _case("node", Severity.CRITICAL, summary, f"{decided.reason} on {node_name}")
    summary = f"{name} is bound to {node_name} and its containers have not started yet; the kubelet reports no error"
    return _case("node", Severity.INFO, summary, "Waiting for the kubelet")


def _case(layer: str, severity: Severity, summary: str, title: str, blocks: list[Any] | None = None,
          finding_severity: Severity | None = None) -> CaseResult:
    detail = "" if title == summary else summary
    return CaseResult(SCHEDULED_NOT_STARTED, layer, severity, summary,
                      [Finding(STEP, finding_severity or severity, title, detail, blocks or [])])


def explain_not_started(cluster: Cluster, pod: Obj, events: list[Obj]) -> CaseResult:
    """Read (the node, then log lines only when an init container is the cause), decide, word."""
    node = read_node(cluster, (pod.get("spec") or {}).get("nodeName", ""))
    decided = decide_not_started(pod, node, events)
    tail = ""
    if decided.kind in ("init_failing", "init_running"):
        tail = _log_tail(cluster, pod, decided.container, previous=decided.previous_log)
    return word_not_started(pod, decided, tail)


# -- not pending ---------------------------------------------------------------------------------


def explain_not_pending(pod: Obj) -> CaseResult:
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    name, phase = meta.get("name", ""), status.get("phase", "?")
    node = (pod.get("spec") or {}).get("nodeName") or "?"
    if phase == "Succeeded":
        summary = f"{name} is not pending: it ran to completion (Succeeded) on {node}"
        return CaseResult(NOT_PENDING, "none", Severity.OK, summary, [Finding(STEP, Severity.OK, summary)])
    if phase == "Failed":
        summary = f"{name} is not pending: it Failed ({status.get('reason') or 'see container exit codes'}) on {node}"
        return CaseResult(NOT_PENDING, "workload", Severity.WARNING, summary,
                          [Finding(STEP, Severity.WARNING, summary, str(status.get("message") or ""))])
    problems = []
    for container in status.get("containerStatuses") or ():
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            problems.append(f"{container.get('name')}: {waiting['reason']} ({container.get('restartCount', 0)} "
                            "restarts)")
        elif not container.get("ready"):
            problems.append(f"{container.get('name')}: not ready")
    if problems:
        summary = f"{name} is not pending: it is {phase} on {node}, but {'; '.join(problems)}"
        return CaseResult(NOT_PENDING, "workload", Severity.WARNING, summary,
                          [Finding(STEP, Severity.WARNING, summary)])
    summary = f"{name} is not pending: it is {phase} and ready on {node}"
    return CaseResult(NOT_PENDING, "none", Severity.OK, summary, [Finding(STEP, Severity.OK, summary)])


# -- never created -------------------------------------------------------------------------------


def _quota_table(cluster: Cluster, namespace: str, quota_name: str) -> Table | None:
    try:
        quota = cluster.get("ResourceQuota", quota_name, namespace)
    except ClusterError:
        return None
    hard = (quota.get("status") or {}).get("hard") or (quota.get("spec") or {}).get("hard") or {}
    used = (quota.get("status") or {}).get("used") or {}
    rows = tuple((resource, str(used.get(resource, "?")), str(value)) for resource, value in sorted(hard.items()))
    return Table(("RESOURCE", "USED", "HARD"), rows) if rows else None


def explain_never_created(cluster: Cluster, workload: Obj, controller_events: list[Obj], ref: str) -> CaseResult | None:
    """Why a workload's pods were not created, or None when nothing says so."""
    meta, spec = workload.get("metadata") or {}, workload.get("spec") or {}
    namespace = meta.get("namespace", "")
    failed = newest(controller_events, "FailedCreate")
    if failed is not None:
        message = str(failed.get("message") or "")
        quota = QUOTA.search(message)
        blocks: list[Any] = []
        if quota:
            facts = (("Quota", quota.group("quota")), ("Requested", quota.group("requested")),
                     ("Used", quota.group("used")), ("Limited", quota.group("limited")))
            blocks.append(Facts(facts))
            table = _quota_table(cluster, namespace, quota.group("quota"))
            if table:
                blocks.append(table)
            summary = (f"{ref} cannot create pods: ResourceQuota {quota.group('quota')} is exhausted "
                       f"(requested {quota.group('requested')}, used {quota.group('used')}, "
                       f"limited {quota.group('limited')})")
            title = f"ResourceQuota {quota.group('quota')} exceeded"
        elif "admission webhook" in message:
            webhook = re.search(r'admission webhook "([^"]+)"', message)
            hook = webhook.group(1) if webhook else "?"
            summary = f"{ref} cannot create pods: admission webhook {hook} denied them: {message}"
            title = "Admission webhook denied pod creation"
        elif "PodSecurity" in message:
            summary = f"{ref} cannot create pods: they violate the namespace's Pod Security level: {message}"
            title = "PodSecurity violation"
        else:
            summary = f"{ref} cannot create pods: {message}"
            title = "FailedCreate"
        return CaseResult(NEVER_CREATED, "controller", Severity.CRITICAL, summary,
                          [Finding(STEP, Severity.CRITICAL, title, summary, blocks)])
    if workload.get("kind") == "Deployment":
        if spec.get("paused"):
            summary = f"{ref} is paused: no new pods are rolled out until `kubectl rollout resume {ref}`"
            return CaseResult(NEVER_CREATED, "workload", Severity.WARNING, summary,
                              [Finding(STEP, Severity.WARNING, "Rollout paused", summary)])
        for condition in (workload.get("status") or {}).get("conditions") or ():
            if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
                summary = f"{ref} cannot create pods: {condition.get('message', '')}"
                return CaseResult(NEVER_CREATED, "controller", Severity.CRITICAL, summary,
                                  [Finding(STEP, Severity.CRITICAL, "ReplicaFailure", summary)])
            if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
                summary = f"{ref} rollout is stuck: {condition.get('message', 'progress deadline exceeded')}"
                return CaseResult(NEVER_CREATED, layer_rule.stuck_rollout(pod_creation_refused=False), Severity.WARNING,
                                  summary,
                                  [Finding(STEP, Severity.WARNING, "Rollout stuck", summary)])
    return None

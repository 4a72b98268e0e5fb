"""The ``scheduling`` step: why a pod (or a workload's pods) is Pending, answered like the scheduler would.

It tells the five cases apart (``clusterdoc.workers.scheduling.cases``); for a pod the scheduler rejected it
parses the ``FailedScheduling`` message, replays the filter plugins over every node from the
live state, groups the nodes by cause, names the closest fit, reconciles with the message and
offers fixes. The JSON section ``scheduling`` of the report carries it all (DESIGN.md's fields
plus ``case``, ``groups``, ``reconciliation`` and, for workloads, ``pods``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import Field

from clusterdoc.humanize import one_line
from clusterdoc.report import Facts, Finding, Severity, Table, Target, Text, Verdict
from clusterdoc.workers.cluster.base import Cluster, ClusterError, Obj
from clusterdoc.workers.gc_pause import gc_paused
from clusterdoc.workers.runbook.registry import StepContext, StepKind, StepParams, StepResult
from clusterdoc.workers.scheduling import analysis as analysis_mod
from clusterdoc.workers.scheduling import cases, remediate
from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.analysis import Analysis
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.message import ParsedMessage, parse
from clusterdoc.workers.scheduling.quantities import format_amount
from clusterdoc.workers.scheduling.snapshot import ClusterState, gather, read_anti_affinity_elsewhere, unsummed_note
from clusterdoc.workers.steps.common import is_workload, short_ref, workload_members
from clusterdoc.workers.steps.events import fetch_events

STEP = "scheduling"
MAX_TABLE_ROWS = 15
MAX_ANALYSES = 5
"""Distinct pod specs analysed node by node per run (a workload's pods usually share one)."""
MAX_EXPLAINED = 10
"""Pods in other cases explained one by one (each may cost a node GET or a log read)."""


class SchedulingParams(StepParams):
    no_scheduler_after_seconds: int = Field(60, ge=0, description="an unscheduled pod older than this with no "
                                                                  "FailedScheduling event has no scheduler")
    max_pods: int = Field(200, ge=1, le=5000, description="at most this many pending pods of a workload")


def _events_by_object(ctx: StepContext, objects: list[Obj]) -> dict[tuple[str, str], list[Obj]]:
    """Events about ``objects``, read exactly as the ``events`` step reads them (same field selectors)."""
    buckets: dict[tuple[str, str], list[Obj]] = defaultdict(list)
    try:
        found = fetch_events(ctx, objects)
    except ClusterError:
        return buckets
    for event in found:
        involved = event.get("involvedObject") or event.get("regarding") or {}
        buckets[(involved.get("kind", ""), involved.get("name", ""))].append(event)
    return buckets


def _owner_target(pod: Obj, ctx: StepContext) -> tuple[Target, bool]:
    """Where a snippet belongs: the workload the pod comes from, else the pod itself."""
    if ctx.target is not None and is_workload(ctx.target_object):
        return ctx.target, True
    meta = pod.get("metadata") or {}
    for owner in meta.get("ownerReferences") or ():
        if not owner.get("controller"):
            continue
        kind, name = owner.get("kind", ""), owner.get("name", "")
        pod_hash = (meta.get("labels") or {}).get("pod-template-hash")
        if kind == "ReplicaSet" and pod_hash and name.endswith("-" + pod_hash):
            kind, name = "Deployment", name[: -len(pod_hash) - 1]
        return Target(kind, name, meta.get("namespace")), True
    return Target("Pod", meta.get("name", ""), meta.get("namespace")), False


def _not_scheduled_layer(result: Analysis) -> str:
    """``node`` when node-condition taints are the cause; ``scheduler`` otherwise (see cases.py)."""
    if not result.nodes:
        return "node"
    if result.fitting:
        return "scheduler"

    def node_layer(blocker: Any) -> bool:
        return blocker.key in cat.NODE_LAYER_TAINT_KEYS

    every_node = all(any(node_layer(b) for b in n.blockers) for n in result.nodes)
    some_only = any(n.blockers and all(node_layer(b) for b in n.blockers) for n in result.nodes)
    return "node" if every_node or some_only else "scheduler"


def _context_facts(pod: PodInfo, message: ParsedMessage | None, events: list[Obj], result: Analysis,
                   state: ClusterState) -> Facts:
    facts: list[tuple[str, str]] = []
    if message is not None and message.raw:
        facts.append(("Scheduler said", one_line(message.raw, 400)))
    fits = len(result.fitting)
    facts.append(("Nodes", f"{len(result.nodes)} in the cluster, {fits} would accept the pod now"))
    requests = ", ".join(f"{name} {format_amount(name, value)}" for name, value in sorted(pod.requests.items()))
    ranger = ((pod.obj.get("metadata") or {}).get("annotations") or {}).get("kubernetes.io/limit-ranger")
    facts.append(("Requests", (requests or "none") + (f" ({ranger})" if ranger else "")))
    priority = pod.priority_class or "none"
    facts.append(("Priority", f"{priority} ({pod.priority if pod.priority is not None else 0})"))
    preemption = _preemption_fact(pod, message)
    if preemption:
        facts.append(("Preemption", preemption))
    autoscaler = [e for e in events if e.get("reason") in ("TriggeredScaleUp", "NotTriggerScaleUp")]
    if autoscaler:
        event = max(autoscaler, key=cases.event_time)
        facts.append(("Cluster autoscaler", f"{event['reason']}: {one_line(str(event.get('message', '')), 300)}"))
    if state.pods_mode != "all":
        facts.append(("Pods read", "; ".join(state.notes) or state.pods_mode))
    elif state.unsummed_nodes:
        facts.append(("Pods read", unsummed_note(state.unsummed_nodes)))
    if state.limits:
        facts.append(("Not evaluated", "; ".join(state.limits)))
    return Facts(tuple(facts))


def _preemption_fact(pod: PodInfo, message: ParsedMessage | None) -> str:
    """Whether evicting lower-priority pods helps: under way (a nominated node), or why it did not."""
    nominated = (pod.obj.get("status") or {}).get("nominatedNodeName")
    if nominated:
        return (f"could help and is under way: the scheduler nominated {nominated} and is evicting lower-priority "
                f"pods there; {pod.name} should be placed once they are gone")
    if message is None or message.preemption is None:
        return ""
    preemption = message.preemption
    unfit = preemption.still_unfit_nodes()
    why = (f"on {unfit} node(s) the pod would not fit even with every lower-priority pod evicted"
           if unfit else "evicting lower-priority pods would not remove what blocks it on any node")
    return f"would not help at the last attempt: {why} ({one_line(preemption.text, 200)})"


def _groups_table(result: Analysis) -> Table:
    rows = [(str(len(g.nodes)), "; ".join(g.causes), ", ".join(g.nodes[:analysis_mod.EXAMPLE_NODES])
             + (" …" if len(g.nodes) > analysis_mod.EXAMPLE_NODES else "")) for g in result.groups[:MAX_TABLE_ROWS]]
    if len(result.groups) > MAX_TABLE_ROWS:
        rest = result.groups[MAX_TABLE_ROWS:]
        rows.append((str(sum(len(g.nodes) for g in rest)), f"{len(rest)} other combinations", ""))
    if result.fitting:
        rows.insert(0, (str(len(result.fitting)), "fits", ", ".join(result.fitting[:analysis_mod.EXAMPLE_NODES])))
    return Table(("NODES", "BLOCKED BY", "EXAMPLES"), tuple(rows))


def _not_scheduled_findings(pod: PodInfo, message: ParsedMessage | None, events: list[Obj], result: Analysis,
                            state: ClusterState, headline: str) -> list[Finding]:
    blocks: list[Any] = [_context_facts(pod, message, events, result, state)]
    if result.nodes:
        blocks.append(_groups_table(result))
    if result.closest is not None:
        blocks.append(Text(f"Closest fit: {result.closest.node}: {result.closest.missing}"))
    blocks.append(Text(f"Reconciliation: {result.reconciliation.explanation}"
                       + (f" Differences: {'; '.join(result.reconciliation.differences)}."
                          if result.reconciliation.differences else "")))
    return [Finding(STEP, Severity.WARNING, headline, "", blocks)]


def _section(case: str, pod: Obj | None, message: ParsedMessage | None, result: Analysis | None) -> dict[str, Any]:
    scheduled = bool(pod and (pod.get("spec") or {}).get("nodeName"))
    reconciliation = (result.reconciliation.to_json() if result else
                      {"agrees": True, "differences": [], "explanation": "Nothing to reconcile: the scheduler has no "
                                                                         "open verdict on this pod."})
    return {
        "case": case,
        "scheduled": scheduled,
        "message": message.to_json() if message is not None and message.raw else None,
        "nodes": [node.to_json() for node in result.nodes] if result else [],
        "groups": [group.to_json() for group in result.groups] if result else [],
        "closest_fit": result.closest.to_json() if result and result.closest else None,
        "reconciliation": reconciliation,
    }


def _signature(pod: PodInfo) -> str:
    spec = dict(pod.obj.get("spec") or {})
    for volatile in ("hostname", "subdomain", "nodeName"):
        spec.pop(volatile, None)
    return repr(sorted(spec.items()))


def scheduling(ctx: StepContext, params: SchedulingParams) -> StepResult:
    """The why-pending step, with the cyclic GC paused: on a large cluster it builds hundreds of thousands
    of short-lived containers (none in a cycle), and a full collection in the middle only walks them."""
    with gc_paused():
        return _scheduling(ctx, params)


def _scheduling(ctx: StepContext, params: SchedulingParams) -> StepResult:
    obj, target = ctx.target_object, ctx.target
    if obj is None or target is None:
        return StepResult([Finding(STEP, Severity.INFO, "why-pending needs a pod or a workload as target")])
    after = timedelta(seconds=params.no_scheduler_after_seconds)
    if obj.get("kind") == "Pod":
        events = _events_by_object(ctx, [obj])
        return _single_pod(ctx, obj, events.get(("Pod", obj["metadata"]["name"]), []), after)
    if not is_workload(obj):
        kind = obj.get("kind", "?")
        return StepResult([Finding(STEP, Severity.INFO, f"why-pending explains pods and workloads, not {kind}")])
    return _workload(ctx, obj, target, params, after)


def _single_pod(ctx: StepContext, pod: Obj, events: list[Obj], after: timedelta) -> StepResult:
    case = cases.classify(pod, events, ctx.now, after)
    if case == cases.SCHEDULED_NOT_STARTED and cases.node_named_but_missing(ctx.cluster, pod):
        return _node_name_missing(ctx, pod, events)
    if case != cases.NOT_SCHEDULED:
        explained = _explain_other(ctx, pod, events, case)
        return StepResult(explained.findings, Verdict(explained.layer, explained.severity, explained.summary),
                          extra={"scheduling": _section(case, pod, None, None)})
    info = PodInfo.from_object(pod)
    text = cases.scheduler_message(pod, events)
    message = parse(text) if text else None
    state, [result] = _gather_and_analyse(ctx.cluster, [info], [message])
    headline = analysis_mod.sentence(result)
    nominated = (pod.get("status") or {}).get("nominatedNodeName")
    if nominated and not result.fitting:
        headline += f"; preemption is under way on {nominated}"
    owner, workload = _owner_target(pod, ctx)
    findings = _not_scheduled_findings(info, message, events, result, state, headline)
    layer = _not_scheduled_layer(result)
    return StepResult(findings, Verdict(layer, Severity.WARNING, headline),
                      remediate.remediations(result, state, owner, workload),
                      extra={"scheduling": _section(case, pod, message, result)})


def _gather_and_analyse(
    cluster: Cluster, infos: list[PodInfo], messages: list[ParsedMessage | None]
) -> tuple[ClusterState, list[Analysis]]:
    """Read the cluster for ``infos`` and analyse each; a per-node read whose answer is "fits" is
    completed with every other pod's anti-affinity first (it can only take a fit away)."""
    state = gather(cluster, infos, analysis_mod.candidates_of(infos))
    results = [analysis_mod.analyse(info, state, message) for info, message in zip(infos, messages, strict=True)]
    if state.pods_mode == "per_node" and any(result.fitting for result in results):
        read_anti_affinity_elsewhere(cluster, state, infos)
        results = [analysis_mod.analyse(info, state, message) for info, message in zip(infos, messages, strict=True)]
    return state, results


def _node_name_missing(ctx: StepContext, pod: Obj, events: list[Obj]) -> StepResult:
    """A hand-set ``spec.nodeName`` naming no node: no scheduler looks at the pod, no kubelet runs it."""
    info = PodInfo.from_object(pod)
    state, [result] = _gather_and_analyse(ctx.cluster, [info], [None])
    headline = (f"{info.name} names node {info.node_name} in spec.nodeName, which does not exist: no scheduler "
                "handles pods with nodeName set and no kubelet will run it; remove nodeName or use a nodeSelector")
    findings = _not_scheduled_findings(info, None, events, result, state, headline)
    return StepResult(findings, Verdict("workload", Severity.CRITICAL, headline),
                      extra={"scheduling": _section(cases.NO_SCHEDULER, pod, None, result)})


def _explain_other(ctx: StepContext, pod: Obj, events: list[Obj], case: str) -> cases.CaseResult:
    if case == cases.NOT_PENDING:
        return cases.explain_not_pending(pod)
    if case == cases.SCHEDULED_NOT_STARTED:
        return cases.explain_not_started(ctx.cluster, pod, events)
    return cases.explain_no_scheduler(ctx.cluster, pod, ctx.now)


@dataclass
class _WorkloadRead:
    """What was read about a workload: its members, events by object, and its pending pods."""

    ref: str
    members: Any
    controller_events: list[Obj]
    pending: list[Obj]
    pod_events: dict[str, list[Obj]]


@dataclass
class _WorkloadDecision:
    """What was decided: the never-created verdict, each pending pod's case and cause, the analyses."""

    never: cases.CaseResult | None
    ordered: list[tuple[tuple[str, str], list[str]]]
    representative: dict[tuple[str, str], tuple[str, Any, Obj]]
    messages: dict[str, ParsedMessage | None] = field(default_factory=dict)
    state: ClusterState | None = None


def _read_workload(ctx: StepContext, obj: Obj, target: Target, params: SchedulingParams) -> _WorkloadRead:
    members = workload_members(ctx, obj)
    events = _events_by_object(ctx, [obj, *members.replicasets, *members.pods])
    controller_events = list(events.get((obj.get("kind", ""), target.name), []))
    for rs in members.replicasets:
        controller_events += events.get(("ReplicaSet", (rs.get("metadata") or {}).get("name", "")), [])
    pending = sorted((p for p in members.pods if (p.get("status") or {}).get("phase", "Pending") == "Pending"),
                     key=lambda p: p["metadata"]["name"])[: params.max_pods]
    pod_events = {p["metadata"]["name"]: events.get(("Pod", p["metadata"]["name"]), []) for p in pending}
    return _WorkloadRead(short_ref(obj.get("kind", ""), target.name), members, controller_events, pending, pod_events)


def _decide_workload(ctx: StepContext, obj: Obj, read: _WorkloadRead, after: timedelta) -> _WorkloadDecision:
    never = cases.explain_never_created(ctx.cluster, obj, read.controller_events, read.ref)
    decision = _WorkloadDecision(never, [], {})
    if not read.pending:
        return decision
    pod_cases = {p["metadata"]["name"]: cases.classify(p, read.pod_events[p["metadata"]["name"]], ctx.now, after)
                 for p in read.pending}
    unscheduled = [PodInfo.from_object(p) for p in read.pending
                   if pod_cases[p["metadata"]["name"]] == cases.NOT_SCHEDULED]
    by_signature: dict[str, PodInfo] = {}
    for info in unscheduled:
        by_signature.setdefault(_signature(info), info)
    analysed_infos = list(by_signature.values())[:MAX_ANALYSES]
    results: dict[str, Analysis] = {}
    if analysed_infos:
        for info in analysed_infos:
            text = cases.scheduler_message(info.obj, read.pod_events[info.name])
            decision.messages[info.name] = parse(text) if text else None
        decision.state, analyses = _gather_and_analyse(
            ctx.cluster, analysed_infos, [decision.messages[info.name] for info in analysed_infos])
        results = {_signature(info): result for info, result in zip(analysed_infos, analyses, strict=True)}
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    explained_count = 0
    for pod in read.pending:
        name = pod["metadata"]["name"]
        case = pod_cases[name]
        if case == cases.NOT_SCHEDULED:
            result = results.get(_signature(PodInfo.from_object(pod)))
            cause = analysis_mod.sentence(result).split(": ", 1)[-1] if result else "not analysed (too many specs)"
            decision.representative.setdefault((case, cause), ("analysis", result, pod))
        else:
            explained = (_explain_other(ctx, pod, read.pod_events[name], case)
                         if explained_count < MAX_EXPLAINED else None)
            explained_count += 1
            cause = explained.summary.replace(name, "<pod>", 1) if explained else case
            decision.representative.setdefault((case, cause), ("case", explained, pod))
        groups[(case, cause)].append(name)
    decision.ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return decision


def _word_workload(read: _WorkloadRead, decision: _WorkloadDecision, target: Target) -> StepResult:
    """Every sentence of the workload answer, in one place."""
    ref, never = read.ref, decision.never
    if not read.pending:
        if never is not None:
            return StepResult(never.findings, Verdict(never.layer, never.severity, never.summary),
                              extra={"scheduling": {**_section(never.case, None, None, None), "pods": []}})
        summary = f"{ref} has no pending pods ({len(read.members.pods)} pod(s), none Pending)" + (
            f"; {read.members.note}" if read.members.note else "")
        pods_json = [{"name": p["metadata"]["name"], "case": cases.NOT_PENDING} for p in read.members.pods]
        return StepResult([Finding(STEP, Severity.OK, summary)], Verdict("none", Severity.OK, summary),
                          extra={"scheduling": {**_section(cases.NOT_PENDING, None, None, None), "pods": pods_json}})
    ordered = decision.ordered
    (main_case, main_cause), main_pods = ordered[0]
    kind, payload, main_pod = decision.representative[(main_case, main_cause)]
    count = len(main_pods)
    prefix = f"{count} pod{'s' if count != 1 else ''} of {ref}"
    findings: list[Finding] = []
    remediations = []
    if kind == "analysis" and payload is not None and decision.state is not None:
        info = payload.pod
        summary = f"{prefix} cannot be scheduled: {main_cause}" if count > 1 else analysis_mod.sentence(payload)
        findings += _not_scheduled_findings(info, decision.messages.get(info.name), read.pod_events.get(info.name, []),
                                            payload, decision.state, summary)
        verdict = Verdict(_not_scheduled_layer(payload), Severity.WARNING, summary)
        remediations = remediate.remediations(payload, decision.state, target, True)
        section = _section(main_case, main_pod, decision.messages.get(info.name), payload)
    else:
        explained = payload
        summary = f"{prefix}: {explained.summary.replace(main_pod['metadata']['name'], main_pods[0], 1)}" \
            if explained else f"{prefix}: {main_cause}"
        findings += explained.findings if explained else []
        verdict = Verdict(explained.layer if explained else "unknown",
                          explained.severity if explained else Severity.WARNING, summary)
        section = _section(main_case, main_pod, None, None)
    if len(ordered) > 1:
        rows = tuple((str(len(names)), case, one_line(cause, 200), ", ".join(names[:3]))
                     for (case, cause), names in ordered)
        findings.append(Finding(STEP, Severity.INFO, f"{len(read.pending)} pending pods of {ref}, by cause", "",
                                [Table(("PODS", "CASE", "CAUSE", "EXAMPLES"), rows)]))
    if never is not None:
        findings += never.findings
    section["pods"] = [{"name": name, "case": case, "cause": cause} for (case, cause), names in ordered
                       for name in names]
    return StepResult(findings, verdict, remediations, extra={"scheduling": section})


def _workload(ctx: StepContext, obj: Obj, target: Target, params: SchedulingParams, after: timedelta) -> StepResult:
    """Read the workload, decide each pending pod's case and cause, then word the answer."""
    read = _read_workload(ctx, obj, target, params)
    decision = _decide_workload(ctx, obj, read, after)
    return _word_workload(read, decision, target)


STEP_KIND = StepKind("scheduling", SchedulingParams, scheduling,
                     "Why a pod is Pending: the scheduler's filters replayed node by node")

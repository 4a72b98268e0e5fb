"""Replays the scheduler's filters over every node: blockers per node, groups, closest fit, reconciliation.

Each plugin's PreFilter runs once per pod, then every plugin's Filter runs on every node (the
scheduler stops at the first failure; clusterdoc keeps going so a node shows all its blockers).
The scheduler's own counting — first failing plugin per node, only the reasons it prints — is
replayed separately to check the computed picture against the ``FailedScheduling`` message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.filters import PLUGINS, Blocker
from clusterdoc.workers.scheduling.filters.node_affinity import term_description
from clusterdoc.workers.scheduling.filters.node_resources_fit import checked_resources, fits_allocatable
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.message import ParsedMessage
from clusterdoc.workers.scheduling.quantities import format_amount
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo

EXAMPLE_NODES = 3
KEYLESS_TAINT_DETAIL = "untolerated taint (the message does not name it)"


@dataclass
class NodeResult:
    """One node's verdict for the pod."""

    name: str
    blockers: list[Blocker]

    @property
    def fits(self) -> bool:
        return not self.blockers

    def categories(self) -> list[str]:
        return list(dict.fromkeys(blocker.category for blocker in self.blockers))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "fits": self.fits, "blocking": [b.to_json() for b in self.blockers]}


@dataclass
class Group:
    """Nodes that reject the pod for the same causes."""

    categories: list[str]
    causes: list[str]
    nodes: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"categories": self.categories, "causes": self.causes, "count": len(self.nodes),
                "example_nodes": self.nodes[:EXAMPLE_NODES]}


@dataclass
class ClosestFit:
    node: str
    missing: str
    blockers: list[Blocker] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "missing": self.missing}


@dataclass
class Reconciliation:
    agrees: bool
    differences: list[str]
    explanation: str

    def to_json(self) -> dict[str, Any]:
        return {"agrees": self.agrees, "differences": self.differences, "explanation": self.explanation}


@dataclass
class Analysis:
    """Everything computed for one unscheduled pod."""

    pod: PodInfo
    nodes: list[NodeResult]
    groups: list[Group]
    closest: ClosestFit | None
    reconciliation: Reconciliation
    scheduler_counts: dict[str, int]
    notes: list[str]

    @property
    def fitting(self) -> list[str]:
        return [node.name for node in self.nodes if node.fits]


# -- running the filters -------------------------------------------------------------------------


def _prefilters(pod: PodInfo, state: ClusterState, node_only: bool | None = None) -> list[tuple[Any, Any]]:
    """Each plugin with its PreFilter's result, in the scheduler's order; plugins that cannot reject a node
    for this pod (``Plugin.applies``) left out."""
    prepared = ((plugin, plugin.prefilter(pod, state)) for plugin in PLUGINS
                if node_only is None or plugin.node_only == node_only)
    return [(plugin, pre) for plugin, pre in prepared if plugin.applies(pod, pre)]


def candidates_of(pods: list[PodInfo]) -> Callable[[ClusterState], list[NodeInfo]]:
    """The node-only checks as :func:`clusterdoc.workers.scheduling.snapshot.gather` wants them: the node-only
    filter plugins, and a request no larger than the node's whole allocatable (else no pod on it matters)."""

    def candidates(state: ClusterState) -> list[NodeInfo]:
        prepared = [(pod, checked_resources(pod, None), _prefilters(pod, state, node_only=True)) for pod in pods]
        def passes(pod: PodInfo, resources: list[str], plugins: list[tuple[Any, Any]], node: NodeInfo) -> bool:
            return fits_allocatable(pod, node, resources) and all(
                not plugin.filter(pod, node, state, pre) for plugin, pre in plugins)

        return [node for node in state.nodes
                if any(passes(pod, resources, plugins, node) for pod, resources, plugins in prepared)]

    return candidates


def evaluate(pod: PodInfo, state: ClusterState) -> list[NodeResult]:
    """Every plugin on every node, in the scheduler's order."""
    checks = [(plugin.filter, pre) for plugin, pre in _prefilters(pod, state)]
    results = []
    for node in state.nodes:
        blockers: list[Blocker] = []
        for check, pre in checks:
            found = check(pod, node, state, pre)
            if found:
                blockers.extend(found)
        results.append(NodeResult(node.name, blockers))
    return results


_GENERAL = ("NodeResourcesFit", "NodeName", "NodePorts", "NodeAffinity")
_LATER = ("TaintToleration", "NodeVolumeLimits", "VolumeBinding", "VolumeZone", "InterPodAffinity", "PodTopologySpread")
LEGACY_ORDERS: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    # 1.18's default Filter plugins: resources, name, ports and affinity before taints, one plugin at a time
    ("1.18 and older", (("NodeUnschedulable",), *((name,) for name in _GENERAL), *((name,) for name in _LATER))),
    # ≤1.17 predicates: GeneralPredicates reported every failing check of resources, hostname, ports, selector
    ("1.17 and older (GeneralPredicates)", (("NodeUnschedulable",), _GENERAL, *((name,) for name in _LATER))),
)
"""Filter orders of schedulers before 1.19 (``algorithmprovider/registry.go``, ``predicates.Ordering``)."""


def scheduler_counts(results: list[NodeResult],
                     stages: tuple[tuple[str, ...], ...] | None = None) -> dict[str, int]:
    """Nodes per category as the scheduler would count them: first failing stage, reported reasons only.

    ``stages`` is the scheduler's filter order as groups of plugins reported together; by default
    the current one, where each plugin is its own stage in the order clusterdoc ran them. A PreFilter
    rejection counts on every node; finer per-node categories count under the message's one
    (``categories.MESSAGE_UMBRELLA``: the three DRA causes are all ``cannot allocate all claims``).
    """
    counts: Counter[str] = Counter()
    umbrella = cat.MESSAGE_CATEGORY
    for result in results:
        if not result.blockers:
            continue
        # a PreFilter rejection comes before every Filter, on every node; then a PreFilter result leaving it out
        prefilter = [b for b in result.blockers if b.prefilter] or [b for b in result.blockers if b.left_out]
        if prefilter:
            first = {prefilter[0].plugin}
        elif stages is None:
            first = {result.blockers[0].plugin}
        else:
            failing = {b.plugin for b in result.blockers}
            first = next((set(stage) for stage in stages if failing & set(stage)), {result.blockers[0].plugin})
        chosen = prefilter or result.blockers
        for category in dict.fromkeys(umbrella.get(b.category, b.category) for b in chosen
                                      if b.plugin in first and b.reported):
            counts[category] += 1
    return dict(counts)


# -- presenting ----------------------------------------------------------------------------------


def cause_of(blocker: Blocker) -> str:
    """What groups nodes: the taint itself, the resource, or the category."""
    if blocker.category in (cat.UNTOLERATED_TAINT, cat.NODE_NOT_READY_TAINT, cat.NODE_UNREACHABLE_TAINT):
        return blocker.detail
    if blocker.resource and blocker.category != cat.INSUFFICIENT_PODS:
        return f"insufficient {blocker.resource}"
    return cat.LABELS.get(blocker.category, blocker.category)


def group_nodes(results: list[NodeResult]) -> list[Group]:
    """Non-fitting nodes grouped by identical causes, biggest group first."""
    groups: dict[tuple[str, ...], Group] = {}
    for result in results:
        if result.fits:
            continue
        causes = tuple(dict.fromkeys(cause_of(b) for b in result.blockers))
        group = groups.get(causes)
        if group is None:
            group = groups[causes] = Group(result.categories(), list(causes), [])
        group.nodes.append(result.name)
    return sorted(groups.values(), key=lambda g: (-len(g.nodes), g.causes))


def change_text(blocker: Blocker) -> str:
    """The change that would remove one blocker, in a few words."""
    if blocker.resource == "pods":
        return f"{blocker.short} pod slot(s)"
    if blocker.resource:
        return f"{format_amount(blocker.resource, blocker.short)} {blocker.resource}"
    if blocker.category == cat.NODE_UNSCHEDULABLE:
        return "uncordon"
    if blocker.category in (cat.UNTOLERATED_TAINT, cat.NODE_NOT_READY_TAINT, cat.NODE_UNREACHABLE_TAINT):
        if blocker.key in cat.NODE_LAYER_TAINT_KEYS:
            return f"node recovery ({blocker.detail})"
        if blocker.key in cat.CONTROL_PLANE_TAINT_KEYS:
            return f"{blocker.detail}: a control-plane node, not meant for workloads"
        if blocker.key in cat.LIFECYCLE_TAINT_KEYS:
            return f"{blocker.detail}: the node is being removed or is not initialised"
        return f"toleration for {blocker.detail.removeprefix('taint ')}"
    return blocker.detail


_CHANGE_COST = {
    cat.NODE_UNSCHEDULABLE: 0.5,
    cat.UNTOLERATED_TAINT: 3.0,
    cat.NODE_SELECTOR_OR_AFFINITY_MISMATCH: 3.0,
    cat.NODE_NOT_READY_TAINT: 5.0,
    cat.NODE_UNREACHABLE_TAINT: 5.0,
    cat.NODE_NAME_MISMATCH: 5.0,
}


def _change_cost(pod: PodInfo, result: NodeResult) -> tuple[int, float, str]:
    """Fewest blocking categories first; then uncordon < a resource shortfall < a toleration or new labels
    < a node to repair < a control-plane node or one being removed."""
    cost = 0.0
    for blocker in result.blockers:
        if blocker.resource:
            wanted = pod.requests.get(blocker.resource) or 1
            cost += 1.0 + 1.5 * min(blocker.short / wanted, 1.0)
        elif blocker.key in cat.NODE_LAYER_TAINT_KEYS:
            cost += 5.0  # a node to repair
        elif blocker.key in cat.CONTROL_PLANE_TAINT_KEYS or blocker.key in cat.LIFECYCLE_TAINT_KEYS:
            cost += 6.0  # a control-plane node or one going away: the last place to send a workload
        else:
            cost += _CHANGE_COST.get(blocker.category, 3.0)
    return len(result.categories()), cost, result.name


def closest_fit(pod: PodInfo, results: list[NodeResult]) -> ClosestFit | None:
    """The node needing the smallest change; a fitting node if there is one."""
    if not results:
        return None
    for result in results:
        if result.fits:
            return ClosestFit(result.name, "nothing: it fits now")
    best = min(results, key=lambda r: _change_cost(pod, r))
    changes = list(dict.fromkeys(change_text(b) for b in best.blockers))
    missing = "; ".join(changes)
    if len(best.categories()) == 1 and best.blockers[0].resource:
        missing += " short; nothing else blocks"
    elif len(best.categories()) == 1:
        missing += "; nothing else blocks"
    return ClosestFit(best.name, missing, best.blockers)


# -- reconciliation ------------------------------------------------------------------------------


def _fold_taints(counts: dict[str, int]) -> dict[str, int]:
    folded = dict(counts)
    for category in (cat.NODE_NOT_READY_TAINT, cat.NODE_UNREACHABLE_TAINT):
        if category in folded:
            folded[cat.UNTOLERATED_TAINT] = folded.get(cat.UNTOLERATED_TAINT, 0) + folded.pop(category)
    return folded


def _count_differences(message: ParsedMessage, results: list[NodeResult], computed: dict[str, int]) -> list[str]:
    """Per-category disagreements between the message's counts and the replayed ones."""
    differences: list[str] = []
    reported = message.counts()
    if any(r.detail == KEYLESS_TAINT_DETAIL for r in message.reasons):
        reported, computed = _fold_taints(reported), _fold_taints(computed)
    prefilter_only = {r.category for r in message.reasons if r.nodes is None} - NOT_FILTER_VERDICTS
    for category in sorted(set(reported) | set(computed)):
        if category == cat.OTHER or category in prefilter_only:
            continue
        said, found = reported.get(category, 0), computed.get(category, 0)
        if said != found:
            differences.append(f"{category}: scheduler {said} node(s), clusterdoc {found}")
    return differences


NOT_FILTER_VERDICTS = frozenset({cat.POD_BEING_DELETED, cat.NODE_NOT_IN_CACHE, cat.SCHEDULER_ERROR})
"""Message-only categories that are no node's verdict: the scheduler skipped the pod, lost a node from its
cache, or a plugin failed — no filter ran on the nodes, so nothing is counted against them."""


def reconcile(message: ParsedMessage | None, results: list[NodeResult], computed: dict[str, int]) -> Reconciliation:
    """Compare the scheduler's message with the replayed counts and say where and why they differ.

    Counts that differ under today's filter order but agree under a pre-1.19 order are the
    scheduler's version speaking, not a difference.
    """
    if message is None or not message.raw:
        return Reconciliation(True, [], "No FailedScheduling message to compare with: the scheduler has not "
                                        "reported on this pod.")
    no_verdict = [r for r in message.reasons if r.category in NOT_FILTER_VERDICTS]
    if no_verdict and len(no_verdict) == len(message.reasons):
        names = ", ".join(sorted({cat.LABELS.get(r.category, r.category) for r in no_verdict}))
        return Reconciliation(True, [], f"The scheduler's last message is not a verdict on nodes ({names}): no "
                                        "filter ran, so there are no counts to compare; the node table is "
                                        "clusterdoc's own evaluation.")
    older = ""
    if _count_differences(message, results, computed):
        for version, stages in LEGACY_ORDERS:
            legacy = scheduler_counts(results, stages)
            if not _count_differences(message, results, legacy):
                older, computed = version, legacy
                break
    differences: list[str] = []
    fitting = [r.name for r in results if r.fits]
    if message.total_nodes is not None and message.total_nodes != len(results):
        differences.append(f"the scheduler saw {message.total_nodes} node(s), the cluster has {len(results)} now")
    reported = message.counts()
    differences += _count_differences(message, results, computed)
    prefilter_only = {r.category for r in message.reasons if r.nodes is None}
    for category in sorted(prefilter_only - {cat.OTHER}):
        if not any(category in r.categories() for r in results):
            differences.append(f"{category}: the scheduler reported it for every node, clusterdoc finds it on none")
    unknown = [r.detail for r in message.reasons if r.category == cat.OTHER]
    if fitting:
        differences.append(f"{len(fitting)} node(s) fit now: {', '.join(fitting[:EXAMPLE_NODES])}")
    if not differences and not unknown:
        summary = ", ".join(f"{n} {c}" for c, n in sorted(reported.items())) or "no per-node reasons"
        if older:
            return Reconciliation(True, [], f"Agrees with the scheduler's message ({summary}) once nodes are counted "
                                            f"in the filter order of Kubernetes {older}, which checked node "
                                            "resources and selectors before taints.")
        return Reconciliation(True, [], f"Agrees with the scheduler's message ({summary}).")
    reasons = []
    if unknown:
        differences.extend(f"unmodelled reason: {text}" for text in unknown)
        reasons.append("the message names a plugin clusterdoc does not model (a custom scheduler plugin or an "
                       "extender)")
    if differences and len(differences) > len(unknown):
        reasons.append("the cluster changed since the scheduler's last attempt (pods finished or were deleted, "
                       "nodes were added, tainted or relabelled, claims were allocated or released)")
    return Reconciliation(False, differences, "Differs from the scheduler's message; likely " + "; or ".join(reasons)
                          + ".")


def analyse(pod: PodInfo, state: ClusterState, message: ParsedMessage | None) -> Analysis:
    """The whole analysis of one pod against one gathered cluster state."""
    results = evaluate(pod, state)
    counts = scheduler_counts(results)
    return Analysis(
        pod=pod,
        nodes=results,
        groups=group_nodes(results),
        closest=closest_fit(pod, results),
        reconciliation=reconcile(message, results, counts),
        scheduler_counts=counts,
        notes=list(state.notes),
    )


# -- the verdict sentence ------------------------------------------------------------------------


def _selector_phrase(pod: PodInfo) -> str:
    wanted = [f"nodeSelector {','.join(f'{k}={v}' for k, v in pod.node_selector.items())}"] if pod.node_selector else []
    if pod.required_node_terms is not None:
        wanted.append("required node affinity " + " or ".join(term_description(t) for t in pod.required_node_terms))
    return f"do not match the pod's {' and '.join(wanted) or 'node affinity'}"


DETAIL_IN_SENTENCE = 160
"""Longer details (a CEL selector, a long claim description) are cut in the one-line verdict (the node table
has them whole)."""


def _sentence_detail(details: set[str], count: int) -> str:
    """The detail a group of nodes shares, for the verdict sentence: "" when the nodes' details differ (the
    first node's would be wrong for the others); no "this node" for several; long ones cut."""
    if len(details) != 1:
        return ""
    detail = next(iter(details))
    if count > 1:
        detail = detail.replace(" for this node", "").replace(" on this node", "").replace(" this node", " the node")
    return detail if len(detail) <= DETAIL_IN_SENTENCE else detail[:DETAIL_IN_SENTENCE - 1].rstrip() + "…"


def _cause_phrase(blocker: Blocker, pod: PodInfo, detail: str) -> str:
    """The verb phrase for nodes blocked by ``blocker`` (``detail``: the sentence's version of its detail)."""
    about = f" ({detail})" if detail else ""
    ruled_out = f"are ruled out: {detail or cat.LABELS.get(blocker.category, blocker.category)}"
    if blocker.resource == "pods":
        return "are at their pod limit"
    if blocker.resource:
        amount = format_amount(blocker.resource, pod.requests.get(blocker.resource, 0))
        unit = "CPU" if blocker.resource == "cpu" else blocker.resource
        return f"lack {amount} free {unit}"
    if blocker.category in (cat.UNTOLERATED_TAINT, cat.NODE_NOT_READY_TAINT, cat.NODE_UNREACHABLE_TAINT):
        return f"carry the untolerated {blocker.detail}"
    return {
        cat.NODE_UNSCHEDULABLE: "are cordoned",
        cat.NODE_NAME_MISMATCH: f"are not the requested node {pod.node_name}",
        cat.NODE_SELECTOR_OR_AFFINITY_MISMATCH: _selector_phrase(pod),
        cat.HOST_PORT_CONFLICT: "already use the requested host port",
        cat.UNBOUND_PVC: f"cannot bind the pod's PersistentVolumeClaim{about}",
        cat.VOLUME_NODE_AFFINITY_CONFLICT: "are outside the PersistentVolume's node affinity",
        cat.VOLUME_ZONE_CONFLICT: "are in another zone than the pod's volume",
        cat.MAX_VOLUME_COUNT: "are at their volume attach limit",
        cat.POD_AFFINITY_MISMATCH: "do not satisfy the pod's affinity",
        cat.POD_ANTI_AFFINITY_MISMATCH: "would violate pod anti-affinity",
        cat.TOPOLOGY_SPREAD_MISMATCH: "would violate the topology spread constraint",
        cat.MISSING_PVC: f"cannot mount the pod's volume{about}",
        cat.PV_MISSING: f"cannot mount the pod's volume{about}",
        cat.VOLUME_DISK_CONFLICT: f"already mount the same disk{about}",
        cat.VOLUME_RWOP_CONFLICT: ruled_out,
        cat.RESOURCE_CLAIM_MISSING: ruled_out,
        cat.RESOURCE_CLAIM_IN_USE: ruled_out,
        cat.DEVICE_CLASS_MISSING: ruled_out,
        cat.RESOURCE_CLAIM_NODE_MISMATCH: f"are not where the pod's ResourceClaim is allocated{about}",
        cat.DRA_NO_RESOURCE_SLICES: f"publish no devices for the pod's ResourceClaim{about}",
        cat.DRA_NO_MATCHING_DEVICE: f"have no device matching the pod's ResourceClaim{about}",
        cat.DRA_DEVICES_EXHAUSTED: f"have every matching device allocated{about}",
    }.get(blocker.category, f"reject it{about}")


_SINGULAR = (("lack ", "lacks "), ("carry ", "carries "), ("are ", "is "),
             ("do not ", "does not "), ("already use ", "already uses "), ("already mount ", "already mounts "),
             ("reject ", "rejects "), ("cannot mount ", "cannot mount "), ("publish ", "publishes "),
             ("have ", "has "))


def _singular(phrase: str) -> str:
    for plural, singular in _SINGULAR:
        if phrase.startswith(plural) or phrase.startswith("also " + plural):
            return phrase.replace(plural, singular, 1)
    return phrase


def sentence(analysis: Analysis) -> str:
    """``web-0 cannot be scheduled: all 40 nodes lack 2 free CPU; the 3 nodes ... also carry ...``."""
    pod, results = analysis.pod, analysis.nodes
    total = len(results)
    if total == 0:
        return f"{pod.name} cannot be scheduled: the cluster has no nodes"
    if analysis.fitting:
        return (f"{pod.name} is not scheduled, yet {len(analysis.fitting)} of {total} node(s) would accept it now "
                f"(e.g. {analysis.fitting[0]})")
    by_cause: dict[str, tuple[Blocker, set[str], set[str]]] = {}
    for result in results:
        for blocker in result.blockers:
            key = cause_of(blocker)
            entry = by_cause.setdefault(key, (blocker, set(), set()))
            entry[1].add(result.name)
            entry[2].add(blocker.detail)
    ranked = sorted(by_cause.values(), key=lambda item: (-len(item[1]), cause_of(item[0])))
    parts = []
    seen: set[str] = set()
    for index, (blocker, nodes, details) in enumerate(ranked[:3]):
        count = len(nodes)
        detail = _sentence_detail(details, count)
        if count == total:
            who = "the only node" if count == 1 else f"all {count} nodes"
        else:
            who = f"{count} node{'s' if count != 1 else ''}"
        if index and nodes <= seen:
            who = f"the {who.removeprefix('all ')}" if count != 1 else "1 node"
            phrase = "also " + _cause_phrase(blocker, pod, detail)
        else:
            phrase = _cause_phrase(blocker, pod, detail)
        phrase = _singular(phrase) if count == 1 else phrase
        parts.append(f"{who} {phrase}".replace("also are ", "are also ").replace("also is ", "is also "))
        seen |= nodes
    more = len(ranked) - 3
    tail = f" (and {more} more cause{'s' if more != 1 else ''})" if more > 0 else ""
    return f"{pod.name} cannot be scheduled: " + "; ".join(parts) + tail

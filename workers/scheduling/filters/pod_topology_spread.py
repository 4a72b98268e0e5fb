"""PodTopologySpread: ``DoNotSchedule`` constraints — no domain may exceed the emptiest one by more than maxSkew.

Source: ``pkg/scheduler/framework/plugins/podtopologyspread/filtering.go``. Eligible nodes carry
every constraint's topology key and (``nodeAffinityPolicy: Honor``, the default) match the pod's
nodeSelector/required node affinity; taints are ignored (``nodeTaintsPolicy: Ignore``, the
default). Matching pods (same namespace, not terminating, ``labelSelector`` plus
``matchLabelKeys``) are counted per domain (a constraint without ``labelSelector`` counts none);
the minimum is 0 when fewer domains than ``minDomains`` exist. A node without the key is
unresolvable ("missing required label"); otherwise
``count(domain) + selfMatch - min > maxSkew`` rejects it (Unschedulable).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin
from clusterdoc.workers.scheduling.filters.node_affinity import matches as node_affinity_matches
from clusterdoc.workers.scheduling.filters.taint_toleration import untolerated
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.labels import selector_matches, selector_text
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo

NAME = "PodTopologySpread"
ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
"""ErrReasonConstraintsNotMatch (Unschedulable)."""
ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + " (missing required label)"
"""ErrReasonNodeLabelNotMatch (UnschedulableAndUnresolvable)."""


@dataclass
class Constraint:
    key: str
    max_skew: int
    selector: dict[str, Any] | None
    counts: Counter[str]
    minimum: int
    self_match: int


def _selector(constraint: dict[str, Any], pod: PodInfo) -> dict[str, Any] | None:
    """The constraint's selector with ``matchLabelKeys`` merged in; ``None`` (matches nothing) when unset.

    ``metav1.LabelSelectorAsSelector(nil)`` is ``labels.Nothing()``, and merging ``matchLabelKeys``
    into nothing stays nothing: a constraint without ``labelSelector`` counts no pod anywhere.
    """
    raw = constraint.get("labelSelector")
    if raw is None:
        return None
    selector = dict(raw)
    keys = constraint.get("matchLabelKeys") or []
    if keys:
        match_labels = dict(selector.get("matchLabels") or {})
        match_labels.update({key: pod.labels[key] for key in keys if key in pod.labels})
        selector["matchLabels"] = match_labels
    return selector


def _empty(selector: dict[str, Any] | None) -> bool:
    """``labelSelector: {}`` (nothing merged in): ``countPodsMatchSelector`` counts no pod for an empty
    selector, although the pod itself still matches it (selfMatch 1) — so such a constraint never rejects."""
    return selector is not None and not selector.get("matchLabels") and not selector.get("matchExpressions")


def prefilter(pod: PodInfo, state: ClusterState) -> list[Constraint]:
    constraints = pod.spread_constraints
    if not constraints:
        return []
    keys = [c.get("topologyKey", "") for c in constraints]
    prepared = []
    for constraint in constraints:
        key = constraint.get("topologyKey", "")
        honor_affinity = (constraint.get("nodeAffinityPolicy") or "Honor") == "Honor"
        honor_taints = (constraint.get("nodeTaintsPolicy") or "Ignore") == "Honor"
        eligible = {
            node.name: node.labels[key] for node in state.nodes
            if all(k in node.labels for k in keys)
            and (not honor_affinity or node_affinity_matches(pod, node))
            and (not honor_taints or not untolerated(pod, node, cordon_taint=True))
        }
        selector = _selector(constraint, pod)
        counts: Counter[str] = Counter({value: 0 for value in eligible.values()})
        for existing in () if _empty(selector) else state.labelled_pods or ():
            if existing.namespace != pod.namespace or existing.deleting or existing.node not in eligible:
                continue
            if selector_matches(selector, existing.labels):
                counts[eligible[existing.node]] += 1
        min_domains = int(constraint.get("minDomains") or 1)
        minimum = min(counts.values()) if counts else 0
        if len(counts) < min_domains:
            minimum = 0
        prepared.append(Constraint(key, int(constraint.get("maxSkew") or 1), selector, counts, minimum,
                                   1 if selector_matches(selector, pod.labels) else 0))
    return prepared


def filter_node(pod: PodInfo, node: NodeInfo, state: ClusterState, pre: list[Constraint]) -> list[Blocker]:
    for constraint in pre:  # in order, as filtering.go: a missing key only decides if no earlier skew did
        if constraint.key not in node.labels:
            return [Blocker(cat.TOPOLOGY_SPREAD_MISMATCH, f"node lacks topology label {constraint.key}", NAME,
                            ERR_REASON_NODE_LABEL_NOT_MATCH, resolvable=False)]
        value = node.labels[constraint.key]
        count = constraint.counts.get(value, 0)
        skew = count + constraint.self_match - constraint.minimum
        if skew > constraint.max_skew:
            return [Blocker(
                cat.TOPOLOGY_SPREAD_MISMATCH,
                f"{constraint.key}={value} already has {count} pod(s) matching {selector_text(constraint.selector)}, "
                f"the emptiest domain has {constraint.minimum}; maxSkew {constraint.max_skew}",
                NAME, ERR_REASON_CONSTRAINTS_NOT_MATCH, resolvable=True,
            )]
    return []


PLUGIN = Plugin(NAME, False, prefilter, filter_node, applies=lambda pod, pre: bool(pre))

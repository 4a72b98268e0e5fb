"""InterPodAffinity: required pod affinity and anti-affinity, both the pod's and existing pods'.

Source: ``pkg/scheduler/framework/plugins/interpodaffinity/filtering.go``. PreFilter counts, per
topology pair (``key=value``), the existing pods that match: for affinity, pods matching *all*
the pod's affinity terms; for anti-affinity, pods matching each term; and the pairs where an
existing pod's own required anti-affinity rejects this pod. Filter then checks, in this order:
affinity (every term's topology key on the node and a matching pod in that domain — unless no
pod matches anywhere and the pod matches its own terms, the first of a group; UU), the pod's
anti-affinity (U), existing pods' anti-affinity (U). A term's namespaces default to the pod's
own; ``namespaceSelector`` selects by namespace labels.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.labels import selector_matches, selector_text
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo

NAME = "InterPodAffinity"
ERR_REASON_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod affinity rules"
"""ErrReasonAffinityRulesNotMatch (UnschedulableAndUnresolvable)."""
ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod anti-affinity rules"
"""ErrReasonAntiAffinityRulesNotMatch (Unschedulable)."""
ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't satisfy existing pods anti-affinity rules"
"""ErrReasonExistingAntiAffinityRulesNotMatch (Unschedulable)."""

Pair = tuple[str, str]


def term_matches(term: dict[str, Any], owner_namespace: str, namespace: str, labels: dict[str, str],
                 namespace_labels: dict[str, dict[str, str]]) -> bool:
    """Whether a pod in ``namespace`` with ``labels`` is selected by ``term`` of a pod in ``owner_namespace``."""
    namespaces = term.get("namespaces") or []
    ns_selector = term.get("namespaceSelector")
    if not namespaces and ns_selector is None:
        in_scope = namespace == owner_namespace
    else:
        in_scope = namespace in namespaces or (
            ns_selector is not None and selector_matches(ns_selector, namespace_labels.get(namespace, {}))
        )
    return in_scope and selector_matches(term.get("labelSelector"), labels)


@dataclass
class Counts:
    affinity: Counter[Pair] = field(default_factory=Counter)
    anti: list[Counter[Pair]] = field(default_factory=list)
    existing_anti: dict[Pair, str] = field(default_factory=dict)
    """Pairs where an existing pod's anti-affinity rejects this pod, with that pod's name."""
    anti_examples: dict[Pair, str] = field(default_factory=dict)


def prefilter(pod: PodInfo, state: ClusterState) -> Counts:
    counts = Counts(anti=[Counter() for _ in pod.anti_affinity_terms])
    ns_labels = state.namespace_labels
    for existing in state.anti_affinity_pods:
        node = state.by_name.get(existing.node)
        if node is None:
            continue
        for term in existing.anti_affinity_terms:
            key = term.get("topologyKey", "")
            if key in node.labels and term_matches(term, existing.namespace, pod.namespace, pod.labels, ns_labels):
                counts.existing_anti.setdefault((key, node.labels[key]), f"{existing.namespace}/{existing.name}")
    if not (pod.affinity_terms or pod.anti_affinity_terms):
        return counts
    for existing in state.labelled_pods or ():
        node = state.by_name.get(existing.node)
        if node is None:
            continue
        if pod.affinity_terms and all(
            term_matches(t, pod.namespace, existing.namespace, existing.labels, ns_labels) for t in pod.affinity_terms
        ):
            for term in pod.affinity_terms:
                key = term.get("topologyKey", "")
                if key in node.labels:
                    counts.affinity[(key, node.labels[key])] += 1
        for index, term in enumerate(pod.anti_affinity_terms):
            key = term.get("topologyKey", "")
            if key in node.labels and term_matches(term, pod.namespace, existing.namespace, existing.labels, ns_labels):
                counts.anti[index][(key, node.labels[key])] += 1
                counts.anti_examples.setdefault((key, node.labels[key]), f"{existing.namespace}/{existing.name}")
    return counts


def _self_match(pod: PodInfo, ns_labels: dict[str, dict[str, str]]) -> bool:
    return all(term_matches(t, pod.namespace, pod.namespace, pod.labels, ns_labels) for t in pod.affinity_terms)


def filter_node(pod: PodInfo, node: NodeInfo, state: ClusterState, pre: Counts) -> list[Blocker]:
    blockers: list[Blocker] = []
    if pod.affinity_terms:
        problems = []
        for term in pod.affinity_terms:
            key = term.get("topologyKey", "")
            if key not in node.labels:
                problems.append(f"node lacks topology label {key}")
            elif pre.affinity[(key, node.labels[key])] <= 0:
                wanted = selector_text(term.get("labelSelector"))
                problems.append(f"no pod matching {wanted} in {key}={node.labels[key]}")
        missing_label = any(p.startswith("node lacks") for p in problems)
        first_of_group = not pre.affinity and _self_match(pod, state.namespace_labels)
        if problems and (missing_label or not first_of_group):
            blockers.append(Blocker(cat.POD_AFFINITY_MISMATCH, "; ".join(problems), NAME,
                                    ERR_REASON_AFFINITY_RULES_NOT_MATCH, resolvable=False))
    for index, term in enumerate(pod.anti_affinity_terms):
        key = term.get("topologyKey", "")
        pair = (key, node.labels.get(key, ""))
        if key in node.labels and pre.anti[index][pair] > 0:
            blockers.append(Blocker(
                cat.POD_ANTI_AFFINITY_MISMATCH,
                f"pod anti-affinity: {pre.anti_examples.get(pair, 'a pod')} matches "
                f"{selector_text(term.get('labelSelector'))} in {key}={pair[1]}",
                NAME, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH, resolvable=True, reported=not blockers,
            ))
            break
    for (key, value), owner in pre.existing_anti.items():
        if node.labels.get(key) == value:
            blockers.append(Blocker(
                cat.POD_ANTI_AFFINITY_MISMATCH,
                f"existing pod {owner} has anti-affinity against this pod in {key}={value}",
                NAME, ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH, resolvable=True, reported=not blockers,
            ))
            break
    return blockers


PLUGIN = Plugin(NAME, False, prefilter, filter_node,
                applies=lambda pod, pre: bool(pod.affinity_terms or pod.anti_affinity_terms or pre.existing_anti))

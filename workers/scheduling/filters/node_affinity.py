"""NodeAffinity: ``spec.nodeSelector`` and required node affinity must both match the node.

Source: ``pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go`` and
``k8s.io/component-helpers/scheduling/corev1/nodeaffinity``: every nodeSelector label must be
equal; the ``nodeSelectorTerms`` are ORed, each term's expressions (``In``, ``NotIn``, ``Exists``,
``DoesNotExist``, ``Gt``, ``Lt``) and ``matchFields`` (``metadata.name``) ANDed; an empty term
matches nothing, and so does a term the scheduler cannot parse (an invalid label value such as
``NotIn ["invalid value: ___@#$%^"]``; see ``labels.term_problem``). Scheduler-enforced
``addedAffinity`` (profile config) is not visible to clusterdoc.

PreFilter: when every term names nodes with ``matchFields metadata.name In`` (a DaemonSet pod), the
scheduler keeps only those nodes (``PreFilterResult``) and never runs a Filter on the others — they
count as "didn't satisfy plugin(s) [NodeAffinity]" whatever else they lack (a cordon, a taint);
terms naming disjoint nodes are "pod affinity terms conflict" on every node.
"""

from __future__ import annotations

from typing import Any

from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.labels import node_term_matches, term_problem, term_text
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo

NAME = "NodeAffinity"
ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
"""ErrReasonPod (1.20+; "didn't match node selector" before), UnschedulableAndUnresolvable."""
ERR_REASON_PREFILTER_RESULT = "node(s) didn't satisfy plugin(s) [NodeAffinity]"
"""A node the PreFilter result left out (``schedule_one.go``: ``SetAbsentNodesStatus``)."""
ERR_REASON_CONFLICT = "pod affinity terms conflict"
"""errReasonConflict: the terms' matchFields name no common node (PreFilter, every node)."""


def prefilter(pod: PodInfo, state: ClusterState) -> set[str] | None:
    """The ``PreFilterResult``: the nodes named by ``matchFields metadata.name In`` in *every* term (terms are
    ORed, a term's requirements ANDed); None when some term names no node (all nodes stay eligible)."""
    names: set[str] = set()
    for term in pod.required_node_terms or ():
        pinned: set[str] | None = None
        for requirement in term.get("matchFields") or ():
            if requirement.get("key") == "metadata.name" and requirement.get("operator") == "In":
                values = {str(value) for value in requirement.get("values") or ()}
                pinned = values if pinned is None else pinned & values
        if pinned is None:
            return None
        names |= pinned
    return names if pod.required_node_terms else None


def selector_mismatches(pod: PodInfo, node: NodeInfo) -> list[str]:
    """The nodeSelector labels this node does not carry, as ``key=want (node has: ...)``."""
    problems = []
    for key, want in pod.node_selector.items():
        have = node.labels.get(key)
        if have != want:
            problems.append(f"nodeSelector {key}={want} (node has {key}={have})" if have is not None
                            else f"nodeSelector {key}={want} (label missing)")
    return problems


def matches(pod: PodInfo, node: NodeInfo) -> bool:
    if selector_mismatches(pod, node):
        return False
    terms = pod.required_node_terms
    return terms is None or any(node_term_matches(term, node.name, node.labels) for term in terms)


def term_description(term: dict[str, Any]) -> str:
    """``(key In a,b)``, and when kube-scheduler cannot parse the term, that it matches no node and why."""
    problem = term_problem(term)
    text = f"({term_text(term)})"
    return f"{text} [unparseable, matches no node: {problem}]" if problem else text


def filter_node(pod: PodInfo, node: NodeInfo, state: ClusterState, pre: Any) -> list[Blocker]:
    problems = selector_mismatches(pod, node)
    terms = pod.required_node_terms
    if terms is not None and not any(node_term_matches(term, node.name, node.labels) for term in terms):
        wanted = " or ".join(term_description(term) for term in terms) or "<no terms>"
        problems.append(f"required node affinity {wanted}")
    if pre is not None and not pre:
        return [Blocker(cat.NODE_SELECTOR_OR_AFFINITY_MISMATCH, "the node affinity terms name no common node "
                        "(matchFields metadata.name)", NAME, ERR_REASON_CONFLICT, resolvable=False, prefilter=True)]
    if not problems:
        return []
    left_out = pre is not None and node.name not in pre
    return [Blocker(cat.NODE_SELECTOR_OR_AFFINITY_MISMATCH, "; ".join(problems), NAME,
                    ERR_REASON_PREFILTER_RESULT if left_out else ERR_REASON_POD, resolvable=False, left_out=left_out)]


PLUGIN = Plugin(NAME, True, prefilter, filter_node,
                applies=lambda pod, pre: bool(pod.node_selector) or pod.required_node_terms is not None)

"""NodeAffinity: ``spec.nodeSelector`` and required node affinity must both match the node.

Source: ``pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go`` and
``k8s.io/component-helpers/scheduling/corev1/nodeaffinity``: every nodeSelector label must be
equal; the ``nodeSelectorTerms`` are ORed, each term's expressions (``In``, ``NotIn``, ``Exists``,
``DoesNotExist``, ``Gt``, ``Lt``) and ``matchFields`` (``metadata.name``) ANDed; an empty term
matches nothing, and so does a term the scheduler cannot parse (an invalid label value such as
``NotIn ["invalid value: ___@#$%^"]``; see ``labels.term_problem``). Scheduler-enforced
``addedAffinity`` (profile config) is not visible to clusterdoc.
"""

from __future__ import annotations

from typing import Any

from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin, no_prefilter
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.labels import node_term_matches, term_problem, term_text
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo

NAME = "NodeAffinity"
ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
"""ErrReasonPod (1.20+; "didn't match node selector" before), UnschedulableAndUnresolvable."""


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
    if not problems:
        return []
    return [Blocker(cat.NODE_SELECTOR_OR_AFFINITY_MISMATCH, "; ".join(problems), NAME, ERR_REASON_POD,
                    resolvable=False)]


PLUGIN = Plugin(NAME, True, no_prefilter, filter_node,
                applies=lambda pod, pre: bool(pod.node_selector) or pod.required_node_terms is not None)

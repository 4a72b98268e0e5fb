"""TaintToleration: a node's ``NoSchedule``/``NoExecute`` taints must each be tolerated.

Source: ``pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go`` and
``k8s.io/api/core/v1`` ``Toleration.ToleratesTaint``. A toleration matches when its effect is empty
or equal, its key is empty (only valid with ``Exists``) or equal, and its operator is ``Exists``
or ``Equal`` (the default) with an equal value. ``PreferNoSchedule`` never blocks. The scheduler
reports only the first untolerated taint; clusterdoc lists them all.
"""

from __future__ import annotations

from typing import Any

from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin, no_prefilter
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo

NAME = "TaintToleration"
ERR_REASON_NOT_MATCH = "node(s) had untolerated taint {%s: %s}"
"""Filter reason 1.25-1.34 (1.18-1.24: "had taint {k: v}, that the pod didn't tolerate"; 1.35: no key)."""

BLOCKING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})


def toleration_tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    """``Toleration.ToleratesTaint``."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerated(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    return any(toleration_tolerates(toleration, taint) for toleration in tolerations)


def taint_text(taint: dict[str, Any]) -> str:
    """``dedicated=gpu:NoSchedule`` (``key:Effect`` when the value is empty)."""
    value = taint.get("value") or ""
    key = taint.get("key", "")
    return f"{key}={value}:{taint.get('effect', '')}" if value else f"{key}:{taint.get('effect', '')}"


CORDON_TAINT_KEY = "node.kubernetes.io/unschedulable"
"""Set by the node controller on cordoned nodes; NodeUnschedulable reports that fact already."""


def untolerated(pod: PodInfo, node: NodeInfo, *, cordon_taint: bool = False) -> list[dict[str, Any]]:
    """The node's NoSchedule/NoExecute taints the pod does not tolerate. A cordoned node's
    ``node.kubernetes.io/unschedulable:NoSchedule`` taint is left out (NodeUnschedulable reports the
    cordon, with the same toleration rule) unless ``cordon_taint``: PodTopologySpread's
    ``nodeTaintsPolicy: Honor`` sees every taint. The same key with NoExecute is an ordinary taint."""
    return [
        taint for taint in node.taints
        if taint.get("effect") in BLOCKING_EFFECTS and not tolerated(pod.tolerations, taint)
        and (cordon_taint or not (node.unschedulable and taint.get("key") == CORDON_TAINT_KEY
                                  and taint.get("effect") == "NoSchedule"))
    ]


def filter_node(pod: PodInfo, node: NodeInfo, state: ClusterState, pre: Any) -> list[Blocker]:
    blockers = []
    for index, taint in enumerate(untolerated(pod, node)):
        key = taint.get("key", "")
        blockers.append(Blocker(
            cat.taint_category(key), f"taint {taint_text(taint)}", NAME,
            ERR_REASON_NOT_MATCH % (key, taint.get("value") or ""), resolvable=False, reported=index == 0, key=key,
        ))
    return blockers


PLUGIN = Plugin(NAME, True, no_prefilter, filter_node)

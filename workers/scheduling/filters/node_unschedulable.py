"""NodeUnschedulable: a cordoned node (``spec.unschedulable``) rejects pods that do not tolerate
the ``node.kubernetes.io/unschedulable:NoSchedule`` taint.

Source: ``pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go`` (1.16-1.35).
"""

from __future__ import annotations

from typing import Any

from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin, no_prefilter
from clusterdoc.workers.scheduling.filters.taint_toleration import tolerated
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo

NAME = "NodeUnschedulable"
ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"
"""ErrReasonUnschedulable: the node is cordoned (UnschedulableAndUnresolvable)."""

UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


def filter_node(pod: PodInfo, node: NodeInfo, state: ClusterState, pre: Any) -> list[Blocker]:
    if not node.unschedulable or tolerated(pod.tolerations, UNSCHEDULABLE_TAINT):
        return []
    return [Blocker(cat.NODE_UNSCHEDULABLE, "cordoned (spec.unschedulable=true)", NAME, ERR_REASON_UNSCHEDULABLE,
                    resolvable=False)]


PLUGIN = Plugin(NAME, True, no_prefilter, filter_node)

"""NodeName: a pod with ``spec.nodeName`` fits only that node.

Source: ``pkg/scheduler/framework/plugins/nodename/node_name.go`` (1.16-1.35).
"""

from __future__ import annotations

from typing import Any

from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin, no_prefilter
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo

NAME = "NodeName"
ERR_REASON = "node(s) didn't match the requested node name"
"""ErrReason: spec.nodeName names another node (UnschedulableAndUnresolvable)."""


def filter_node(pod: PodInfo, node: NodeInfo, state: ClusterState, pre: Any) -> list[Blocker]:
    if not pod.node_name or pod.node_name == node.name:
        return []
    return [Blocker(cat.NODE_NAME_MISMATCH, f"pod asks for node {pod.node_name}", NAME, ERR_REASON, resolvable=False)]


PLUGIN = Plugin(NAME, True, no_prefilter, filter_node, applies=lambda pod, pre: bool(pod.node_name))

"""NodePorts: a host port the pod asks for must be free on the node.

Source: ``pkg/scheduler/framework/plugins/nodeports/node_ports.go`` and ``HostPortInfo.CheckConflict``:
same protocol and port conflict when the host IPs are equal or either is ``0.0.0.0``.
"""

from __future__ import annotations

from typing import Any

from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin, no_prefilter
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo

NAME = "NodePorts"
ERR_REASON = "node(s) didn't have free ports for the requested pod ports"
"""ErrReason (Unschedulable)."""

ANY_IP = "0.0.0.0"


def filter_node(pod: PodInfo, node: NodeInfo, state: ClusterState, pre: Any) -> list[Blocker]:
    if not pod.ports or not node.pods_known:
        return []
    taken = []
    for ip, protocol, port in pod.ports:
        for used_ip, used_protocol, used_port in node.used_ports:
            if used_port == port and used_protocol == protocol and (ip == used_ip or ANY_IP in (ip, used_ip)):
                taken.append(f"{protocol}/{port}")
                break
    if not taken:
        return []
    return [Blocker(cat.HOST_PORT_CONFLICT, f"host port {', '.join(taken)} already in use", NAME, ERR_REASON,
                    resolvable=True)]


PLUGIN = Plugin(NAME, False, no_prefilter, filter_node, applies=lambda pod, pre: bool(pod.ports))

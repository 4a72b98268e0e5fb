"""What a filter says about one node: the blockers, each with the scheduler's own reason phrase.

``Blocker.resolvable`` mirrors kube-scheduler's status codes: ``Unschedulable`` (True — preemption
or room made on the node could help) versus ``UnschedulableAndUnresolvable`` (False).
``Blocker.reported`` marks the blockers the scheduler itself would print for this plugin (for
example it names only the first untolerated taint), which the reconciliation replays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo


@dataclass(frozen=True)
class Blocker:
    """One reason a node rejects the pod."""

    category: str
    detail: str
    plugin: str
    reason: str
    resolvable: bool
    resource: str | None = None
    short: int = 0
    """For resources: how much is missing (millicores for cpu, units otherwise)."""
    reported: bool = True
    key: str = ""
    """For taints: the taint key (remediations need it)."""
    prefilter: bool = False
    """Rejected by the plugin's PreFilter: the scheduler stops there, for every node at once."""
    left_out: bool = False
    """The node is not in the plugin's PreFilter *result* (NodeAffinity's pinned nodes): no Filter runs on it,
    but a PreFilter error of any plugin still decides the message first."""

    def to_json(self) -> dict[str, Any]:
        return {"category": self.category, "detail": self.detail}


PreFilter = Callable[[PodInfo, ClusterState], Any]
Filter = Callable[[PodInfo, NodeInfo, ClusterState, Any], list[Blocker]]


def always(pod: PodInfo, pre: Any) -> bool:
    return True


@dataclass(frozen=True)
class Plugin:
    """One filter plugin: its scheduler name, whether it looks only at the node, and its functions."""

    name: str
    node_only: bool
    prefilter: PreFilter
    filter: Filter
    applies: Callable[[PodInfo, Any], bool] = always
    """False when the Filter cannot reject any node for this pod (given the PreFilter's result): it is
    then not run — kube-scheduler's PreFilter ``Skip`` (1.26+). It spares 5,000 nodes × 13 plugins
    from being 65,000 calls that each return nothing; tests check it against the Filter itself."""


def no_prefilter(pod: PodInfo, state: ClusterState) -> None:
    return None

"""NodeResourcesFit: the pod's effective request must fit in allocatable minus what assigned pods request.

Source: ``pkg/scheduler/framework/plugins/noderesources/fit.go`` (``fitsRequest``): the pod count
first (``Too many pods``), then cpu, memory, ephemeral-storage and scalar resources (extended,
hugepages, attachable volumes) that the pod requests (> 0). Requests of every non-terminal pod
bound to the node count, not usage. Since 1.29 a request larger than the node's whole
allocatable is unresolvable (no preemption can help) — and needs no pod to be known: such a node
fails whatever runs on it, so :func:`fits_allocatable` lets the snapshot skip reading pods for it.
"""

from __future__ import annotations

from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.quantities import format_amount
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo

NAME = "NodeResourcesFit"
ERR_REASON_TOO_MANY_PODS = "Too many pods"
"""The node's ``pods`` allocatable is used up (Unschedulable)."""
ERR_REASON_INSUFFICIENT = "Insufficient %s"
"""A requested resource exceeds what is free (Unschedulable; unresolvable above allocatable)."""

NATIVE = ("cpu", "memory", "ephemeral-storage")


def is_scalar(resource: str) -> bool:
    """``schedutil.IsScalarResourceName``: extended, hugepages, prefixed native and attachable volumes."""
    return "/" in resource or resource.startswith(("hugepages-", "attachable-volumes-"))


def checked_resources(pod: PodInfo, state: ClusterState | None) -> list[str]:
    """PreFilter: the resources the pod requests (> 0) that ``fitsRequest`` compares, computed once per pod."""
    names = [name for name in NATIVE if pod.requests.get(name, 0) > 0]
    names += sorted(name for name, value in pod.requests.items() if value > 0 and is_scalar(name))
    return names


def fits_allocatable(pod: PodInfo, node: NodeInfo, resources: list[str]) -> bool:
    """Whether every resource the pod requests (``resources``: its :func:`checked_resources`, worked out once
    per pod by the caller) fits in the node's whole allocatable, with nothing running."""
    requests, allocatable = pod.requests, node.allocatable
    return all(requests[name] <= allocatable.get(name, 0) for name in resources)


def filter_node(pod: PodInfo, node: NodeInfo, state: ClusterState, pre: list[str]) -> list[Blocker]:
    if not node.pods_known:  # the node's pods were not read: only what no pod can change is known
        return [_insufficient(pod, node, resource, None) for resource in pre
                if pod.requests[resource] > node.allocatable.get(resource, 0)]
    blockers = []
    allowed_pods = node.allocatable.get("pods", 0)  # AllowedPodNumber: 0 when allocatable has no pods
    if node.pod_count + 1 > allowed_pods:
        blockers.append(Blocker(
            cat.INSUFFICIENT_PODS, f"{node.pod_count} of {allowed_pods} pods already on the node", NAME,
            ERR_REASON_TOO_MANY_PODS, resolvable=True, resource="pods", short=node.pod_count + 1 - allowed_pods,
        ))
    for resource in pre:
        free = node.allocatable.get(resource, 0) - node.requested.get(resource, 0)
        if pod.requests[resource] > free:
            blockers.append(_insufficient(pod, node, resource, free))
    return blockers


def _insufficient(pod: PodInfo, node: NodeInfo, resource: str, free: int | None) -> Blocker:
    """``Insufficient <resource>``; ``free`` None when the node's pods are unknown (then only a request
    above the whole allocatable is reported)."""
    want, allocatable = pod.requests[resource], node.allocatable.get(resource, 0)
    shown_want = format_amount(resource, want)
    if allocatable == 0:
        detail = f"needs {shown_want} {resource}, node has none"
    elif free is None:
        detail = (f"needs {shown_want} {resource}, more than the node's whole allocatable "
                  f"{format_amount(resource, allocatable)}")
    else:
        detail = (f"needs {shown_want} {resource}, {format_amount(resource, max(free, 0))} free "
                  f"(allocatable {format_amount(resource, allocatable)})")
    missing = want - (allocatable if free is None else max(free, 0))
    return Blocker(cat.resource_category(resource), detail, NAME, ERR_REASON_INSUFFICIENT % resource,
                   resolvable=want <= allocatable, resource=resource, short=missing)


PLUGIN = Plugin(NAME, False, checked_resources, filter_node)

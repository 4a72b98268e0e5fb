"""The scheduling categories of DESIGN.md (never rename; add only) and how they are described.

The message parser and the per-node analysis speak the same vocabulary, so a reconciliation
can compare the scheduler's counts with clusterdoc's category by category.
"""

from __future__ import annotations

INSUFFICIENT_CPU = "insufficient_cpu"
INSUFFICIENT_MEMORY = "insufficient_memory"
INSUFFICIENT_EPHEMERAL_STORAGE = "insufficient_ephemeral_storage"
INSUFFICIENT_PODS = "insufficient_pods"
INSUFFICIENT_EXTENDED_RESOURCE = "insufficient_extended_resource"
UNTOLERATED_TAINT = "untolerated_taint"
NODE_NOT_READY_TAINT = "node_not_ready_taint"
NODE_UNREACHABLE_TAINT = "node_unreachable_taint"
NODE_SELECTOR_OR_AFFINITY_MISMATCH = "node_selector_or_affinity_mismatch"
NODE_NAME_MISMATCH = "node_name_mismatch"
NODE_UNSCHEDULABLE = "node_unschedulable"
UNBOUND_PVC = "unbound_pvc"
VOLUME_NODE_AFFINITY_CONFLICT = "volume_node_affinity_conflict"
VOLUME_ZONE_CONFLICT = "volume_zone_conflict"
MAX_VOLUME_COUNT = "max_volume_count"
HOST_PORT_CONFLICT = "host_port_conflict"
POD_AFFINITY_MISMATCH = "pod_affinity_mismatch"
POD_ANTI_AFFINITY_MISMATCH = "pod_anti_affinity_mismatch"
TOPOLOGY_SPREAD_MISMATCH = "topology_spread_mismatch"
OTHER = "other"

ALL: tuple[str, ...] = (
    INSUFFICIENT_CPU, INSUFFICIENT_MEMORY, INSUFFICIENT_EPHEMERAL_STORAGE, INSUFFICIENT_PODS,
    INSUFFICIENT_EXTENDED_RESOURCE, UNTOLERATED_TAINT, NODE_NOT_READY_TAINT, NODE_UNREACHABLE_TAINT,
    NODE_SELECTOR_OR_AFFINITY_MISMATCH, NODE_NAME_MISMATCH, NODE_UNSCHEDULABLE, UNBOUND_PVC,
    VOLUME_NODE_AFFINITY_CONFLICT, VOLUME_ZONE_CONFLICT, MAX_VOLUME_COUNT, HOST_PORT_CONFLICT,
    POD_AFFINITY_MISMATCH, POD_ANTI_AFFINITY_MISMATCH, TOPOLOGY_SPREAD_MISMATCH, OTHER,
)

RESOURCE_CATEGORIES = frozenset({
    INSUFFICIENT_CPU, INSUFFICIENT_MEMORY, INSUFFICIENT_EPHEMERAL_STORAGE, INSUFFICIENT_PODS,
    INSUFFICIENT_EXTENDED_RESOURCE,
})
"""Categories that a change of requests, or room made on the node, can resolve."""

NODE_LAYER_TAINT_KEYS = frozenset({
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
    "node.kubernetes.io/memory-pressure",
    "node.kubernetes.io/disk-pressure",
    "node.kubernetes.io/pid-pressure",
    "node.kubernetes.io/network-unavailable",
})
"""Taints the node lifecycle controller sets from node conditions: a node problem, not a pod one."""

NEVER_TOLERATE_KEYS = frozenset({"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"})
"""Taints clusterdoc never suggests tolerating: they point at the node layer."""

CONTROL_PLANE_TAINT_KEYS = frozenset({"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"})
"""Taints kubeadm and managed distributions put on control-plane nodes: keep workloads off, never a fix to offer."""

LIFECYCLE_TAINT_KEYS = frozenset({
    "ToBeDeletedByClusterAutoscaler",
    "DeletionCandidateOfClusterAutoscaler",
    "karpenter.sh/disruption",
    "node.cloudprovider.kubernetes.io/uninitialized",
    "node.cloudprovider.kubernetes.io/shutdown",
    "node.kubernetes.io/out-of-service",
})
"""Taints marking a node being removed, shut down or not yet initialised: tolerating them only lands the pod
on a node about to go away (or not ready to run it), so they are never a fix to offer."""

LABELS: dict[str, str] = {
    INSUFFICIENT_CPU: "not enough free CPU",
    INSUFFICIENT_MEMORY: "not enough free memory",
    INSUFFICIENT_EPHEMERAL_STORAGE: "not enough free ephemeral storage",
    INSUFFICIENT_PODS: "pod count limit reached",
    INSUFFICIENT_EXTENDED_RESOURCE: "not enough of an extended resource",
    UNTOLERATED_TAINT: "untolerated taint",
    NODE_NOT_READY_TAINT: "node not ready",
    NODE_UNREACHABLE_TAINT: "node unreachable",
    NODE_SELECTOR_OR_AFFINITY_MISMATCH: "nodeSelector/node affinity mismatch",
    NODE_NAME_MISMATCH: "spec.nodeName names another node",
    NODE_UNSCHEDULABLE: "cordoned",
    UNBOUND_PVC: "PersistentVolumeClaim cannot bind",
    VOLUME_NODE_AFFINITY_CONFLICT: "PersistentVolume node affinity conflict",
    VOLUME_ZONE_CONFLICT: "volume in another zone",
    MAX_VOLUME_COUNT: "volume attach limit reached",
    HOST_PORT_CONFLICT: "host port in use",
    POD_AFFINITY_MISMATCH: "pod affinity not satisfied",
    POD_ANTI_AFFINITY_MISMATCH: "pod anti-affinity violated",
    TOPOLOGY_SPREAD_MISMATCH: "topology spread constraint violated",
    OTHER: "other",
}


def taint_category(key: str) -> str:
    """The category of an untolerated taint: not-ready and unreachable have their own."""
    if key == "node.kubernetes.io/not-ready":
        return NODE_NOT_READY_TAINT
    if key == "node.kubernetes.io/unreachable":
        return NODE_UNREACHABLE_TAINT
    return UNTOLERATED_TAINT


def resource_category(resource: str) -> str:
    """The ``insufficient_*`` category for a resource name as the scheduler prints it."""
    return {
        "cpu": INSUFFICIENT_CPU,
        "memory": INSUFFICIENT_MEMORY,
        "ephemeral-storage": INSUFFICIENT_EPHEMERAL_STORAGE,
        "pods": INSUFFICIENT_PODS,
    }.get(resource, INSUFFICIENT_EXTENDED_RESOURCE)

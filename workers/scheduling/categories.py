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
# added with issue 12 (by adding, never renaming): where the fix differs, the category differs
MISSING_PVC = "missing_pvc"
PV_MISSING = "pv_missing"
INSUFFICIENT_STORAGE_CAPACITY = "insufficient_storage_capacity"
VOLUME_DISK_CONFLICT = "volume_disk_conflict"
VOLUME_RWOP_CONFLICT = "volume_rwop_conflict"
SERVICE_AFFINITY_MISMATCH = "service_affinity_mismatch"
RESOURCE_CLAIM_MISSING = "resource_claim_missing"
RESOURCE_CLAIM_IN_USE = "resource_claim_in_use"
RESOURCE_CLAIM_NODE_MISMATCH = "resource_claim_node_mismatch"
DEVICE_CLASS_MISSING = "device_class_missing"
DRA_CANNOT_ALLOCATE = "dra_cannot_allocate"
DRA_NO_MATCHING_DEVICE = "dra_no_matching_device"
DRA_DEVICES_EXHAUSTED = "dra_devices_exhausted"
DRA_NO_RESOURCE_SLICES = "dra_no_resource_slices"
NODE_NOT_IN_CACHE = "node_not_in_cache"
POD_BEING_DELETED = "pod_being_deleted"
SCHEDULER_ERROR = "scheduler_error"

ALL: tuple[str, ...] = (
    INSUFFICIENT_CPU, INSUFFICIENT_MEMORY, INSUFFICIENT_EPHEMERAL_STORAGE, INSUFFICIENT_PODS,
    INSUFFICIENT_EXTENDED_RESOURCE, UNTOLERATED_TAINT, NODE_NOT_READY_TAINT, NODE_UNREACHABLE_TAINT,
    NODE_SELECTOR_OR_AFFINITY_MISMATCH, NODE_NAME_MISMATCH, NODE_UNSCHEDULABLE, UNBOUND_PVC,
    VOLUME_NODE_AFFINITY_CONFLICT, VOLUME_ZONE_CONFLICT, MAX_VOLUME_COUNT, HOST_PORT_CONFLICT,
    POD_AFFINITY_MISMATCH, POD_ANTI_AFFINITY_MISMATCH, TOPOLOGY_SPREAD_MISMATCH, OTHER,
    MISSING_PVC, PV_MISSING, INSUFFICIENT_STORAGE_CAPACITY, VOLUME_DISK_CONFLICT, VOLUME_RWOP_CONFLICT,
    SERVICE_AFFINITY_MISMATCH, RESOURCE_CLAIM_MISSING, RESOURCE_CLAIM_IN_USE, RESOURCE_CLAIM_NODE_MISMATCH,
    DEVICE_CLASS_MISSING, DRA_CANNOT_ALLOCATE, DRA_NO_MATCHING_DEVICE, DRA_DEVICES_EXHAUSTED, DRA_NO_RESOURCE_SLICES,
    NODE_NOT_IN_CACHE, POD_BEING_DELETED, SCHEDULER_ERROR,
)

MESSAGE_ONLY = frozenset({
    OTHER, INSUFFICIENT_STORAGE_CAPACITY, SERVICE_AFFINITY_MISMATCH, DRA_CANNOT_ALLOCATE, NODE_NOT_IN_CACHE,
    POD_BEING_DELETED, SCHEDULER_ERROR,
})
"""Categories only the scheduler's own words give: clusterdoc's per-node analysis never computes them (it reads
no CSIStorageCapacity, runs no ServiceAffinity (removed in 1.25), sees no scheduler cache or internal error; the
DynamicResources plugin's one phrase for every allocation failure is split per node into the three ``dra_*``
causes below)."""

NODE_ONLY = frozenset({NODE_NAME_MISMATCH, DRA_NO_MATCHING_DEVICE, DRA_DEVICES_EXHAUSTED, DRA_NO_RESOURCE_SLICES})
"""Categories no scheduler message names on its own: a pending pod with a nodeName is not scheduled by the
scheduler, and the scheduler says ``cannot allocate all claims`` (``dra_cannot_allocate``) for each DRA cause."""

MESSAGE_UMBRELLA: dict[str, frozenset[str]] = {
    DRA_CANNOT_ALLOCATE: frozenset({DRA_NO_MATCHING_DEVICE, DRA_DEVICES_EXHAUSTED, DRA_NO_RESOURCE_SLICES}),
}
"""A message category and the finer per-node categories it stands for (the reconciliation folds them)."""

MESSAGE_CATEGORY: dict[str, str] = {fine: broad for broad, fines in MESSAGE_UMBRELLA.items() for fine in fines}
"""Per-node category -> the category the scheduler's message gives it."""

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
    MISSING_PVC: "PersistentVolumeClaim missing",
    PV_MISSING: "PersistentVolumeClaim bound to a missing PersistentVolume",
    INSUFFICIENT_STORAGE_CAPACITY: "not enough storage capacity for a new volume",
    VOLUME_DISK_CONFLICT: "same disk already mounted by another pod",
    VOLUME_RWOP_CONFLICT: "ReadWriteOncePod claim already in use",
    SERVICE_AFFINITY_MISMATCH: "service affinity not satisfied",
    RESOURCE_CLAIM_MISSING: "ResourceClaim missing or not created yet",
    RESOURCE_CLAIM_IN_USE: "ResourceClaim in use by another pod",
    RESOURCE_CLAIM_NODE_MISMATCH: "ResourceClaim allocated on other nodes",
    DEVICE_CLASS_MISSING: "DeviceClass missing",
    DRA_CANNOT_ALLOCATE: "cannot allocate the ResourceClaims",
    DRA_NO_MATCHING_DEVICE: "no device matches the claim",
    DRA_DEVICES_EXHAUSTED: "every matching device already allocated",
    DRA_NO_RESOURCE_SLICES: "the DRA driver publishes no devices here",
    NODE_NOT_IN_CACHE: "node missing from the scheduler's cache",
    POD_BEING_DELETED: "pod is being deleted",
    SCHEDULER_ERROR: "scheduler plugin error",
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

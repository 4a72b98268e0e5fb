"""VolumeRestrictions: the same disk mounted twice on one node, and ReadWriteOncePod claims already in use.

Source: ``pkg/scheduler/framework/plugins/volumerestrictions/volume_restrictions.go`` (1.27-1.35).
Disk conflicts (``isVolumeConflict``, inline pod volumes only, against the pods on the node): a GCE
PD with the same ``pdName`` unless both mounts are read-only; an AWS EBS volume with the same
``volumeID`` always; an iSCSI volume with the same ``iqn`` unless both are read-only; an RBD image
with an overlapping Ceph monitor, the same pool (default ``rbd``) and image unless both are
read-only. ReadWriteOncePod: when a PVC of the pod has ``ReadWriteOncePod`` in its access modes
and another pod anywhere in the cluster already uses that PVC, every node rejects the pod. Both are
Unschedulable (preemption of the other pod could help).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin
from clusterdoc.workers.scheduling.inputs import Disk, PodInfo
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo

NAME = "VolumeRestrictions"
ERR_REASON_DISK_CONFLICT = "node(s) had no available disk"
"""ErrReasonDiskConflict (Unschedulable)."""
ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT = (
    "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode"
)
"""ErrReasonReadWriteOncePodConflict (Unschedulable), as older releases word it; kube-scheduler 1.37 writes
``node(s) unavailable due to PersistentVolumeClaim with ReadWriteOncePod access mode already in-use by another
pod`` (the message parser reads both)."""


def disk_conflict(disk: Disk, existing: Disk) -> bool:
    """``isVolumeConflict`` for one pair of inline volumes."""
    kind, identity, read_only, monitors = disk
    other_kind, other_identity, other_read_only, other_monitors = existing
    if kind != other_kind or identity != other_identity:
        return False
    if kind == "awsElasticBlockStore":
        return True
    if kind == "rbd" and not set(monitors) & set(other_monitors):
        return False
    return not (read_only and other_read_only)


@dataclass
class Restrictions:
    """PreFilter result: the pod's RWOP claims in use elsewhere, by claim."""

    rwop_in_use: dict[str, list[str]] = field(default_factory=dict)


def prefilter(pod: PodInfo, state: ClusterState) -> Restrictions:
    result = Restrictions()
    for claim in pod.claim_names:
        key = f"{pod.namespace}/{claim}"
        pvc = state.pvcs.get(key) or {}
        if "ReadWriteOncePod" not in ((pvc.get("spec") or {}).get("accessModes") or ()):
            continue
        users = [user for user in state.claim_users.get(key, ()) if user != f"{pod.namespace}/{pod.name}"]
        if users:
            result.rwop_in_use[claim] = users
    return result


def _describe(disk: Disk) -> str:
    kind, identity, _, _ = disk
    return {"gcePersistentDisk": "GCE PD", "awsElasticBlockStore": "AWS EBS volume", "iscsi": "iSCSI volume",
            "rbd": "RBD image"}.get(kind, kind) + f" {identity}"


def filter_node(pod: PodInfo, node: NodeInfo, state: ClusterState, pre: Restrictions) -> list[Blocker]:
    blockers: list[Blocker] = []
    if pod.disks and node.pods_known:
        for disk in pod.disks:
            owner = next((who for existing, who in node.disks if disk_conflict(disk, existing)), None)
            if owner is not None:
                blockers.append(Blocker(
                    cat.VOLUME_DISK_CONFLICT, f"{_describe(disk)} is already mounted here by {owner}", NAME,
                    ERR_REASON_DISK_CONFLICT, resolvable=True))
                break
    if pre.rwop_in_use and not blockers:
        claim, users = next(iter(pre.rwop_in_use.items()))
        blockers.append(Blocker(
            cat.VOLUME_RWOP_CONFLICT, f"PVC {claim} is ReadWriteOncePod and already used by {', '.join(users[:3])}",
            NAME, ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT, resolvable=True))
    return blockers


PLUGIN = Plugin(NAME, False, prefilter, filter_node,
                applies=lambda pod, pre: bool(pod.disks or pre.rwop_in_use))

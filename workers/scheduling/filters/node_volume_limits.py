"""NodeVolumeLimits: a CSI driver's attach limit (``CSINode.spec.drivers[].allocatable.count``) must not be exceeded.

Source: ``pkg/scheduler/framework/plugins/nodevolumelimits/csi.go``: unique volumes per driver
already used by the node's pods, plus the pod's new ones, must stay within the limit. Drivers
without a limit, and nodes without a CSINode object, never block. Volumes are resolved through
their PVC to the bound PV's ``spec.csi.driver`` (or the StorageClass provisioner when unbound).
"""

from __future__ import annotations

from typing import Any

from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo

NAME = "NodeVolumeLimits"
ERR_REASON_MAX_VOLUME_COUNT_EXCEEDED = "node(s) exceed max volume count"
"""ErrReasonMaxVolumeCountExceeded (Unschedulable)."""


def _driver_and_handle(state: ClusterState, claim_key: str) -> tuple[str, str] | None:
    pvc = state.pvcs.get(claim_key)
    if pvc is None:
        return None
    spec = pvc.get("spec") or {}
    volume_name = spec.get("volumeName")
    if volume_name:
        pv = state.pvs.get(volume_name) or {}
        csi = (pv.get("spec") or {}).get("csi")
        if csi and csi.get("driver"):
            return csi["driver"], csi.get("volumeHandle") or volume_name
        return None
    storage_class = state.storage_classes.get(spec.get("storageClassName") or "") or {}
    provisioner = storage_class.get("provisioner")
    return (provisioner, claim_key) if provisioner else None


def prefilter(pod: PodInfo, state: ClusterState) -> dict[str, set[str]]:
    """New CSI volumes of the pod per driver."""
    new: dict[str, set[str]] = {}
    for claim in pod.claim_names:
        resolved = _driver_and_handle(state, f"{pod.namespace}/{claim}")
        if resolved:
            new.setdefault(resolved[0], set()).add(resolved[1])
    return new


def _limits(state: ClusterState, node: NodeInfo) -> dict[str, int]:
    csinode = state.csinodes.get(node.name)
    if not csinode:
        return {}
    limits = {}
    for driver in (csinode.get("spec") or {}).get("drivers") or ():
        count = (driver.get("allocatable") or {}).get("count")
        if count is not None:
            limits[driver.get("name", "")] = int(count)
    return limits


def filter_node(pod: PodInfo, node: NodeInfo, state: ClusterState, pre: Any) -> list[Blocker]:
    if not pre or not node.pods_known:
        return []
    limits = _limits(state, node)
    if not limits:
        return []
    used: dict[str, set[str]] = {}
    for claim_key in node.claims:
        resolved = _driver_and_handle(state, claim_key)
        if resolved:
            used.setdefault(resolved[0], set()).add(resolved[1])
    for driver, volumes in pre.items():
        limit = limits.get(driver)
        if limit is None:
            continue
        total = len(used.get(driver, set()) | volumes)
        if total > limit:
            return [Blocker(
                cat.MAX_VOLUME_COUNT,
                f"{driver}: {len(used.get(driver, set()))} volumes attached, limit {limit}, pod adds {len(volumes)}",
                NAME, ERR_REASON_MAX_VOLUME_COUNT_EXCEEDED, resolvable=True,
            )]
    return []


PLUGIN = Plugin(NAME, False, prefilter, filter_node, applies=lambda pod, pre: bool(pre))

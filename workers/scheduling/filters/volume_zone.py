"""VolumeZone: a bound PV labelled with a zone or region fits only nodes in that zone/region.

Source: ``pkg/scheduler/framework/plugins/volumezone/volume_zone.go``: nodes with no zone/region
labels at all pass; otherwise the node's value for each of the PV's topology labels must be one
of the PV's values (several are joined with ``__``). A PV labelled with a beta key
(``failure-domain.beta.kubernetes.io/zone``) also matches a node that carries only the GA key
(``translateToGALabel``), never the other way round. Unbound PVCs are VolumeBinding's concern.
Only ``persistentVolumeClaim`` volumes are looked at (not generic ephemeral ones:
``getPersistentVolumeClaimNameFromPod``), and a label value with an empty element (``""``,
``a__``) is ignored as ``LabelZonesToSet`` cannot parse it; elements are trimmed.
"""

from __future__ import annotations

from typing import Any

from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo

NAME = "VolumeZone"
ERR_REASON_CONFLICT = "node(s) had no available volume zone"
"""ErrReasonConflict (UnschedulableAndUnresolvable)."""

TOPOLOGY_LABELS = (
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
)


BETA_TO_GA = {
    "failure-domain.beta.kubernetes.io/zone": "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region": "topology.kubernetes.io/region",
}


def _zones(value: str) -> set[str] | None:
    """``LabelZonesToSet``: ``a__b`` -> {a, b}, trimmed; None (the label is ignored) if any element is empty."""
    zones = {zone.strip() for zone in value.split("__")}
    return None if "" in zones else zones


def prefilter(pod: PodInfo, state: ClusterState) -> list[tuple[str, str, dict[str, set[str]]]]:
    """``(claim, pv name, {label: allowed values})`` for every bound PV with topology labels."""
    found: list[tuple[str, str, dict[str, set[str]]]] = []
    for claim in pod.claim_names:
        if claim in pod.ephemeral_claims:
            continue
        pvc = state.pvcs.get(f"{pod.namespace}/{claim}") or {}
        volume_name = str((pvc.get("spec") or {}).get("volumeName") or "")
        pv = state.pvs.get(volume_name) if volume_name else None
        if pv is None:
            continue
        labels = (pv.get("metadata") or {}).get("labels") or {}
        wanted = {key: zones for key in TOPOLOGY_LABELS if key in labels
                  and (zones := _zones(str(labels[key]))) is not None}
        if wanted:
            found.append((claim, str(volume_name), wanted))
    return found


def filter_node(pod: PodInfo, node: NodeInfo, state: ClusterState, pre: Any) -> list[Blocker]:
    if not pre or not any(key in node.labels for key in TOPOLOGY_LABELS):
        return []
    for claim, volume_name, wanted in pre:
        for key, values in wanted.items():
            have = node.labels.get(key)
            if have is None:
                have = node.labels.get(BETA_TO_GA.get(key, key))
            if have not in values:
                return [Blocker(
                    cat.VOLUME_ZONE_CONFLICT,
                    f"PV {volume_name} (PVC {claim}) is in {key}={'/'.join(sorted(values))}, node is in "
                    f"{have or '<none>'}",
                    NAME, ERR_REASON_CONFLICT, resolvable=False,
                )]
    return []


PLUGIN = Plugin(NAME, True, prefilter, filter_node, applies=lambda pod, pre: bool(pre))

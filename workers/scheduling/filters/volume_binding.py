"""VolumeBinding: every PVC the pod uses must be bound, or bindable on this node.

Source: ``pkg/scheduler/framework/plugins/volumebinding/volume_binding.go`` and ``binder.go``.
PreFilter (all nodes at once): a missing or deleting PVC is an error (``missing_pvc``); an unbound
PVC whose StorageClass is missing or uses ``Immediate`` binding, or one pre-bound by
``spec.volumeName`` whose binding the PV controller has not completed (no
``pv.kubernetes.io/bind-completed``), makes the pod wait ("pod has unbound immediate
PersistentVolumeClaims"). Filter (per node): a bound PV must exist (``pv_missing``) and its node
affinity must match; an unbound ``WaitForFirstConsumer`` PVC needs an available PV of its
class that fits on the node, or a provisioner whose ``allowedTopologies`` include the node.
All of these are UnschedulableAndUnresolvable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.labels import node_term_matches, selector_matches
from clusterdoc.workers.scheduling.quantities import safe_int
from clusterdoc.workers.scheduling.snapshot import ClusterState, NodeInfo

NAME = "VolumeBinding"
ERR_REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
"""ErrReasonBindConflict: no PV of the class can be bound on this node."""
ERR_REASON_NODE_CONFLICT = "node(s) had volume node affinity conflict"
"""ErrReasonNodeConflict (1.33+: "node(s) didn't match PersistentVolume's node affinity")."""
ERR_REASON_PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
"""ErrReasonPVNotExist."""
ERR_UNBOUND_IMMEDIATE_PVC = "pod has unbound immediate PersistentVolumeClaims"
"""PreFilter: an unbound PVC without delayed binding (no per-node count in the message)."""

NO_PROVISIONER = "kubernetes.io/no-provisioner"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
"""``AnnBindCompleted``: without it a PVC's ``volumeName`` is only a pre-binding (``isPVCFullyBound``)."""
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


@dataclass
class Claims:
    """PreFilter result: problems for every node, bound PVs to check, delayed claims to match."""

    everywhere: list[Blocker] = field(default_factory=list)
    bound: list[tuple[str, Obj | None]] = field(default_factory=list)
    delayed: list[tuple[Obj, Obj]] = field(default_factory=list)


SELECTED_NODE = "volume.kubernetes.io/selected-node"
"""``AnnSelectedNode``: the scheduler chose this node for a delayed claim and provisioning has started."""
BETA_CLASS = "volume.beta.kubernetes.io/storage-class"


def claim_class(obj: Obj) -> str:
    """A PVC's or a PV's class (``GetPersistentVolumeClaimClass``, ``GetPersistentVolumeClass``): the beta
    annotation first, then ``spec.storageClassName``."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if BETA_CLASS in annotations:
        return str(annotations[BETA_CLASS])
    return str((obj.get("spec") or {}).get("storageClassName") or "")


def _claim_storage(pvc: Obj) -> int:
    """The storage a claim requests (0 when none)."""
    spec = pvc.get("spec") or {}
    return safe_int("storage", ((spec.get("resources") or {}).get("requests") or {}).get("storage", 0))


def pv_node_terms(pv: Obj) -> list[dict[str, Any]] | None:
    required = (((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {})
    terms = required.get("nodeSelectorTerms")
    return list(terms) if terms is not None else None


def pv_fits_node(pv: Obj, node: NodeInfo) -> bool:
    """``CheckNodeAffinity(pv, node.Labels)``: the PV's required node affinity against the node's *labels* only.

    The node is built from its labels alone, so ``matchFields`` (``metadata.name``) are not checked: a
    term of matchFields only matches every node, as in kube-scheduler.
    """
    terms = pv_node_terms(pv)
    if terms is None:
        return True
    for term in terms:
        expressions = term.get("matchExpressions") or []
        if not expressions and term.get("matchFields"):
            return True
        if node_term_matches({"matchExpressions": expressions}, "", node.labels):
            return True
    return False


def _unbound(claim: str, text: str) -> Blocker:
    return Blocker(cat.UNBOUND_PVC, f"PVC {claim}: {text}", NAME, ERR_UNBOUND_IMMEDIATE_PVC, resolvable=False,
                   prefilter=True)


def _controlled_by(pvc: Obj, pod: PodInfo) -> bool:
    """``metav1.IsControlledBy``: the PVC's controller ownerReference is this pod (by UID)."""
    uid = (pod.obj.get("metadata") or {}).get("uid")
    return any(ref.get("controller") and ref.get("uid") == uid
               for ref in (pvc.get("metadata") or {}).get("ownerReferences") or ())


def _claim_error(pod: PodInfo, claim: str, pvc: Obj | None) -> Blocker | None:
    """``podHasPVCs``: the error one claim stops the PreFilter with (missing, Lost, deleting, not the pod's own)."""
    if pvc is None:
        text = (f'waiting for ephemeral volume controller to create the persistentvolumeclaim "{claim}"'
                if claim in pod.ephemeral_claims else f'persistentvolumeclaim "{claim}" not found')
        return Blocker(cat.MISSING_PVC, text, NAME, text, resolvable=False, prefilter=True)
    if (pvc.get("status") or {}).get("phase") == "Lost":
        volume = (pvc.get("spec") or {}).get("volumeName", "")
        text = f'persistentvolumeclaim "{claim}" bound to non-existent persistentvolume "{volume}"'
        return Blocker(cat.PV_MISSING, text, NAME, text, resolvable=False, prefilter=True)
    if (pvc.get("metadata") or {}).get("deletionTimestamp"):
        text = f'persistentvolumeclaim "{claim}" is being deleted'
        return Blocker(cat.MISSING_PVC, text, NAME, text, resolvable=False, prefilter=True)
    if claim in pod.ephemeral_claims and not _controlled_by(pvc, pod):  # ephemeral.VolumeIsForPod
        text = f"PVC {pod.namespace}/{claim} was not created for pod {pod.namespace}/{pod.name} (pod is not owner)"
        return Blocker(cat.MISSING_PVC, f"{text}: another PVC has the name its ephemeral volume needs", NAME, text,
                       resolvable=False, prefilter=True)
    return None


def prefilter(pod: PodInfo, state: ClusterState) -> Claims:
    """The PreFilter, in kube-scheduler's two passes: ``podHasPVCs`` walks the volumes in spec order and
    stops at the first broken claim (that one error is the message); only then are the claims sorted
    into bound, unbound-immediate and delayed."""
    result = Claims()
    for claim in pod.claim_names:
        error = _claim_error(pod, claim, state.pvcs.get(f"{pod.namespace}/{claim}"))
        if error is not None:
            result.everywhere.append(error)
            return result
    for claim in pod.claim_names:
        pvc = state.pvcs[f"{pod.namespace}/{claim}"]
        volume_name = (pvc.get("spec") or {}).get("volumeName")
        annotations = (pvc.get("metadata") or {}).get("annotations") or {}
        if volume_name and BIND_COMPLETED not in annotations:
            # isPVCFullyBound: volumeName alone is a pre-binding; "prebound PVCs are treated as unbound immediate"
            missing = "" if volume_name in state.pvs else f"; PersistentVolume {volume_name} does not exist"
            result.everywhere.append(_unbound(claim, f"pre-bound to PersistentVolume {volume_name} (spec.volumeName) "
                                                     f"but the PV controller has not completed the binding{missing}"))
            continue
        if volume_name:
            result.bound.append((claim, state.pvs.get(volume_name)))
            continue
        class_name = claim_class(pvc)
        if not class_name:
            result.everywhere.append(_unbound(claim, "unbound, no storageClassName and no default StorageClass "
                                                     "assigned it one"))
            continue
        storage_class = state.storage_classes.get(class_name)
        if storage_class is None:
            result.everywhere.append(_unbound(claim, f"unbound, StorageClass {class_name} does not exist"))
            continue
        if storage_class.get("volumeBindingMode") != "WaitForFirstConsumer":
            result.everywhere.append(_unbound(
                claim, f"unbound, StorageClass {class_name} binds immediately and has not provided a volume "
                       f"(provisioner {storage_class.get('provisioner', '?')})"))
            continue
        result.delayed.append((pvc, storage_class))
    return result


def _bound_to(pv: Obj, pvc: Obj) -> bool:
    """``IsVolumeBoundToClaim``: the PV's claimRef names this claim (and its UID, when the claimRef has one)."""
    claim_ref = (pv.get("spec") or {}).get("claimRef")
    if not claim_ref:
        return False
    meta = pvc.get("metadata") or {}
    if claim_ref.get("name") != meta.get("name") or claim_ref.get("namespace") != meta.get("namespace"):
        return False
    return not claim_ref.get("uid") or claim_ref.get("uid") == meta.get("uid")


def matching_volume(pvc: Obj, class_name: str, pvs: dict[str, Obj], node: NodeInfo | None,
                    chosen: set[str]) -> str | None:
    """``FindMatchingVolume`` on the scheduler's path: the PV this delayed claim would bind to on ``node``.

    A PV pre-bound to the claim (claimRef) wins at once — unless its node affinity excludes the node,
    which then leaves *no* match at all; otherwise the smallest Available PV of the class that is big
    enough, of the same volumeMode, not being deleted, matching the claim's selector, fitting the node
    and offering every access mode asked. ``chosen`` PVs are taken by the pod's other claims. With
    ``node`` None, node affinity is not checked (to count the candidates anywhere).
    """
    spec = pvc.get("spec") or {}
    want = _claim_storage(pvc)
    mode = spec.get("volumeMode") or "Filesystem"
    selector = spec.get("selector")
    asked = set(spec.get("accessModes") or ())
    best: tuple[int, str] | None = None
    for name, pv in sorted(pvs.items()):
        pv_spec = pv.get("spec") or {}
        if name in chosen or claim_class(pv) != class_name:
            continue
        bound_here = _bound_to(pv, pvc)
        if pv_spec.get("claimRef") and not bound_here:
            continue
        have = safe_int("storage", (pv_spec.get("capacity") or {}).get("storage", 0))
        if have < want or (pv_spec.get("volumeMode") or "Filesystem") != mode:
            continue
        if (pv.get("metadata") or {}).get("deletionTimestamp"):
            continue
        fits = node is None or pv_fits_node(pv, node)
        if bound_here:
            return name if fits else None
        if (pv.get("status") or {}).get("phase") != "Available":
            continue
        if selector is not None and not selector_matches(selector, (pv.get("metadata") or {}).get("labels") or {}):
            continue
        if not fits or not asked <= set(pv_spec.get("accessModes") or ()):
            continue
        if best is None or have < best[0]:
            best = (have, name)
    return best[1] if best else None


def _topology_allows(storage_class: Obj, node: NodeInfo) -> bool:
    """``MatchTopologySelectorTerms``: no terms allow every node; an empty term allows none."""
    allowed = storage_class.get("allowedTopologies")
    if not allowed:
        return True
    for term in allowed:
        expressions = term.get("matchLabelExpressions") or []
        if expressions and all(node.labels.get(e.get("key")) in (e.get("values") or []) for e in expressions):
            return True
    return False


def filter_node(pod: PodInfo, node: NodeInfo, state: ClusterState, pre: Claims) -> list[Blocker]:
    blockers = list(pre.everywhere)
    for claim, pv in pre.bound:
        if pv is None:
            blockers.append(Blocker(cat.PV_MISSING, f"PVC {claim} is bound to a PersistentVolume that does not exist",
                                    NAME, ERR_REASON_PV_NOT_EXIST, resolvable=False))
        elif not pv_fits_node(pv, node):
            name = (pv.get("metadata") or {}).get("name", "")
            blockers.append(Blocker(cat.VOLUME_NODE_AFFINITY_CONFLICT,
                                    f"PV {name} (PVC {claim}) is pinned to other nodes by its node affinity",
                                    NAME, ERR_REASON_NODE_CONFLICT, resolvable=False))
    chosen: set[str] = set()  # a PV matched for one claim of the pod is not offered to the next
    for pvc, storage_class in sorted(pre.delayed, key=lambda item: _claim_storage(item[0])):  # byPVCSize
        meta = pvc.get("metadata") or {}
        claim = meta.get("name", "")
        class_name = (storage_class.get("metadata") or {}).get("name", "")
        selected = (meta.get("annotations") or {}).get(SELECTED_NODE)
        if selected is not None and selected != node.name:  # provisioning started for another node
            blockers.append(Blocker(cat.UNBOUND_PVC, f"PVC {claim}: provisioning already started for node "
                                    f"{selected} ({SELECTED_NODE})", NAME, ERR_REASON_BIND_CONFLICT,
                                    resolvable=False))
            continue
        if selected is None:
            match = matching_volume(pvc, class_name, state.pvs, node, chosen)
            if match is not None:
                chosen.add(match)
                continue
        provisioner = storage_class.get("provisioner") or NO_PROVISIONER
        if provisioner != NO_PROVISIONER and _topology_allows(storage_class, node):
            continue
        if provisioner == NO_PROVISIONER:
            elsewhere = matching_volume(pvc, class_name, state.pvs, None, set())
            detail = (f"PVC {claim}: no available PV of StorageClass {class_name} fits this node (a candidate PV "
                      f"is elsewhere)" if elsewhere else
                      f"PVC {claim}: no available PV of StorageClass {class_name} (no provisioner creates one)")
        else:
            detail = f"PVC {claim}: StorageClass {class_name} allowedTopologies exclude this node"
        blockers.append(Blocker(cat.UNBOUND_PVC, detail, NAME, ERR_REASON_BIND_CONFLICT, resolvable=False))
    return blockers


PLUGIN = Plugin(NAME, True, prefilter, filter_node,
                applies=lambda pod, pre: bool(pre.everywhere or pre.bound or pre.delayed))

"""DynamicResources (DRA, ``resource.k8s.io/v1``, GA in 1.34): the pod's ResourceClaims must be allocatable on the node.

Source: ``pkg/scheduler/framework/plugins/dynamicresources/dynamicresources.go`` and the structured
allocator (``k8s.io/dynamic-resource-allocation/structured``). PreFilter (every node at once,
UnschedulableAndUnresolvable): a claim generated from a ResourceClaimTemplate not created yet
(``pod "x": ResourceClaim not created yet``), a claim not found or being deleted, an allocated
claim reserved by the maximum number of consumers (``resourceclaim in use``), a request naming a
DeviceClass that does not exist. Filter (per node): an allocated claim's ``nodeSelector`` must match
(``resourceclaim not available on the node``); unallocated claims must be allocatable from the
devices ResourceSlices publish for the node — each request's DeviceClass and request selectors
(CEL) match, and the devices are not allocated to another claim — else ``cannot allocate all
claims``, which clusterdoc splits by cause: the driver publishes no devices for the node
(``dra_no_resource_slices``), no device matches the selectors (``dra_no_matching_device``), or
every matching device is allocated (``dra_devices_exhausted``). CEL selectors beyond the forms
``workers.scheduling.cel`` evaluates are named in a note and assumed to match.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from clusterdoc.workers.cluster.base import Cluster, ClusterError, NotFound, Obj
from clusterdoc.workers.scheduling import categories as cat
from clusterdoc.workers.scheduling import cel
from clusterdoc.workers.scheduling.filters.base import Blocker, Plugin
from clusterdoc.workers.scheduling.inputs import PodInfo
from clusterdoc.workers.scheduling.labels import node_term_matches
from clusterdoc.workers.scheduling.snapshot import PAGE_SIZE, ClusterState, NodeInfo

NAME = "DynamicResources"
ERR_CANNOT_ALLOCATE = "cannot allocate all claims"
"""Filter: the allocator found no devices for every claim on this node (UnschedulableAndUnresolvable)."""
ERR_NOT_AVAILABLE = "resourceclaim not available on the node"
"""Filter: an allocated claim's nodeSelector excludes the node."""
ERR_IN_USE = "resourceclaim in use"
"""PreFilter: the claim is allocated and cannot be reserved for one more pod."""
ERR_NOT_CREATED = 'pod "%s": ResourceClaim not created yet'
"""PreFilter (``resourceclaim.Name``): the claim for a ResourceClaimTemplate does not exist yet."""
ERR_NOT_FOUND = 'resourceclaim.resource.k8s.io "%s" not found'
ERR_DELETING = 'resourceclaim "%s" is being deleted'
ERR_CLASS_MISSING = "request %s: device class %s does not exist"
RESERVED_FOR_MAX = 256
"""``ResourceClaimReservedForMaxSize``."""

DeviceKey = tuple[str, str, str]
"""``(driver, pool, device)``: how an allocation result names a device."""


@dataclass
class DraObjects:
    """The DRA objects of the cluster, read once per analysis."""

    claims: dict[str, Obj] = field(default_factory=dict)
    templates: dict[str, Obj] = field(default_factory=dict)
    classes: dict[str, Obj] = field(default_factory=dict)
    slices: list[Obj] = field(default_factory=list)
    allocated: dict[DeviceKey, str] = field(default_factory=dict)
    """Allocated devices -> the claim (``ns/name``) holding them."""


def _key(obj: Obj, namespaced: bool) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}" if namespaced else str(meta.get("name", ""))


def read_dra_objects(cluster: Cluster, state: ClusterState, namespaces: list[str]) -> DraObjects | None:
    """Every ResourceClaim (their allocations say which devices are taken), the templates of ``namespaces``,
    DeviceClasses and ResourceSlices; None (with a note) when the cluster serves no ``resource.k8s.io/v1``."""
    objects = DraObjects()
    try:
        for claim in cluster.list("ResourceClaim", page_size=PAGE_SIZE):
            key = _key(claim, True)
            objects.claims[key] = claim
            allocation = (claim.get("status") or {}).get("allocation") or {}
            for result in (allocation.get("devices") or {}).get("results") or ():
                device = (str(result.get("driver", "")), str(result.get("pool", "")), str(result.get("device", "")))
                objects.allocated[device] = key
        for namespace in namespaces:
            for template in cluster.list("ResourceClaimTemplate", namespace, page_size=PAGE_SIZE):
                objects.templates[_key(template, True)] = template
        objects.classes = {_key(c, False): c for c in cluster.list("DeviceClass", page_size=PAGE_SIZE)}
        objects.slices = list(cluster.list("ResourceSlice", page_size=PAGE_SIZE))
        if not (objects.claims or objects.templates or objects.classes or objects.slices):
            # a snapshot taken without resource.k8s.io objects looks like this too: do not call every claim missing
            state.limits.append("no DRA objects (ResourceClaims, DeviceClasses, ResourceSlices) are visible: the "
                                "pod's resource claims were not evaluated")
            return None
    except NotFound:
        state.notes.append("the cluster serves no resource.k8s.io/v1 API: resource claims were not evaluated")
        return None
    except ClusterError as exc:
        state.notes.append(f"could not read the DRA objects (resource.k8s.io/v1): {exc}; resource claims were not "
                           "evaluated")
        return None
    return objects


@dataclass
class Request:
    """One device request of an unallocated claim, with the selectors that apply to it."""

    claim: str
    name: str
    device_class: str
    selectors: list[str]
    all_devices: bool
    count: int

    @property
    def drivers(self) -> set[str]:
        found: set[str] = set()
        for expression in self.selectors:
            found |= cel.drivers_named(expression)
        return found


@dataclass
class DraPre:
    """PreFilter result."""

    everywhere: list[Blocker] = field(default_factory=list)
    allocated_on: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    """Allocated claims and their allocation's nodeSelector terms."""
    requests: list[list[Request]] = field(default_factory=list)
    """Per device request, its alternatives in order: one for ``exactly``, each ``firstAvailable`` subrequest."""
    notes: list[str] = field(default_factory=list)


def _class_selectors(objects: DraObjects, name: str) -> list[str]:
    spec = (objects.classes.get(name) or {}).get("spec") or {}
    return [str((s.get("cel") or {}).get("expression", "")) for s in spec.get("selectors") or () if s.get("cel")]


def _requests(claim_key: str, claim: Obj, objects: DraObjects, pre: DraPre) -> None:
    """Each device request as its alternatives (``exactly``, or every ``firstAvailable`` subrequest, in order).

    As the allocator validates every subrequest before allocating, a missing DeviceClass in any of them
    fails the claim everywhere.
    """
    for request in (((claim.get("spec") or {}).get("devices") or {}).get("requests") or ()):
        name = str(request.get("name", ""))
        exactly = request.get("exactly")
        choices = [(name, exactly)] if exactly else [
            (f"{name}/{sub.get('name', '')}", sub) for sub in request.get("firstAvailable") or ()]
        alternatives = []
        for label, chosen in choices:
            class_name = str(chosen.get("deviceClassName", ""))
            if class_name not in objects.classes:
                pre.everywhere.append(Blocker(
                    cat.DEVICE_CLASS_MISSING,
                    f"claim {claim_key} request {label}: DeviceClass {class_name} does not exist",
                    NAME, ERR_CLASS_MISSING % (label, class_name), resolvable=False, prefilter=True))
                return
            selectors = _class_selectors(objects, class_name)
            selectors += [str((s.get("cel") or {}).get("expression", "")) for s in chosen.get("selectors") or ()
                          if s.get("cel")]
            mode = chosen.get("allocationMode") or "ExactCount"
            alternatives.append(Request(claim_key, label, class_name, selectors, mode == "All",
                                        int(chosen.get("count") or 1)))
        if alternatives:
            pre.requests.append(alternatives)


def _claim_name(pod: PodInfo, entry: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(claim name, error)`` as ``resourceclaim.Name`` resolves a pod's claim entry."""
    if entry.get("resourceClaimName"):
        return str(entry["resourceClaimName"]), None
    if entry.get("resourceClaimTemplateName"):
        name = str(entry.get("name", ""))
        if name not in pod.claim_statuses:
            return None, ERR_NOT_CREATED % pod.name
        return pod.claim_statuses[name], None
    return None, None


def prefilter(pod: PodInfo, state: ClusterState) -> DraPre:
    pre = DraPre(notes=state.limits)
    objects: DraObjects | None = state.dra
    if not pod.resource_claims or objects is None:
        return pre
    for entry in pod.resource_claims:
        claim_name, error = _claim_name(pod, entry)
        if error:
            template = str(entry.get("resourceClaimTemplateName", ""))
            why = (f"{error}: ResourceClaimTemplate {template} does not exist, so the resource claim controller "
                   "cannot create it" if f"{pod.namespace}/{template}" not in objects.templates else
                   f"{error} (the resource claim controller in kube-controller-manager creates it from "
                   f"ResourceClaimTemplate {template})")
            pre.everywhere.append(Blocker(cat.RESOURCE_CLAIM_MISSING, why, NAME, error, resolvable=False,
                                          prefilter=True))
            return pre
        if claim_name is None:
            continue
        key = f"{pod.namespace}/{claim_name}"
        claim = objects.claims.get(key)
        problem = (ERR_NOT_FOUND % claim_name if claim is None else
                   ERR_DELETING % claim_name if (claim.get("metadata") or {}).get("deletionTimestamp") else "")
        if problem or claim is None:
            pre.everywhere.append(Blocker(cat.RESOURCE_CLAIM_MISSING, problem, NAME, problem, resolvable=False,
                                          prefilter=True))
            return pre
        status = claim.get("status") or {}
        allocation = status.get("allocation")
        if allocation:
            reserved = status.get("reservedFor") or []
            uid = (pod.obj.get("metadata") or {}).get("uid")
            if len(reserved) >= RESERVED_FOR_MAX and not any(r.get("uid") == uid for r in reserved):
                pre.everywhere.append(Blocker(
                    cat.RESOURCE_CLAIM_IN_USE, f"claim {claim_name} is reserved by {len(reserved)} pods already",
                    NAME, ERR_IN_USE, resolvable=False, prefilter=True))
                return pre
            terms = ((allocation.get("nodeSelector") or {}).get("nodeSelectorTerms"))
            if terms is not None:
                pre.allocated_on.append((claim_name, list(terms)))
            continue
        _requests(key, claim, objects, pre)
        if pre.everywhere:
            return pre
    return pre


def _slice_serves(slice_spec: dict[str, Any], node: NodeInfo) -> bool:
    if slice_spec.get("nodeName"):
        return bool(slice_spec["nodeName"] == node.name)
    if slice_spec.get("allNodes"):
        return True
    selector = slice_spec.get("nodeSelector")
    if selector:
        return any(node_term_matches(term, node.name, node.labels) for term in selector.get("nodeSelectorTerms") or ())
    return False


def _node_devices(objects: DraObjects, node: NodeInfo) -> list[tuple[DeviceKey, cel.Device]]:
    found = []
    for item in objects.slices:
        spec = item.get("spec") or {}
        per_device = bool(spec.get("perDeviceNodeSelection"))
        if not per_device and not _slice_serves(spec, node):
            continue
        driver, pool = str(spec.get("driver", "")), str((spec.get("pool") or {}).get("name", ""))
        for device in spec.get("devices") or ():
            if per_device and not _slice_serves(device, node):
                continue
            key = (driver, pool, str(device.get("name", "")))
            found.append((key, cel.Device(driver, dict(device.get("attributes") or {}),
                                          dict(device.get("capacity") or {}))))
    return found


def _matches(request: Request, device: cel.Device, notes: list[str]) -> bool:
    for expression in request.selectors:
        try:
            if not cel.evaluate(expression, device):
                return False
        except cel.Unsupported as exc:
            note = (f"DRA selector `{expression}` (class {request.device_class}) is beyond what clusterdoc evaluates "
                    f"({exc}); devices were assumed to match it")
            if note not in notes:
                notes.append(note)
        except cel.RuntimeFailure as exc:
            note = (f"DRA selector `{expression}` fails on some devices ({exc}): the scheduler reports a CEL runtime "
                    "error for such a device; clusterdoc counts it as not matching")
            if note not in notes:
                notes.append(note)
            return False
    return True


def _allocate(request: Request, devices: list[tuple[DeviceKey, cel.Device]], objects: DraObjects,
              taken: set[DeviceKey], notes: list[str]) -> Blocker | None:
    """Take devices for one request on one node, or the blocker saying why none can be taken."""
    drivers = request.drivers
    published = [(key, device) for key, device in devices if not drivers or key[0] in drivers]
    what = f"claim {request.claim} request {request.name} (class {request.device_class})"
    if not published:
        source = f"driver {', '.join(sorted(drivers))}" if drivers else "no DRA driver"
        return Blocker(cat.DRA_NO_RESOURCE_SLICES, f"{what}: {source} publishes no devices (ResourceSlice) for this "
                       "node", NAME, ERR_CANNOT_ALLOCATE, resolvable=False)
    matching = [key for key, device in published if _matches(request, device, notes)]
    if not matching:
        return Blocker(cat.DRA_NO_MATCHING_DEVICE, f"{what}: none of the node's {len(published)} device(s) match "
                       f"{' && '.join(request.selectors) or 'the class'}", NAME, ERR_CANNOT_ALLOCATE, resolvable=False)
    free = [key for key in matching if key not in objects.allocated and key not in taken]
    need = len(matching) if request.all_devices else request.count
    if len(free) < need or (request.all_devices and len(free) < len(matching)):
        holders = sorted({objects.allocated[key] for key in matching if key in objects.allocated})
        return Blocker(cat.DRA_DEVICES_EXHAUSTED, f"{what}: {len(matching) - len(free)} of {len(matching)} matching "
                       f"device(s) already allocated (to {', '.join(holders[:3]) or 'this pod'}), {need} needed",
                       NAME, ERR_CANNOT_ALLOCATE, resolvable=False)
    taken.update(free[:need])
    return None


def filter_node(pod: PodInfo, node: NodeInfo, state: ClusterState, pre: DraPre) -> list[Blocker]:
    if pre.everywhere:
        return list(pre.everywhere)
    blockers: list[Blocker] = []
    for claim_name, terms in pre.allocated_on:
        if not any(node_term_matches(term, node.name, node.labels) for term in terms):
            blockers.append(Blocker(cat.RESOURCE_CLAIM_NODE_MISMATCH,
                                    f"claim {claim_name} is allocated on devices other nodes hold", NAME,
                                    ERR_NOT_AVAILABLE, resolvable=False))
    if blockers or not pre.requests:
        return blockers
    objects: DraObjects = state.dra
    devices = _node_devices(objects, node)
    taken: set[DeviceKey] = set()
    for alternatives in pre.requests:
        first_blocker: Blocker | None = None
        for request in alternatives:  # firstAvailable: the first subrequest that can be allocated is used
            trying = set(taken)
            blocker = _allocate(request, devices, objects, trying, pre.notes)
            if blocker is None:
                taken = trying
                break
            first_blocker = first_blocker or blocker
        else:
            assert first_blocker is not None
            if len(alternatives) > 1:
                others = ", ".join(r.name for r in alternatives[1:])
                first_blocker = replace(first_blocker, detail=f"{first_blocker.detail}; no other alternative "
                                                              f"fits either ({others})")
            return [first_blocker]
    return []


PLUGIN = Plugin(NAME, True, prefilter, filter_node,
                applies=lambda pod, pre: bool(pre.everywhere or pre.allocated_on or pre.requests))

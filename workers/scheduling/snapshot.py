"""The cluster state the filters need, read cheaply: nodes, per-node request sums, ports, volumes, labels.

Big lists are read page by page as plain dicts (``page_size=500``, ``allow_stale=True`` so the
API server may answer from its watch cache) and reduced on the fly to what the scheduler's
``NodeInfo`` keeps: requested resources and pod count per node, host ports in use, the PVCs the
node's pods use, and — only when the pod has inter-pod affinity or topology spread constraints —
the namespace, labels and node of each pod. Terminal pods are skipped (field selector
``status.phase!=Succeeded,status.phase!=Failed``, as kube-scheduler's own pod informer does).

Pods are read after the node-only checks ran (the node-only filters, and a request no larger than
the node's whole allocatable): not at all when no node survives them in a large cluster, per
surviving node (``spec.nodeName=``) when that takes fewer requests than listing every pod, and
otherwise in one paged list of all pods, decoded one pod at a time by the live client; pods on
nodes too small for the request are then not summed (:func:`_accounted_nodes`). A per-node read
that finds a fit is completed with every other pod's anti-affinity
(:func:`read_anti_affinity_elsewhere`).
"""

from __future__ import annotations

import functools
import math
import sys
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from clusterdoc.workers.cluster.base import Cluster, ClusterError, Forbidden, Obj
from clusterdoc.workers.gc_pause import gc_paused
from clusterdoc.workers.scheduling.inputs import Disk, HostPort, PodInfo, host_ports, inline_disks, pod_requests
from clusterdoc.workers.scheduling.quantities import QuantityError, to_int

ACTIVE_PODS = "status.phase!=Succeeded,status.phase!=Failed"
PAGE_SIZE = 500
PODS_PER_NODE_ESTIMATE = 25
"""Used to estimate how many pages a full pod list takes (the real count is unknown before reading)."""
SMALL_CLUSTER_PAGES = 4
"""At or below this many estimated pages, all pods are read so every node gets a complete answer."""
TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


@dataclass(slots=True)
class NodeInfo:
    """One node as the filters see it (the scheduler's ``NodeInfo``, reduced)."""

    name: str
    labels: dict[str, str]
    taints: list[dict[str, Any]]
    unschedulable: bool
    allocatable: dict[str, int]
    conditions: dict[str, str]
    requested: dict[str, int] = field(default_factory=dict)
    pod_count: int = 0
    used_ports: list[HostPort] = field(default_factory=list)
    claims: set[str] = field(default_factory=set)
    pods_known: bool = False
    disks: list[tuple[Disk, str]] = field(default_factory=list)
    """Inline disks of the node's pods, with the pod (``ns/name``) — only when the pod analysed has some."""

    @property
    def ready(self) -> str:
        return self.conditions.get("Ready", "Unknown")

    @classmethod
    def from_object(cls, node: Obj) -> NodeInfo:
        meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
        allocatable: dict[str, int] = {}
        for name, value in (status.get("allocatable") or {}).items():  # the scheduler reads allocatable only
            amount = _quantity(name, value)  # a node pool's nodes share a handful of distinct strings
            if amount is not None:
                allocatable[name] = amount
        return cls(
            name=meta.get("name", ""),
            labels=dict(meta.get("labels") or {}),
            taints=list(spec.get("taints") or ()),
            unschedulable=bool(spec.get("unschedulable")),
            allocatable=allocatable,
            conditions={c.get("type", ""): c.get("status", "Unknown") for c in status.get("conditions") or ()},
        )


@dataclass(slots=True)
class PodSummary:
    """An existing, assigned pod, kept only for inter-pod affinity and topology spread."""

    namespace: str
    name: str
    node: str
    labels: dict[str, str]
    """Empty when only its anti-affinity was kept (no filter reads the labels of those)."""
    anti_affinity_terms: list[dict[str, Any]]
    deleting: bool


@dataclass
class ClusterState:
    """Everything the filters read, gathered once per analysis."""

    nodes: list[NodeInfo]
    pods_mode: str = "none"
    """``all`` (every active pod read), ``per_node`` (pods of the surviving nodes), or ``none``."""
    labelled_pods: list[PodSummary] | None = None
    anti_affinity_pods: list[PodSummary] = field(default_factory=list)
    pvcs: dict[str, Obj] = field(default_factory=dict)
    pvs: dict[str, Obj] = field(default_factory=dict)
    storage_classes: dict[str, Obj] = field(default_factory=dict)
    csinodes: dict[str, Obj] = field(default_factory=dict)
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    pods_read: int = 0
    claim_users: dict[str, list[str]] = field(default_factory=dict)
    """``ns/pvc`` -> assigned pods (``ns/name``) using it, for the ReadWriteOncePod claims of the pods analysed."""
    limits: list[str] = field(default_factory=list)
    """What clusterdoc could not evaluate (e.g. a CEL selector beyond its subset), said once each."""
    unsummed_nodes: int = 0
    """Nodes whose pods a full read did not sum: too small for the request whatever runs on them."""
    dra: Any = None
    """The DynamicResources objects (``filters.dynamic_resources.DraObjects``) when a pod has resource claims."""

    def __post_init__(self) -> None:
        self.by_name = {node.name: node for node in self.nodes}


_QUANTITIES: dict[tuple[str, str], int] = {}
"""``(resource, text) -> int`` for the request strings seen while reading pods (a few dozen distinct ones)."""
_QUANTITIES_MAX = 10_000
"""Forget the cache beyond this many distinct strings (a worker lives for weeks; clusters do not need more)."""


def _quantity(name: Any, value: Any) -> int | None:
    """One quantity as an int (None if it is not one), each distinct string parsed once (``_QUANTITIES``)."""
    if isinstance(value, str):
        known = _QUANTITIES.get((name, value))
        if known is not None:
            return known
    try:
        parsed = to_int(name, value)
    except (QuantityError, TypeError, ValueError):
        return None
    if isinstance(name, str) and isinstance(value, str):
        if len(_QUANTITIES) >= _QUANTITIES_MAX:
            _QUANTITIES.clear()
        _QUANTITIES[(sys.intern(name), sys.intern(value))] = parsed
    return parsed


def _column(length: int) -> array[int]:
    """``length`` zeros as 64-bit integers: one per node, in the order of the nodes accounted."""
    return array("q", bytes(8 * length))


def _add(requested: dict[str, int], name: str, amount: int) -> None:
    requested[sys.intern(name)] = requested.get(name, 0) + amount


def _add_pod_general(node: NodeInfo, spec: dict[str, Any]) -> None:
    """A pod with init containers, overhead or pod-level resources: the scheduler's full request rule."""
    for name, value in pod_requests(spec).items():
        _add(node.requested, name, value)
    node.used_ports.extend(host_ports(spec))


def _claims_of(spec: dict[str, Any], namespace: str, pod_name: str) -> Iterable[str]:
    """``ns/claim`` of every PVC a pod uses: its ``persistentVolumeClaim`` volumes and the PVCs its generic
    ephemeral volumes get (``<pod>-<volume>``), as NodeVolumeLimits counts them."""
    for volume in spec.get("volumes") or ():
        claim = volume.get("persistentVolumeClaim")
        if claim and claim.get("claimName"):
            yield f"{namespace}/{claim['claimName']}"
        elif volume.get("ephemeral") and volume.get("name"):
            yield f"{namespace}/{pod_name}-{volume['name']}"


def _interned(value: Any) -> Any:
    """A copy of decoded JSON with interned strings: labels of 300,000 pods share their keys and values."""
    if isinstance(value, dict):
        return {sys.intern(k): _interned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_interned(v) for v in value]
    if isinstance(value, str):
        return sys.intern(value)
    return value


_EMPTY: dict[str, Any] = {}


@dataclass(frozen=True)
class Wanted:
    """What the pods analysed make worth reading from every other pod."""

    resources: tuple[str, ...] = ()
    """The resources they request (NodeResourcesFit compares only those): the only ones summed per node."""
    ports: bool = False
    """They ask for host ports: the other pods' host ports are collected (NodePorts)."""
    labels: bool = False
    claims: bool = False
    disks: bool = False

    @classmethod
    def of(cls, pods: list[PodInfo]) -> Wanted:
        from clusterdoc.workers.scheduling.filters.node_resources_fit import checked_resources

        return cls(resources=tuple(sorted({name for pod in pods for name in checked_resources(pod, None)})),
                   ports=any(pod.ports for pod in pods), labels=any(pod.needs_pod_labels for pod in pods),
                   claims=any(pod.claim_names for pod in pods), disks=any(pod.disks for pod in pods))


class _PodReader:
    """Feeds listed pods into the node infos and keeps the summaries affinity needs."""

    def __init__(self, state: ClusterState, pods: list[PodInfo], wanted: Wanted):
        self.state, self.wanted = state, wanted
        self.skip = {(pod.namespace, pod.name) for pod in pods}
        if wanted.labels:
            state.labelled_pods = []

    def feed(self, pods: Iterable[Obj], accounted: dict[str, NodeInfo]) -> None:
        """Account every assigned, non-terminal pod of ``pods`` on its node: requests, pod count, host ports.

        Only pods on ``accounted`` nodes are summed; of the others only the anti-affinity of existing
        pods is kept (it reaches every node of its topology domain).

        This is why-pending's hot loop (a 5,000-node cluster means 150,000 pods for one answer), so it
        is written for CPython's speed: locals only, and the common pod — app containers, no init
        containers, overhead or pod-level resources — summed inline, only for the resources the pods
        analysed request (``Wanted.resources``: NodeResourcesFit compares no other), with each distinct
        request string parsed once (``_QUANTITIES``). :func:`_add_pod_general` takes the rest with the
        scheduler's full rule (``pod_requests``). A pod is not kept: the live client decodes pods one at a
        time, and only the few parts :meth:`_keep` keeps outlive the loop. Host ports are collected only
        when a pod analysed asks for one, and then whatever a container's resources
        (``schedutil.GetHostPorts``: app and restartable init containers).
        """
        nodes = list(accounted.values())
        index = {node.name: position for position, node in enumerate(nodes)}
        counts = _column(len(nodes))
        summed = tuple((name, _column(len(nodes))) for name in self.wanted.resources)  # by node position
        terminal, cache, skip = TERMINAL_PHASES, _QUANTITIES, self.skip
        skip_namespaces = {namespace for namespace, _ in skip}
        want_ports = self.wanted.ports
        keep_more = self.wanted.labels or self.wanted.claims or self.wanted.disks
        read = 0
        for pod in pods:
            read += 1
            spec = pod.get("spec")
            if not spec:
                continue
            position = index.get(spec.get("nodeName") or "")
            if position is None:
                if "affinity" in spec:
                    self._keep_elsewhere(pod, spec)
                continue
            status = pod.get("status")
            if status and status.get("phase") in terminal:
                continue
            meta = pod.get("metadata") or _EMPTY
            if meta.get("namespace") in skip_namespaces and (meta.get("namespace"), meta.get("name")) in skip:
                continue  # a pod being analysed (bound since it was read, say) does not compete with itself
            counts[position] += 1
            if "initContainers" in spec or "overhead" in spec or "resources" in spec:
                _add_pod_general(nodes[position], spec)
            else:
                for container in spec.get("containers") or ():
                    if want_ports and "ports" in container:
                        nodes[position].used_ports.extend(host_ports({"containers": [container]}))
                    resources = container.get("resources")
                    if not resources:
                        continue
                    requests = resources.get("requests") or _EMPTY
                    for name, column in summed:
                        value = requests.get(name)
                        if value is None:  # a limit alone is the request (the API server's defaulting)
                            value = (resources.get("limits") or _EMPTY).get(name)
                            if value is None:
                                continue
                        try:
                            amount = cache.get((name, value))
                        except TypeError:  # not a string: not a quantity either
                            amount = None
                        if amount is None:
                            amount = _quantity(name, value)
                            if amount is None:
                                continue
                        try:
                            column[position] += amount
                        except OverflowError:  # beyond 64 bits (a nonsense request): Python's ints take it
                            _add(nodes[position].requested, name, amount)
            if keep_more or "affinity" in spec:
                self._keep(nodes[position], spec, meta)
        for name, column in summed:
            for node, amount in zip(nodes, column, strict=True):
                if amount:
                    _add(node.requested, name, amount)
        for node, count in zip(nodes, counts, strict=True):
            node.pod_count += count
        self.state.pods_read += read

    def _keep_elsewhere(self, pod: Obj, spec: dict[str, Any]) -> None:
        """A pod on a node that is not accounted: only its anti-affinity matters (to the nodes around it)."""
        node = self.state.by_name.get(spec.get("nodeName") or "")
        meta = pod.get("metadata") or _EMPTY
        if (node is None or node.pods_known or (pod.get("status") or _EMPTY).get("phase") in TERMINAL_PHASES
                or (meta.get("namespace"), meta.get("name")) in self.skip):
            return
        self._keep(node, spec, meta, accounted=False)

    def _keep(self, node: NodeInfo, spec: dict[str, Any], meta: dict[str, Any], accounted: bool = True) -> None:
        """What only some analyses need: claims, inline disks, labels, existing pods' anti-affinity terms."""
        state, wanted, namespace = self.state, self.wanted, str(meta.get("namespace", ""))
        if accounted and wanted.claims:
            node.claims.update(_claims_of(spec, namespace, str(meta.get("name", ""))))
        if accounted and wanted.disks and spec.get("volumes"):
            node.disks.extend((disk, f"{namespace}/{meta.get('name', '')}") for disk in inline_disks(spec))
        anti = (spec.get("affinity") or _EMPTY).get("podAntiAffinity")
        required = anti.get("requiredDuringSchedulingIgnoredDuringExecution") if anti else None
        anti_terms: list[dict[str, Any]] = list(required) if required else []
        if wanted.labels or anti_terms:
            labels = _interned(meta.get("labels") or {}) if wanted.labels else {}  # anti-affinity alone: unread
            summary = PodSummary(
                sys.intern(namespace), str(meta.get("name", "")), node.name, labels, anti_terms,
                bool(meta.get("deletionTimestamp")),
            )
            if wanted.labels:
                state.labelled_pods.append(summary)  # type: ignore[union-attr]
            if anti_terms:
                state.anti_affinity_pods.append(summary)


def read_nodes(cluster: Cluster) -> list[NodeInfo]:
    """Every node, reduced, sorted by name."""
    with gc_paused():
        nodes = [NodeInfo.from_object(obj) for obj in cluster.list("Node", page_size=PAGE_SIZE, allow_stale=True)]
    return sorted(nodes, key=lambda node: node.name)


def choose_pods_mode(node_count: int, candidates: int, needs_labels: bool) -> str:
    """``all``, ``per_node`` or ``none``: whichever answers with the fewest requests."""
    all_pages = max(1, math.ceil(node_count * PODS_PER_NODE_ESTIMATE / PAGE_SIZE))
    if needs_labels or all_pages <= SMALL_CLUSTER_PAGES or candidates >= all_pages:
        return "all"
    if candidates == 0:
        return "none"
    return "per_node"


def _index(objects: Iterable[Obj], namespaced: bool = False) -> dict[str, Obj]:
    index: dict[str, Obj] = {}
    for obj in objects:
        meta = obj.get("metadata") or {}
        key = f"{meta.get('namespace', '')}/{meta.get('name', '')}" if namespaced else meta.get("name", "")
        index[key] = obj
    return index


def _attach_limits(state: ClusterState) -> bool:
    """Whether any CSINode declares a volume attach limit (then every PVC in the cluster may count)."""
    return any((driver.get("allocatable") or {}).get("count") is not None
               for csinode in state.csinodes.values() for driver in (csinode.get("spec") or {}).get("drivers") or ())


def _claims_in(cluster: Cluster, namespace: str) -> dict[str, Obj]:
    return _index(cluster.list("PersistentVolumeClaim", namespace, page_size=PAGE_SIZE), namespaced=True)


def _optional(state: ClusterState, what: str, read: Callable[[], dict[str, Obj]]) -> dict[str, Obj]:
    """Read an auxiliary list; a 403 becomes a note instead of failing the whole analysis."""
    try:
        return read()
    except Forbidden as exc:
        state.notes.append(f"could not read {what}: {exc}")
        return {}


def gather(
    cluster: Cluster,
    pods: list[PodInfo],
    candidates_of: Callable[[ClusterState], list[NodeInfo]],
    nodes: list[NodeInfo] | None = None,
) -> ClusterState:
    """Read what the filters need for ``pods`` (pending pods of one target) with as few requests as possible.

    ``candidates_of`` runs the node-only filters over the state read so far (nodes, volumes) and
    returns the nodes that pass them for at least one of the pods.
    """
    state = ClusterState(nodes if nodes is not None else read_nodes(cluster))
    wanted = Wanted.of(pods)
    if wanted.claims:
        state.csinodes = _optional(state, "csinodes", lambda: _index(
            cluster.list("CSINode", page_size=PAGE_SIZE, allow_stale=True)))
        if _attach_limits(state):  # NodeVolumeLimits counts every pod's volumes, whatever its namespace
            state.pvcs = _optional(state, "persistentvolumeclaims", lambda: _index(cluster.list(
                "PersistentVolumeClaim", page_size=PAGE_SIZE, allow_stale=True), namespaced=True))
        else:
            for namespace in sorted({pod.namespace for pod in pods}):
                state.pvcs.update(_optional(state, "persistentvolumeclaims", functools.partial(
                    _claims_in, cluster, namespace)))
        state.pvs = _optional(state, "persistentvolumes", lambda: _index(
            cluster.list("PersistentVolume", page_size=PAGE_SIZE, allow_stale=True)))
        state.storage_classes = _optional(state, "storageclasses", lambda: _index(
            cluster.list("StorageClass", page_size=PAGE_SIZE)))
    namespaces_read = False
    if any(pod.needs_namespaces for pod in pods):
        _read_namespace_labels(cluster, state)
        namespaces_read = True
    _read_rwop_users(cluster, state, pods)
    if any(pod.resource_claims for pod in pods):
        from clusterdoc.workers.scheduling.filters.dynamic_resources import read_dra_objects

        state.dra = read_dra_objects(cluster, state, sorted({pod.namespace for pod in pods}))
    candidates = candidates_of(state)
    state.pods_mode = choose_pods_mode(len(state.nodes), len(candidates), wanted.labels)
    reader = _PodReader(state, pods, wanted)
    if state.pods_mode == "all":
        accounted = _accounted_nodes(state, pods, wanted)
        with gc_paused():
            reader.feed(cluster.list("Pod", field_selector=ACTIVE_PODS, page_size=PAGE_SIZE, allow_stale=True),
                        accounted)
        for node in accounted.values():
            node.pods_known = True
        state.unsummed_nodes = len(state.nodes) - len(accounted)
    elif state.pods_mode == "per_node":
        for node in candidates:
            reader.feed(cluster.list(
                "Pod", field_selector=f"spec.nodeName={node.name},{ACTIVE_PODS}", page_size=PAGE_SIZE, allow_stale=True
            ), {node.name: node})
            node.pods_known = True
        state.notes.append(
            f"pods were read only for the {len(candidates)} node(s) that pass the node-level checks; "
            "free-resource, port and volume checks were skipped on the others"
        )
    else:
        state.notes.append("no node passes the node-level checks (taints, cordons, selectors, volumes, a request "
                           "no larger than the node's allocatable), so pods on nodes were not read")
    if not namespaces_read:
        _read_namespaces_for_existing_anti_affinity(cluster, state)
    return state


def read_anti_affinity_elsewhere(cluster: Cluster, state: ClusterState, pods: list[PodInfo]) -> None:
    """After a per-node read: the required anti-affinity of pods on every other node, read once.

    Per-node reads saw only the candidates' pods, but an existing pod's required anti-affinity
    reaches every node of its topology domain (a zone, a region): a pod on a tainted node next door
    can still keep ours off a candidate. Anti-affinity can only take a fit away, so this is read
    only when a candidate seems to fit (the caller's test): one paged LIST of all pods, keeping
    nothing but those terms.
    """
    reader = _PodReader(state, pods, Wanted())
    try:
        with gc_paused():
            reader.feed(cluster.list("Pod", field_selector=ACTIVE_PODS, page_size=PAGE_SIZE, allow_stale=True), {})
    except ClusterError as exc:
        state.notes.append(f"could not read the other nodes' pods for their anti-affinity ({exc}): a node said to "
                           "fit may still be ruled out by an existing pod's anti-affinity elsewhere in its zone")
        return
    state.notes.append("a node seemed to fit, so every pod was read once more for existing pods' anti-affinity")
    if not state.namespace_labels:
        _read_namespaces_for_existing_anti_affinity(cluster, state)


def _read_namespaces_for_existing_anti_affinity(cluster: Cluster, state: ClusterState) -> None:
    """An existing pod's anti-affinity may select namespaces by label: ours may be one of them."""
    if any(term.get("namespaceSelector") for existing in state.anti_affinity_pods
           for term in existing.anti_affinity_terms):
        _read_namespace_labels(cluster, state)


def unsummed_note(count: int) -> str:
    return (f"every pod; those on the {count} node(s) whose whole allocatable is below the request were not "
            "summed: nothing on them can make room")


def _accounted_nodes(state: ClusterState, pods: list[PodInfo], wanted: Wanted) -> dict[str, NodeInfo]:
    """The nodes whose pods a full read sums: all, but in a large cluster not those too small for every pod.

    NodeResourcesFit fails on a node whose whole allocatable is below the request whatever runs on it,
    so summing its pods (half the work when half the fleet is a smaller instance type) changes no
    verdict. Kept whole: small clusters (every node gets a complete answer), pods asking for host
    ports (NodePorts runs before NodeResourcesFit: a port conflict would be the scheduler's reason
    there) and pods that need every pod's labels (affinity, spread).
    """
    from clusterdoc.workers.scheduling.filters.node_resources_fit import checked_resources, fits_allocatable

    small = choose_pods_mode(len(state.nodes), 0, False) == "all"
    if small or wanted.labels or wanted.ports:
        return state.by_name
    asked = [(pod, checked_resources(pod, None)) for pod in pods]
    return {node.name: node for node in state.nodes
            if any(fits_allocatable(pod, node, resources) for pod, resources in asked)}


def _read_rwop_users(cluster: Cluster, state: ClusterState, pods: list[PodInfo]) -> None:
    """Which assigned pods use the ReadWriteOncePod PVCs of ``pods`` (one pod LIST per namespace involved)."""
    wanted: dict[str, set[str]] = {}
    for pod in pods:
        for claim in pod.claim_names:
            pvc = state.pvcs.get(f"{pod.namespace}/{claim}") or {}
            if "ReadWriteOncePod" in ((pvc.get("spec") or {}).get("accessModes") or ()):
                wanted.setdefault(pod.namespace, set()).add(claim)
    for namespace, claims in sorted(wanted.items()):
        try:
            listed = cluster.list("Pod", namespace, field_selector=ACTIVE_PODS, page_size=PAGE_SIZE)
            for other in listed:
                spec, meta = other.get("spec") or {}, other.get("metadata") or {}
                if not spec.get("nodeName"):
                    continue
                for volume in spec.get("volumes") or ():
                    claim = str((volume.get("persistentVolumeClaim") or {}).get("claimName") or "")
                    if claim in claims:
                        state.claim_users.setdefault(f"{namespace}/{claim}", []).append(
                            f"{namespace}/{meta.get('name', '')}")
        except ClusterError as exc:
            state.notes.append(f"could not read the pods of namespace {namespace} for ReadWriteOncePod claims: {exc}")


def _read_namespace_labels(cluster: Cluster, state: ClusterState) -> None:
    """Labels of every namespace, for ``namespaceSelector`` terms (the pod's own or existing pods')."""
    try:
        state.namespace_labels = {
            (ns.get("metadata") or {}).get("name", ""): dict((ns.get("metadata") or {}).get("labels") or {})
            for ns in cluster.list("Namespace", page_size=PAGE_SIZE)
        }
    except ClusterError as exc:
        state.notes.append(f"could not read namespaces for namespaceSelector terms: {exc}")

"""What a pod asks of a node, read once from its spec: requests, tolerations, affinity, ports, volumes.

The effective request follows kube-scheduler (``k8s.io/component-helpers/resource.PodRequests``,
used by ``noderesources/fit.go``): the sum of the app containers plus restartable init
("sidecar") containers, or the largest init container (plus the sidecars started before it)
if that is bigger, plus the pod overhead; pod-level ``spec.resources.requests`` replace the
container sum for the resources they name. Requests are integers: millicores for CPU, whole
units for everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.scheduling.quantities import QuantityError, to_int

DEFAULT_SCHEDULER = "default-scheduler"
HOSTNAME_LABEL = "kubernetes.io/hostname"


def _requests_of(container: dict[str, Any]) -> dict[str, int]:
    resources = container.get("resources") or {}
    raw = resources.get("requests") or resources.get("limits") or {}
    if resources.get("requests") and resources.get("limits"):
        # the API server defaults a missing request to its limit, per resource
        raw = {**resources["limits"], **resources["requests"]}
    parsed: dict[str, int] = {}
    for name, value in raw.items():
        try:
            parsed[name] = to_int(name, value)
        except (QuantityError, TypeError):
            continue
    return parsed


def _add(into: dict[str, int], more: dict[str, int]) -> None:
    for name, value in more.items():
        into[name] = into.get(name, 0) + value


def _max(into: dict[str, int], other: dict[str, int]) -> None:
    for name, value in other.items():
        if value > into.get(name, 0):
            into[name] = value


def pod_requests(spec: dict[str, Any]) -> dict[str, int]:
    """The effective resource request of a pod spec, as the scheduler computes it."""
    total: dict[str, int] = {}
    for container in spec.get("containers") or ():
        if container.get("resources"):
            _add(total, _requests_of(container))
    init_containers = spec.get("initContainers")
    if init_containers:
        sidecars: dict[str, int] = {}
        init_peak: dict[str, int] = {}
        for container in init_containers:
            own = _requests_of(container)
            if container.get("restartPolicy") == "Always":
                _add(total, own)
                _add(sidecars, own)
                current = dict(sidecars)
            else:
                current = dict(sidecars)
                _add(current, own)
            _max(init_peak, current)
        _max(total, init_peak)
    pod_level = (spec.get("resources") or {}).get("requests")
    if pod_level:
        for name, value in pod_level.items():
            try:
                total[name] = to_int(name, value)
            except (QuantityError, TypeError):
                continue
    overhead = spec.get("overhead")
    if overhead:
        for name, value in overhead.items():
            try:
                total[name] = total.get(name, 0) + to_int(name, value)
            except (QuantityError, TypeError):
                continue
    return total


HostPort = tuple[str, str, int]
"""``(hostIP, protocol, hostPort)``; hostIP ``0.0.0.0`` when unset."""


def host_ports(spec: dict[str, Any]) -> list[HostPort]:
    """Host ports a pod claims (containers and restartable init containers)."""
    ports: list[HostPort] = []
    containers = list(spec.get("containers") or ())
    containers += [c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
    for container in containers:
        for port in container.get("ports") or ():
            host_port = port.get("hostPort")
            if host_port:
                ports.append((port.get("hostIP") or "0.0.0.0", port.get("protocol") or "TCP", int(host_port)))
    return ports


Disk = tuple[str, str, bool, tuple[str, ...]]
"""An inline disk volume VolumeRestrictions compares: ``(kind, identity, readOnly, ceph monitors)``."""

DISK_KINDS = ("gcePersistentDisk", "awsElasticBlockStore", "iscsi", "rbd")


def inline_disks(spec: dict[str, Any]) -> list[Disk]:
    """The pod's inline GCE PD, AWS EBS, iSCSI and RBD volumes (``volumerestrictions.isVolumeConflict``)."""
    disks: list[Disk] = []
    for volume in spec.get("volumes") or ():
        for kind in DISK_KINDS:
            source = volume.get(kind)
            if not source:
                continue
            read_only = bool(source.get("readOnly"))
            if kind == "gcePersistentDisk":
                disks.append((kind, str(source.get("pdName", "")), read_only, ()))
            elif kind == "awsElasticBlockStore":
                disks.append((kind, str(source.get("volumeID", "")), read_only, ()))
            elif kind == "iscsi":
                disks.append((kind, str(source.get("iqn", "")), read_only, ()))
            else:  # rbd: pool defaults to "rbd"
                identity = f"{source.get('pool') or 'rbd'}/{source.get('image', '')}"
                disks.append((kind, identity, read_only, tuple(source.get("monitors") or ())))
    return disks


@dataclass
class PodInfo:
    """The scheduling-relevant parts of the pod being analysed."""

    obj: Obj
    name: str
    namespace: str
    labels: dict[str, str]
    node_name: str
    scheduler_name: str
    priority: int | None
    priority_class: str
    tolerations: list[dict[str, Any]]
    node_selector: dict[str, str]
    required_node_terms: list[dict[str, Any]] | None
    requests: dict[str, int]
    ports: list[HostPort]
    claim_names: list[str]
    affinity_terms: list[dict[str, Any]] = field(default_factory=list)
    anti_affinity_terms: list[dict[str, Any]] = field(default_factory=list)
    spread_constraints: list[dict[str, Any]] = field(default_factory=list)
    scheduling_gates: list[str] = field(default_factory=list)
    disks: list[Disk] = field(default_factory=list)
    resource_claims: list[dict[str, Any]] = field(default_factory=list)
    """``spec.resourceClaims`` (DRA): each names a ResourceClaim or a ResourceClaimTemplate."""
    claim_statuses: dict[str, str | None] = field(default_factory=dict)
    """``status.resourceClaimStatuses``: pod claim name -> generated ResourceClaim name (None: none needed)."""
    ephemeral_claims: frozenset[str] = frozenset()
    """The PVCs of ``claim_names`` a generic ephemeral volume asks the ephemeral volume controller to create."""

    @property
    def needs_pod_labels(self) -> bool:
        """Whether inter-pod affinity or topology spread need other pods' labels."""
        return bool(self.affinity_terms or self.anti_affinity_terms or self.spread_constraints)

    @property
    def needs_namespaces(self) -> bool:
        return any(term.get("namespaceSelector") is not None
                   for term in self.affinity_terms + self.anti_affinity_terms)

    @classmethod
    def from_object(cls, pod: Obj) -> PodInfo:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        affinity = spec.get("affinity") or {}
        node_affinity = (affinity.get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
        pod_affinity = affinity.get("podAffinity") or {}
        pod_anti = affinity.get("podAntiAffinity") or {}
        claims, ephemeral = [], []  # in spec order, as podHasPVCs walks them
        for volume in spec.get("volumes") or ():
            if (volume.get("persistentVolumeClaim") or {}).get("claimName"):
                claims.append(volume["persistentVolumeClaim"]["claimName"])
            elif volume.get("ephemeral"):  # a generic ephemeral volume gets a PVC named <pod>-<volume>
                ephemeral.append(f"{meta.get('name', '')}-{volume.get('name', '')}")
                claims.append(ephemeral[-1])
        return cls(
            obj=pod,
            name=meta.get("name", ""),
            namespace=meta.get("namespace", "default"),
            labels=dict(meta.get("labels") or {}),
            node_name=spec.get("nodeName") or "",
            scheduler_name=spec.get("schedulerName") or DEFAULT_SCHEDULER,
            priority=spec.get("priority"),
            priority_class=spec.get("priorityClassName") or "",
            tolerations=list(spec.get("tolerations") or ()),
            node_selector=dict(spec.get("nodeSelector") or {}),
            required_node_terms=(
                list(node_affinity.get("nodeSelectorTerms") or []) if node_affinity is not None else None
            ),
            requests=pod_requests(spec),
            ports=host_ports(spec),
            claim_names=claims,
            ephemeral_claims=frozenset(ephemeral),
            affinity_terms=list(pod_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or ()),
            anti_affinity_terms=list(pod_anti.get("requiredDuringSchedulingIgnoredDuringExecution") or ()),
            spread_constraints=[
                c for c in spec.get("topologySpreadConstraints") or ()
                if (c.get("whenUnsatisfiable") or "DoNotSchedule") == "DoNotSchedule"
            ],
            scheduling_gates=[gate.get("name", "") for gate in spec.get("schedulingGates") or ()],
            disks=inline_disks(spec),
            resource_claims=list(spec.get("resourceClaims") or ()),
            claim_statuses={
                entry.get("name", ""): entry.get("resourceClaimName")
                for entry in (pod.get("status") or {}).get("resourceClaimStatuses") or ()
            },
        )

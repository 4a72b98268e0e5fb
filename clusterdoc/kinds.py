"""The Kubernetes kinds clusterdoc reads: REST paths, scope and the kubectl short names.

One table serves the command parser (``deploy/web``), both cluster backends and the fake API
server in the tests, so a kind is spelled the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """A resource type: ``Kind`` name, API group/version, plural and whether it is namespaced."""

    kind: str
    group_version: str
    plural: str
    namespaced: bool
    aliases: tuple[str, ...] = ()

    @property
    def api_prefix(self) -> str:
        """``/api/v1`` for the core group, ``/apis/apps/v1`` otherwise."""
        return "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"

    def collection_path(self, namespace: str | None = None) -> str:
        """The LIST path, across all namespaces when ``namespace`` is None."""
        if self.namespaced and namespace:
            return f"{self.api_prefix}/namespaces/{namespace}/{self.plural}"
        return f"{self.api_prefix}/{self.plural}"

    def object_path(self, name: str, namespace: str | None = None) -> str:
        """The GET path of one object."""
        return f"{self.collection_path(namespace if self.namespaced else None)}/{name}"


KINDS: tuple[Kind, ...] = (
    Kind("Pod", "v1", "pods", True, ("po", "pod")),
    Kind("Node", "v1", "nodes", False, ("no", "node")),
    Kind("Event", "v1", "events", True, ("ev", "event")),
    Kind("Namespace", "v1", "namespaces", False, ("ns", "namespace")),
    Kind("PersistentVolumeClaim", "v1", "persistentvolumeclaims", True, ("pvc",)),
    Kind("PersistentVolume", "v1", "persistentvolumes", False, ("pv",)),
    Kind("ConfigMap", "v1", "configmaps", True, ("cm", "configmap")),
    Kind("Secret", "v1", "secrets", True, ("secret",)),
    Kind("Service", "v1", "services", True, ("svc", "service")),
    Kind("ResourceQuota", "v1", "resourcequotas", True, ("quota", "resourcequota")),
    Kind("LimitRange", "v1", "limitranges", True, ("limits", "limitrange")),
    Kind("Deployment", "apps/v1", "deployments", True, ("deploy", "deployment")),
    Kind("ReplicaSet", "apps/v1", "replicasets", True, ("rs", "replicaset")),
    Kind("StatefulSet", "apps/v1", "statefulsets", True, ("sts", "statefulset")),
    Kind("DaemonSet", "apps/v1", "daemonsets", True, ("ds", "daemonset")),
    Kind("Job", "batch/v1", "jobs", True, ("job",)),
    Kind("CronJob", "batch/v1", "cronjobs", True, ("cj", "cronjob")),
    Kind("StorageClass", "storage.k8s.io/v1", "storageclasses", False, ("sc", "storageclass")),
    Kind("CSINode", "storage.k8s.io/v1", "csinodes", False, ("csinode",)),
    Kind("Lease", "coordination.k8s.io/v1", "leases", True, ("lease",)),
    Kind("PriorityClass", "scheduling.k8s.io/v1", "priorityclasses", False, ("pc", "priorityclass")),
    Kind("PodDisruptionBudget", "policy/v1", "poddisruptionbudgets", True, ("pdb",)),
    Kind("ResourceClaim", "resource.k8s.io/v1", "resourceclaims", True, ("resourceclaim",)),
    Kind("ResourceClaimTemplate", "resource.k8s.io/v1", "resourceclaimtemplates", True, ("resourceclaimtemplate",)),
    Kind("DeviceClass", "resource.k8s.io/v1", "deviceclasses", False, ("deviceclass",)),
    Kind("ResourceSlice", "resource.k8s.io/v1", "resourceslices", False, ("resourceslice",)),
)

_BY_NAME: dict[str, Kind] = {}
for _kind in KINDS:
    for _alias in (_kind.kind.lower(), _kind.plural, *_kind.aliases):
        _BY_NAME[_alias] = _kind


def lookup(name: str) -> Kind | None:
    """The kind for a kubectl spelling (``deploy``, ``deployments``, ``Deployment``), or None."""
    return _BY_NAME.get(name.lower())


def by_kind(kind: str) -> Kind:
    """The kind for its ``Kind`` name (``Pod``); KeyError names the kind when unknown."""
    found = _BY_NAME.get(kind.lower())
    if found is None:
        raise KeyError(f"unknown kind {kind!r}")
    return found


def by_api(api_version: str, plural: str) -> Kind | None:
    """The kind served at ``api_version``/``plural`` (used by the fake API server)."""
    for kind in KINDS:
        if kind.group_version == api_version and kind.plural == plural:
            return kind
    return None


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")

NEVER_READ_KINDS = frozenset({"Secret"})
"""Kinds clusterdoc never diagnoses, whatever asks (a Secret's data must never reach a chat)."""

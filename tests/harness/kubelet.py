"""The tests play the kubelet: Nodes as API objects, node Leases, pod status through ``/status``.

The test control plane has no kubelet. :func:`register_node` creates a Node with capacity,
allocatable and a Ready condition (the kubelet's own registration: create, then status) and its
Lease in ``kube-node-lease``; :func:`renew_lease` heartbeats it; :func:`set_pod_running` writes a
Running/Ready (or Running/not-ready) pod status as a kubelet would. :class:`FakeKubelet` does the
last two continuously in a thread for the nodes it owns: pods the real scheduler binds there
become Running and Ready, pods being deleted gracefully are finished (``gracePeriodSeconds=0``
with a UID precondition, what the kubelet does once containers stopped), and leases are renewed.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from tests.harness.kube_rest import ApiError, KubeRest, Obj

KUBELET_VERSION = "v1.37.2"


def now_rfc3339(micro: bool = False) -> str:
    stamp = datetime.now(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if micro else stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def node_object(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: str = "110",
                ephemeral_storage: str = "50Gi", extra: dict[str, str] | None = None,
                labels: dict[str, str] | None = None, taints: list[Obj] | None = None,
                unschedulable: bool = False) -> Obj:
    """A Node as a kubelet registers it (spec and metadata; status comes with :func:`node_status`)."""
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", **(labels or {})},
        },
        "spec": spec,
        "status": node_status(cpu=cpu, memory=memory, pods=pods, ephemeral_storage=ephemeral_storage, extra=extra),
    }


def node_status(*, cpu: str = "4", memory: str = "8Gi", pods: str = "110", ephemeral_storage: str = "50Gi",
                extra: dict[str, str] | None = None, ready: bool = True) -> Obj:
    """Capacity = allocatable, a Ready (or NotReady) condition, the pressure conditions False."""
    resources = {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": ephemeral_storage, **(extra or {})}
    stamp = now_rfc3339()

    def condition(kind: str, status: str, reason: str) -> Obj:
        return {"type": kind, "status": status, "reason": reason, "message": f"fake kubelet: {reason}",
                "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}

    return {
        "capacity": resources,
        "allocatable": resources,
        "conditions": [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID"),
            condition("Ready", "True" if ready else "False", "KubeletReady" if ready else "KubeletNotReady"),
        ],
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "nodeInfo": {
            "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION,
            "containerRuntimeVersion": "fake://1.0", "operatingSystem": "linux", "architecture": "amd64",
            "osImage": "clusterdoc test node", "kernelVersion": "6.1", "machineID": "", "systemUUID": "",
            "bootID": "",
        },
    }


def register_node(api: KubeRest, node: Obj) -> Obj:
    """Create the Node, write its status through ``/status`` and create its Lease; returns the Node."""
    status = node.get("status")
    created = api.create({k: v for k, v in node.items() if k != "status"})
    if status:
        created = api.patch("v1", "Node", node["metadata"]["name"], {"status": status}, subresource="status")
    renew_lease(api, node["metadata"]["name"], owner_uid=created["metadata"]["uid"])
    return created


def renew_lease(api: KubeRest, node_name: str, *, owner_uid: str | None = None, duration: int = 40) -> Obj:
    """Create or renew ``kube-node-lease/<node>`` with ``renewTime`` now (the kubelet's heartbeat)."""
    stamp = now_rfc3339(micro=True)
    try:
        return api.patch("coordination.k8s.io/v1", "Lease", node_name, {"spec": {"renewTime": stamp}},
                         "kube-node-lease")
    except ApiError as exc:
        if exc.status != 404:
            raise
    meta: Obj = {"name": node_name, "namespace": "kube-node-lease"}
    if owner_uid:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": owner_uid}]
    return api.create({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                       "spec": {"holderIdentity": node_name, "leaseDurationSeconds": duration,
                                "renewTime": stamp}})


def running_status(pod: Obj, *, ready: bool = True, restarts: int = 0) -> Obj:
    """The status a kubelet reports for ``pod`` once its containers run (Ready or not)."""
    stamp = now_rfc3339()
    flag = "True" if ready else "False"
    containers = pod["spec"]["containers"]
    return {
        "phase": "Running",
        "hostIP": "127.0.0.1",
        "podIP": "10.244.0.10",
        "startTime": stamp,
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": stamp},
            {"type": "Initialized", "status": "True", "lastTransitionTime": stamp},
            {"type": "ContainersReady", "status": flag, "lastTransitionTime": stamp},
            {"type": "Ready", "status": flag, "lastTransitionTime": stamp},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp},
        ],
        "containerStatuses": [
            {"name": c["name"], "image": c["image"], "imageID": f"fake://{c['image']}",
             "containerID": f"fake://{pod['metadata']['uid'][:8]}-{c['name']}",
             "ready": ready, "started": True, "restartCount": restarts,
             "state": {"running": {"startedAt": stamp}}}
            for c in containers
        ],
    }


def set_pod_running(api: KubeRest, pod: Obj, *, ready: bool = True, restarts: int = 0) -> Obj:
    """Write :func:`running_status` through the pod's ``/status`` subresource."""
    meta = pod["metadata"]
    return api.patch("v1", "Pod", meta["name"], {"status": running_status(pod, ready=ready, restarts=restarts)},
                     meta["namespace"], subresource="status")


def finish_deletion(api: KubeRest, pod: Obj) -> None:
    """Remove a gracefully deleted pod as its kubelet would (grace 0, only this UID)."""
    meta = pod["metadata"]
    try:
        api.delete("v1", "Pod", meta["name"], meta["namespace"],
                   {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}})
    except ApiError as exc:
        if exc.status not in (404, 409):
            raise


class FakeKubelet:
    """A thread that keeps the pods on ``nodes`` running and their leases fresh.

    Every ``interval`` seconds it lists the pods bound to its nodes: the pending ones become
    Running/Ready (unless :meth:`hold` names them), the terminating ones are finished. Leases are
    renewed every ``lease_every`` seconds. Stop it with :meth:`stop` (or use as context manager).
    """

    def __init__(self, api: KubeRest, nodes: set[str] | None = None, *, interval: float = 0.2,
                 lease_every: float = 10.0) -> None:
        self.api = api
        self.nodes: set[str] = set(nodes or ())
        self.interval = interval
        self.lease_every = lease_every
        self.errors: list[str] = []
        self._held: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._last_lease = 0.0
        self._thread = threading.Thread(target=self._run, name="fake-kubelet", daemon=True)
        self._thread.start()

    def hold(self, namespace: str, name: str) -> None:
        """Leave this pod as the scheduler bound it (Pending, no status written)."""
        self._held.add((namespace, name))

    def sync(self) -> int:
        """One pass; returns how many pods it changed."""
        changed = 0
        pods = self.api.list("v1", "Pod", None, fieldSelector="spec.nodeName!=")["items"]
        for pod in pods:
            meta = pod["metadata"]
            if pod["spec"].get("nodeName") not in self.nodes or (meta["namespace"], meta["name"]) in self._held:
                continue
            if meta.get("deletionTimestamp"):
                finish_deletion(self.api, pod)
                changed += 1
            elif pod.get("status", {}).get("phase") == "Pending":
                try:
                    set_pod_running(self.api, pod)
                    changed += 1
                except ApiError as exc:
                    if exc.status not in (404, 409):
                        raise
        if time.monotonic() - self._last_lease > self.lease_every:
            for node in sorted(self.nodes):
                try:
                    renew_lease(self.api, node)
                except ApiError as exc:
                    if exc.status != 404:
                        raise
            self._last_lease = time.monotonic()
        return changed

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception as exc:  # keep heartbeating; the test reads .errors
                self.errors.append(repr(exc))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeKubelet:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

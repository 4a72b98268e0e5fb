"""Builds Kubernetes API objects that look like what a real API server returns, and whole clusters.

Two users: the golden why-pending cases under ``tests/golden/why_pending`` were authored with
the object builders here (``node``, ``pod``, ``event``, ``lease``, ``pvc``...), and the scale
benchmark (``bench/why_pending_scale.py``) calls :func:`generate` for thousands of nodes and
hundreds of thousands of pods. Objects are plain JSON dicts as ``kubectl get -o json`` prints
them (managedFields omitted): nodes with capacity *and* allocatable, conditions, nodeInfo and
addresses; pods with ownerReferences, uids, the default not-ready/unreachable tolerations that
admission adds, and status conditions; events with involvedObject, count and timestamps.
Everything is deterministic: uids are derived from names, timestamps from a fixed clock.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

Obj = dict[str, Any]

NOW = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
"""The clock every golden case and the benchmark run at."""

DEFAULT_TOLERATIONS: tuple[Obj, ...] = (
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300},
)
"""What the DefaultTolerationSeconds admission plugin adds to every pod."""

_PAUSE_DIGEST = "registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097"
_UID_NAMESPACE = uuid.UUID("6f1c3a52-8f0e-4c3b-9a51-2d7e0c4b9e10")


# -- small helpers ---------------------------------------------------------------------------------


def ts(moment: datetime) -> str:
    """RFC 3339 with a ``Z`` as the API server writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0) -> str:
    """A timestamp that long before :data:`NOW`."""
    return ts(NOW - timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days))


def uid(*parts: str) -> str:
    """A stable uid for an object (the same parts always give the same uid)."""
    return str(uuid.uuid5(_UID_NAMESPACE, "/".join(parts)))


def short_hash(*parts: str, length: int = 5) -> str:
    """A pod-template-hash / generateName suffix style string."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def _rv(*parts: str) -> str:
    return str(100000 + int(hashlib.sha256("/".join(parts).encode()).hexdigest()[:7], 16) % 9000000)


def mi_to_ki(mebibytes: int) -> str:
    """Memory as the kubelet reports it (``16303256Ki``)."""
    return f"{mebibytes * 1024}Ki"


def meta(kind: str, name: str, namespace: str | None = None, *, created: str | None = None,
         labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
         owner: Obj | None = None, extra: Obj | None = None) -> Obj:
    """``metadata`` with uid, resourceVersion and creationTimestamp filled in."""
    data: Obj = {"name": name}
    if namespace is not None:
        data["namespace"] = namespace
    data["uid"] = uid(kind, namespace or "", name)
    data["resourceVersion"] = _rv(kind, namespace or "", name)
    data["creationTimestamp"] = created or ago(days=30)
    if labels:
        data["labels"] = dict(labels)
    if annotations:
        data["annotations"] = dict(annotations)
    if owner:
        data["ownerReferences"] = [owner]
    if extra:
        data.update(extra)
    return data


def owner_ref(obj: Obj, *, controller: bool = True) -> Obj:
    """An ownerReference pointing at ``obj``."""
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


# -- nodes ---------------------------------------------------------------------------------------


_READY = {
    "True": ("KubeletReady", "kubelet is posting ready status"),
    "False": ("KubeletNotReady", "container runtime network not ready: NetworkReady=false "
              "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"),
    "Unknown": ("NodeStatusUnknown", "Kubelet stopped posting node status."),
}


def node(
    name: str,
    *,
    cpu: int = 4,
    memory_mi: int = 16 * 1024,
    alloc_cpu: str | None = None,
    alloc_memory_mi: int | None = None,
    pods: int = 110,
    ephemeral_ki: int = 101430960,
    alloc_ephemeral: str | None = None,
    zone: str = "eu-west-1a",
    region: str | None = None,
    instance_type: str = "m5.xlarge",
    labels: dict[str, str] | None = None,
    taints: Iterable[Obj] = (),
    unschedulable: bool = False,
    ready: str = "True",
    ready_message: str | None = None,
    heartbeat: str | None = None,
    transition: str | None = None,
    extended: dict[str, str] | None = None,
    alloc_extended: dict[str, str] | None = None,
    kubelet_version: str = "v1.30.4-eks-a737599",
    os_image: str = "Amazon Linux 2",
    ip: str | None = None,
    created: str | None = None,
    provider: str = "aws",
) -> Obj:
    """A Node as the API server returns it; allocatable defaults to capacity minus kube-reserved."""
    region = region or zone[:-1]
    digest = int(hashlib.sha256(name.encode()).hexdigest()[:6], 16)
    ip = ip or f"10.0.{digest % 250}.{(digest >> 8) % 250 + 2}"
    node_labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": instance_type,
        "beta.kubernetes.io/os": "linux",
        "failure-domain.beta.kubernetes.io/region": region,
        "failure-domain.beta.kubernetes.io/zone": zone,
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": instance_type,
        "topology.kubernetes.io/region": region,
        "topology.kubernetes.io/zone": zone,
    }
    node_labels.update(labels or {})
    capacity = {
        "cpu": str(cpu),
        "ephemeral-storage": f"{ephemeral_ki}Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": mi_to_ki(memory_mi),
        "pods": str(pods),
    }
    allocatable = {
        "cpu": alloc_cpu or f"{cpu * 1000 - 80}m",
        "ephemeral-storage": alloc_ephemeral or str(int(ephemeral_ki * 1024 * 0.9)),
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": mi_to_ki(alloc_memory_mi if alloc_memory_mi is not None else memory_mi - 1400),
        "pods": str(pods),
    }
    capacity.update(extended or {})
    allocatable.update(alloc_extended if alloc_extended is not None else (extended or {}))
    beat = heartbeat or ago(seconds=12)
    since = transition or ago(days=20)
    pressure = "Unknown" if ready == "Unknown" else "False"

    def condition(kind: str, status: str, reason: str, message: str) -> Obj:
        return {"lastHeartbeatTime": beat, "lastTransitionTime": since, "message": message, "reason": reason,
                "status": status, "type": kind}

    healthy = {
        "MemoryPressure": ("KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        "DiskPressure": ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        "PIDPressure": ("KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    }
    unknown = ("NodeStatusUnknown", "Kubelet stopped posting node status.")
    conditions = [condition(kind, pressure, *(unknown if pressure == "Unknown" else healthy[kind])) for kind in healthy]
    conditions.append(condition("Ready", ready, _READY[ready][0], ready_message or _READY[ready][1]))
    spec: Obj = {}
    if provider == "aws":
        spec["providerID"] = f"aws:///{zone}/i-0{hashlib.sha256(name.encode()).hexdigest()[:16]}"
    elif provider == "azure":
        spec["providerID"] = f"azure:///subscriptions/0a1b2c3d/resourceGroups/mc_rg/providers/" \
                             f"Microsoft.Compute/virtualMachineScaleSets/{name.rsplit('-', 1)[0]}/virtualMachines/0"
    taint_list = [dict(t) for t in taints]
    if taint_list:
        spec["taints"] = taint_list
    if unschedulable:
        spec["unschedulable"] = True
    boot = uid("boot", name)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": meta("Node", name, created=created or ago(days=41), labels=node_labels, annotations={
            "alpha.kubernetes.io/provided-node-ip": ip,
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        }),
        "spec": spec,
        "status": {
            "addresses": [
                {"address": ip, "type": "InternalIP"},
                {"address": name, "type": "Hostname"},
                {"address": f"ip-{ip.replace('.', '-')}.{region}.compute.internal", "type": "InternalDNS"},
            ],
            "allocatable": allocatable,
            "capacity": capacity,
            "conditions": conditions,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": [
                {"names": [_PAUSE_DIGEST, "registry.k8s.io/pause:3.9"], "sizeBytes": 321520},
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": boot,
                "containerRuntimeVersion": "containerd://1.7.22",
                "kernelVersion": "5.10.226-214.879.amzn2.x86_64",
                "kubeProxyVersion": kubelet_version,
                "kubeletVersion": kubelet_version,
                "machineID": boot.replace("-", ""),
                "operatingSystem": "linux",
                "osImage": os_image,
                "systemUUID": uid("system", name),
            },
        },
    }


def taint(key: str, value: str = "", effect: str = "NoSchedule", added: str | None = None) -> Obj:
    """A node taint (``timeAdded`` is only set by the node lifecycle controller, for NoExecute)."""
    data: Obj = {"effect": effect, "key": key}
    if value:
        data["value"] = value
    if added:
        data["timeAdded"] = added
    return data


def cordon_taint() -> Obj:
    return taint("node.kubernetes.io/unschedulable", effect="NoSchedule", added=ago(hours=2))


# -- pods ------------------------------------------------------------------------------------------


def container(name: str, image: str, *, requests: dict[str, str] | None = None, limits: dict[str, str] | None = None,
              ports: Iterable[Obj] = (), restart_policy: str | None = None, env: Iterable[Obj] = (),
              mounts: Iterable[Obj] = ()) -> Obj:
    """One container of a pod spec (requests default to limits, as API defaulting does)."""
    resources: Obj = {}
    if limits:
        resources["limits"] = dict(limits)
    if requests or limits:
        resources["requests"] = {**(limits or {}), **(requests or {})}
    data: Obj = {
        "image": image,
        "imagePullPolicy": "Always" if image.endswith(":latest") else "IfNotPresent",
        "name": name,
        "resources": resources,
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    port_list = [{"protocol": "TCP", **p} for p in ports]
    if port_list:
        data["ports"] = port_list
    if restart_policy:
        data["restartPolicy"] = restart_policy
    env_list = list(env)
    if env_list:
        data["env"] = env_list
    data["volumeMounts"] = [*mounts, {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                      "name": "kube-api-access", "readOnly": True}]
    return data


def _qos(containers: list[Obj]) -> str:
    requests = [c.get("resources", {}).get("requests", {}) for c in containers]
    limits = [c.get("resources", {}).get("limits", {}) for c in containers]
    if not any(requests) and not any(limits):
        return "BestEffort"
    for req, lim in zip(requests, limits, strict=True):
        for resource in ("cpu", "memory"):
            if resource not in lim or req.get(resource) != lim.get(resource):
                return "Burstable"
    return "Guaranteed"


def _running_status(containers: list[Obj], started: str) -> list[Obj]:
    return [{
        "containerID": f"containerd://{hashlib.sha256((c['name'] + started).encode()).hexdigest()}",
        "image": c["image"],
        "imageID": f"{c['image'].split(':')[0]}@sha256:{hashlib.sha256(c['image'].encode()).hexdigest()}",
        "lastState": {},
        "name": c["name"],
        "ready": True,
        "restartCount": 0,
        "started": True,
        "state": {"running": {"startedAt": started}},
    } for c in containers]


def pod(
    name: str,
    namespace: str,
    *,
    containers: list[Obj],
    init_containers: list[Obj] | None = None,
    node_name: str | None = None,
    state: str = "Running",
    owner: Obj | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    tolerations: Iterable[Obj] = (),
    default_tolerations: bool = True,
    affinity: Obj | None = None,
    node_selector: dict[str, str] | None = None,
    topology_spread: list[Obj] | None = None,
    scheduler_name: str = "default-scheduler",
    scheduling_gates: list[str] | None = None,
    priority: int = 0,
    priority_class: str | None = None,
    overhead: dict[str, str] | None = None,
    runtime_class: str | None = None,
    volumes: Iterable[Obj] = (),
    resource_claims: list[Obj] | None = None,
    created: str | None = None,
    message: str = "",
    host_ip: str = "10.0.1.17",
    status: Obj | None = None,
    service_account: str = "default",
) -> Obj:
    """A Pod. ``state`` picks a status: Running, Unschedulable, Gated, Pending (no condition yet),
    Succeeded, Failed; ``status`` replaces the generated one entirely."""
    created = created or ago(hours=3)
    spec: Obj = {
        "containers": containers,
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": priority,
        "restartPolicy": "Always",
        "schedulerName": scheduler_name,
        "securityContext": {},
        "serviceAccount": service_account,
        "serviceAccountName": service_account,
        "terminationGracePeriodSeconds": 30,
        "tolerations": [*tolerations, *(DEFAULT_TOLERATIONS if default_tolerations else ())],
        "volumes": [*volumes, {"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
            {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                        "path": "namespace"}]}},
        ]}}],
    }
    if init_containers:
        spec["initContainers"] = init_containers
    if node_name:
        spec["nodeName"] = node_name
    if affinity:
        spec["affinity"] = affinity
    if node_selector:
        spec["nodeSelector"] = node_selector
    if topology_spread:
        spec["topologySpreadConstraints"] = topology_spread
    if scheduling_gates:
        spec["schedulingGates"] = [{"name": gate} for gate in scheduling_gates]
    if priority_class:
        spec["priorityClassName"] = priority_class
    if overhead:
        spec["overhead"] = overhead
    if runtime_class:
        spec["runtimeClassName"] = runtime_class
    if resource_claims:
        spec["resourceClaims"] = resource_claims
    qos = _qos(containers + (init_containers or []))
    if status is None:
        status = _pod_status(state, containers, created, qos, message, node_name, host_ip, name)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta("Pod", name, namespace, created=created, labels=labels, annotations=annotations,
                         owner=owner, extra={"generateName": name.rsplit("-", 1)[0] + "-"} if owner else None),
        "spec": spec,
        "status": status,
    }


def _pod_status(state: str, containers: list[Obj], created: str, qos: str, message: str,
                node_name: str | None, host_ip: str, name: str) -> Obj:
    if state == "Unschedulable":
        return {"conditions": [{"lastProbeTime": None, "lastTransitionTime": created, "message": message,
                                "reason": "Unschedulable", "status": "False", "type": "PodScheduled"}],
                "phase": "Pending", "qosClass": qos}
    if state == "Gated":
        return {"conditions": [{"lastProbeTime": None, "lastTransitionTime": created,
                                "message": "Scheduling is blocked due to non-empty scheduling gates",
                                "reason": "SchedulingGated", "status": "False", "type": "PodScheduled"}],
                "phase": "Pending", "qosClass": qos}
    if state == "Pending":
        return {"phase": "Pending", "qosClass": qos}
    digest = int(hashlib.sha256(name.encode()).hexdigest()[:6], 16)
    pod_ip = f"10.1.{digest % 250}.{(digest >> 8) % 250 + 2}"
    started = created
    base: Obj = {"hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
                 "qosClass": qos, "startTime": started}
    if state == "Running":
        return {**base, "phase": "Running", "conditions": [
            {"lastProbeTime": None, "lastTransitionTime": started, "status": "True",
             "type": "PodReadyToStartContainers"},
            {"lastProbeTime": None, "lastTransitionTime": started, "status": "True", "type": "Initialized"},
            {"lastProbeTime": None, "lastTransitionTime": started, "status": "True", "type": "Ready"},
            {"lastProbeTime": None, "lastTransitionTime": started, "status": "True", "type": "ContainersReady"},
            {"lastProbeTime": None, "lastTransitionTime": created, "status": "True", "type": "PodScheduled"},
        ], "containerStatuses": _running_status(containers, started)}
    if state in ("Succeeded", "Failed"):
        code = 0 if state == "Succeeded" else 1
        statuses = []
        for item in _running_status(containers, started):
            item["ready"], item["started"] = False, False
            item["state"] = {"terminated": {"containerID": item["containerID"], "exitCode": code,
                                            "finishedAt": started, "reason": "Completed" if code == 0 else "Error",
                                            "startedAt": started}}
            statuses.append(item)
        return {**base, "phase": state, "conditions": [
            {"lastProbeTime": None, "lastTransitionTime": started, "status": "False",
             "type": "PodReadyToStartContainers"},
            {"lastProbeTime": None, "lastTransitionTime": started, "reason": "PodCompleted", "status": "True",
             "type": "Initialized"},
            {"lastProbeTime": None, "lastTransitionTime": started, "reason": "PodCompleted", "status": "False",
             "type": "Ready"},
            {"lastProbeTime": None, "lastTransitionTime": started, "reason": "PodCompleted", "status": "False",
             "type": "ContainersReady"},
            {"lastProbeTime": None, "lastTransitionTime": created, "status": "True", "type": "PodScheduled"},
        ], "containerStatuses": statuses}
    raise ValueError(f"unknown pod state {state!r}")


# -- events, leases, storage, workloads ----------------------------------------------------------


def event(
    obj: Obj,
    reason: str,
    message: str,
    *,
    type: str = "Warning",
    component: str = "default-scheduler",
    host: str | None = None,
    count: int = 1,
    first: str | None = None,
    last: str | None = None,
    events_v1: bool = False,
) -> Obj:
    """A core/v1 Event about ``obj``. ``events_v1`` gives the shape of an event written through
    ``events.k8s.io/v1`` (as kube-scheduler 1.2x does): no first/lastTimestamp, ``eventTime`` and
    ``series`` instead of ``count``, ``reportingComponent`` instead of ``source``."""
    m = obj["metadata"]
    last = last or ago(seconds=40)
    first = first or last
    name = f"{m['name']}.{hashlib.sha256((m['name'] + reason + message).encode()).hexdigest()[:16]}"
    involved = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": m["name"], "uid": m["uid"],
                "resourceVersion": m["resourceVersion"]}
    if m.get("namespace"):
        involved["namespace"] = m["namespace"]
    namespace = m.get("namespace") or "default"
    data: Obj = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": meta("Event", name, namespace, created=first),
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": type,
    }
    if events_v1:
        data.update({
            "eventTime": first.replace("Z", ".000000Z"),
            "firstTimestamp": None,
            "lastTimestamp": None,
            "action": "Scheduling",
            "reportingComponent": component,
            "reportingInstance": f"{component}-{host or 'ip-10-0-0-10'}",
            "source": {},
        })
        if count > 1:
            data["series"] = {"count": count, "lastObservedTime": last.replace("Z", ".000000Z")}
    else:
        source: Obj = {"component": component}
        if host:
            source["host"] = host
        data.update({"count": count, "firstTimestamp": first, "lastTimestamp": last, "source": source,
                     "eventTime": None, "reportingComponent": component if component != "kubelet" else "kubelet",
                     "reportingInstance": host or ""})
    return data


def lease(name: str, namespace: str, holder: str, renewed: str, *, duration: int = 15,
          acquired: str | None = None, transitions: int = 3) -> Obj:
    """A coordination.k8s.io Lease (leader election or node heartbeat)."""
    renew = renewed.replace("Z", ".000000Z")
    spec: Obj = {"holderIdentity": holder, "leaseDurationSeconds": duration, "renewTime": renew}
    if namespace == "kube-node-lease":
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": meta("Lease", name, namespace, created=ago(days=41)), "spec": spec}
    spec["acquireTime"] = (acquired or ago(days=2)).replace("Z", ".000000Z")
    spec["leaseTransitions"] = transitions
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": meta("Lease", name, namespace, created=ago(days=41)), "spec": spec}


def control_plane_leases(*, scheduler_renewed: str | None = None) -> list[Obj]:
    """The kube-scheduler and kube-controller-manager leader leases, fresh unless told otherwise."""
    return [
        lease("kube-scheduler", "kube-system", "ip-10-0-0-10_5b0a3c1e-2f7d-4d8e-9c61-0e1f2a3b4c5d",
              scheduler_renewed or ago(seconds=2)),
        lease("kube-controller-manager", "kube-system", "ip-10-0-0-10_8e9f0a1b-3c4d-4e5f-a6b7-c8d9e0f1a2b3",
              ago(seconds=1)),
    ]


def storage_class(name: str, provisioner: str, *, binding: str = "WaitForFirstConsumer",
                  parameters: dict[str, str] | None = None, default: bool = False) -> Obj:
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else None
    data: Obj = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                 "metadata": meta("StorageClass", name, created=ago(days=40), annotations=annotations),
                 "provisioner": provisioner, "reclaimPolicy": "Delete", "volumeBindingMode": binding,
                 "allowVolumeExpansion": True}
    if parameters:
        data["parameters"] = parameters
    return data


def pvc(name: str, namespace: str, *, storage_class_name: str | None, size: str = "10Gi", volume: str | None = None,
        modes: tuple[str, ...] = ("ReadWriteOnce",), created: str | None = None, labels: dict[str, str] | None = None,
        selected_node: str | None = None) -> Obj:
    annotations: dict[str, str] = {}
    if volume:
        annotations["pv.kubernetes.io/bind-completed"] = "yes"
        annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
    if selected_node:
        annotations["volume.kubernetes.io/selected-node"] = selected_node
    spec: Obj = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}, "volumeMode": "Filesystem"}
    if storage_class_name is not None:
        spec["storageClassName"] = storage_class_name
    if volume:
        spec["volumeName"] = volume
    status: Obj = {"phase": "Bound" if volume else "Pending"}
    if volume:
        status.update({"accessModes": list(modes), "capacity": {"storage": size}})
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": meta("PersistentVolumeClaim", name, namespace, created=created, labels=labels,
                             annotations=annotations or None, extra={"finalizers": ["kubernetes.io/pvc-protection"]}),
            "spec": spec, "status": status}


def pv(name: str, *, claim: Obj | None, size: str = "10Gi", storage_class_name: str = "", csi_driver: str | None = None,
       volume_handle: str | None = None, local_path: str | None = None, node_affinity: Obj | None = None,
       labels: dict[str, str] | None = None, modes: tuple[str, ...] = ("ReadWriteOnce",),
       aws_ebs: str | None = None) -> Obj:
    spec: Obj = {"accessModes": list(modes), "capacity": {"storage": size},
                 "persistentVolumeReclaimPolicy": "Delete" if csi_driver else "Retain", "volumeMode": "Filesystem"}
    if storage_class_name:
        spec["storageClassName"] = storage_class_name
    if csi_driver:
        spec["csi"] = {"driver": csi_driver, "fsType": "ext4", "volumeHandle": volume_handle or name}
    if local_path:
        spec["local"] = {"path": local_path}
    if aws_ebs:
        spec["awsElasticBlockStore"] = {"fsType": "ext4", "volumeID": aws_ebs}
    if node_affinity:
        spec["nodeAffinity"] = node_affinity
    if claim:
        spec["claimRef"] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": claim["metadata"]["name"],
                            "namespace": claim["metadata"]["namespace"], "uid": claim["metadata"]["uid"],
                            "resourceVersion": claim["metadata"]["resourceVersion"]}
    annotations = {"pv.kubernetes.io/provisioned-by": csi_driver} if csi_driver else None
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": meta("PersistentVolume", name, created=ago(days=10), labels=labels, annotations=annotations,
                             extra={"finalizers": ["kubernetes.io/pv-protection"]}),
            "spec": spec, "status": {"phase": "Bound" if claim else "Available"}}


def hostname_affinity(*hostnames: str) -> Obj:
    """A PV nodeAffinity pinning it to nodes by ``kubernetes.io/hostname``."""
    return {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": list(hostnames)}]}]}}


def csinode(node_obj: Obj, drivers: list[tuple[str, int | None]]) -> Obj:
    name = node_obj["metadata"]["name"]
    items = []
    for driver, count in drivers:
        item: Obj = {"name": driver, "nodeID": name, "topologyKeys": ["topology.disk.csi.azure.com/zone"]}
        if count is not None:
            item["allocatable"] = {"count": count}
        items.append(item)
    return {"apiVersion": "storage.k8s.io/v1", "kind": "CSINode",
            "metadata": meta("CSINode", name, created=node_obj["metadata"]["creationTimestamp"],
                             owner={"apiVersion": "v1", "kind": "Node", "name": name,
                                    "uid": node_obj["metadata"]["uid"]}),
            "spec": {"drivers": items}}


def deployment(name: str, namespace: str, *, replicas: int, template: Obj, ready: int, updated: int | None = None,
               paused: bool = False, conditions: list[Obj] | None = None, generation: int = 3,
               observed: int | None = None) -> Obj:
    labels = {"app": name}
    status: Obj = {
        "availableReplicas": ready, "observedGeneration": generation if observed is None else observed,
        "readyReplicas": ready, "replicas": replicas if not paused else ready,
        "updatedReplicas": updated if updated is not None else replicas,
    }
    if ready < replicas:
        status["unavailableReplicas"] = replicas - ready
    if ready == 0:
        del status["availableReplicas"], status["readyReplicas"]
    status["conditions"] = conditions or [
        {"lastTransitionTime": ago(hours=3), "lastUpdateTime": ago(hours=3), "message":
         "Deployment does not have minimum availability.", "reason": "MinimumReplicasUnavailable",
         "status": "False" if ready < replicas else "True", "type": "Available"},
        {"lastTransitionTime": ago(days=30), "lastUpdateTime": ago(hours=3),
         "message": f'ReplicaSet "{name}" is progressing.', "reason": "ReplicaSetUpdated", "status": "True",
         "type": "Progressing"},
    ]
    spec: Obj = {"progressDeadlineSeconds": 600, "replicas": replicas, "revisionHistoryLimit": 10,
                 "selector": {"matchLabels": labels},
                 "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
                 "template": template}
    if paused:
        spec["paused"] = True
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": meta("Deployment", name, namespace, created=ago(days=30), labels=labels,
                             annotations={"deployment.kubernetes.io/revision": "4"},
                             extra={"generation": generation}),
            "spec": spec, "status": status}


def replicaset(deploy: Obj, template_hash: str, *, replicas: int, ready: int, template: Obj,
               conditions: list[Obj] | None = None, created: str | None = None) -> Obj:
    name = f"{deploy['metadata']['name']}-{template_hash}"
    labels = {**deploy["spec"]["selector"]["matchLabels"], "pod-template-hash": template_hash}
    status: Obj = {"fullyLabeledReplicas": replicas, "observedGeneration": 1, "replicas": ready if conditions else
                   replicas, "availableReplicas": ready, "readyReplicas": ready}
    if conditions:
        status["conditions"] = conditions
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": meta("ReplicaSet", name, deploy["metadata"]["namespace"], created=created or ago(hours=3),
                             labels=labels, owner=owner_ref(deploy),
                             annotations={"deployment.kubernetes.io/desired-replicas": str(replicas),
                                          "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                                          "deployment.kubernetes.io/revision": "4"},
                             extra={"generation": 1}),
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {**template, "metadata": {"labels": labels}}},
            "status": status}


def pod_template(containers: list[Obj], labels: dict[str, str], **spec: Any) -> Obj:
    body: Obj = {"containers": containers, "dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
                 "schedulerName": "default-scheduler", "securityContext": {}, "terminationGracePeriodSeconds": 30}
    body.update(spec)
    return {"metadata": {"labels": labels}, "spec": body}


# -- the benchmark cluster ------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterShape:
    """What :func:`generate` builds; the pending pod is ``bench/stuck-0``."""

    nodes: int = 5000
    pods: int = 150_000
    seed: int = 7
    pending_cpu: str = "64"
    """The pending pod's CPU request. 64 is more than any node's allocatable (no pod on a node matters);
    15 fits the 16-CPU nodes' allocatable (15.92) but not what their pods leave free (every pod matters)."""


ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
INSTANCE_TYPES = (("m5.2xlarge", 8, 32 * 1024), ("m5.4xlarge", 16, 64 * 1024), ("c5.4xlarge", 16, 32 * 1024),
                  ("r5.2xlarge", 8, 64 * 1024))
PENDING_NAMESPACE, PENDING_NAME = "bench", "stuck-0"


def _bench_pod(index: int, node_obj: Obj, rng: random.Random, created: str) -> Obj:
    """A small but complete pod bound to ``node_obj``; a few have host ports or anti-affinity."""
    app = f"svc-{index % 997}"
    namespace = f"team-{index % 40}"
    rs_hash = short_hash(app, length=10)
    cpu = rng.choice(("50m", "100m", "100m", "250m", "500m"))
    mem = rng.choice(("64Mi", "128Mi", "256Mi", "512Mi"))
    ports = [{"containerPort": 9100, "hostPort": 9100 + index % 3, "name": "metrics"}] if index % 50 == 0 else []
    state = "Running"
    if index % 97 == 0:
        state = "Succeeded"
    elif index % 211 == 0:
        state = "Failed"
    affinity = None
    if index % 20 == 0:
        affinity = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "kubernetes.io/hostname"}]}}
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{app}-{rs_hash}",
             "uid": uid("ReplicaSet", namespace, f"{app}-{rs_hash}"), "controller": True, "blockOwnerDeletion": True}
    return pod(
        f"{app}-{rs_hash}-{short_hash(str(index))}", namespace,
        containers=[container("app", f"registry.example.com/{app}:1.{index % 7}.0",
                              requests={"cpu": cpu, "memory": mem}, limits={"memory": mem}, ports=ports)],
        node_name=node_obj["metadata"]["name"], state=state, owner=owner,
        labels={"app": app, "pod-template-hash": rs_hash}, affinity=affinity, created=created,
        host_ip=node_obj["status"]["addresses"][0]["address"],
    )


def generate(shape: ClusterShape = ClusterShape()) -> list[Obj]:
    """Nodes, pods spread over them, one pending pod that fits nowhere, its event, and the leases.

    Node mix: three zones, four instance types; every 25th node tainted ``dedicated=batch``,
    every 40th cordoned. The pending pod asks for ``shape.pending_cpu`` CPUs — by default 64, more than
    any node has — so every node rejects it: cordoned ones as unschedulable, tainted ones for the taint,
    the rest for CPU (with 15, the 16-CPU nodes for what their pods already request).
    """
    rng = random.Random(shape.seed)
    objects: list[Obj] = []
    nodes: list[Obj] = []
    for i in range(shape.nodes):
        itype, cpu, mem = INSTANCE_TYPES[i % len(INSTANCE_TYPES)]
        zone = ZONES[i % len(ZONES)]
        taints = [taint("dedicated", "batch")] if i % 25 == 3 else []
        cordoned = i % 40 == 7
        if cordoned:
            taints.append(cordon_taint())
        nodes.append(node(
            f"ip-10-{i // 250}-{i % 250}-{10 + i % 7}.eu-west-1.compute.internal", cpu=cpu, memory_mi=mem,
            zone=zone, instance_type=itype, taints=taints, unschedulable=cordoned,
            labels={"eks.amazonaws.com/nodegroup": f"ng-{itype.replace('.', '-')}", "team": f"team-{i % 12}"},
            ip=f"10.{i // 250 % 250}.{i % 250}.{10 + i % 7}",
        ))
    objects.extend(nodes)
    created = ago(days=2)
    for index in range(shape.pods):
        objects.append(_bench_pod(index, nodes[index % len(nodes)], rng, created))
    cordoned = sum(1 for i in range(shape.nodes) if i % 40 == 7)
    tainted = sum(1 for i in range(shape.nodes) if i % 25 == 3 and i % 40 != 7)
    short = shape.nodes - cordoned - tainted
    parts = [f"{short} Insufficient cpu", f"{tainted} node(s) had untolerated taint {{dedicated: batch}}",
             f"{cordoned} node(s) were unschedulable"]
    message = (f"0/{shape.nodes} nodes are available: {', '.join(sorted(parts))}. preemption: 0/{shape.nodes} "
               f"nodes are available: {short} No preemption victims found for incoming pod, {shape.nodes - short} "
               f"Preemption is not helpful for scheduling.")
    stuck = pod(PENDING_NAME, PENDING_NAMESPACE, state="Unschedulable", message=message, created=ago(minutes=20),
                containers=[container("solver", "registry.example.com/solver:2.0.1",
                                      requests={"cpu": shape.pending_cpu, "memory": "8Gi"})],
                labels={"app": "solver"})
    objects.append(stuck)
    objects.append(event(stuck, "FailedScheduling", message, count=9, first=ago(minutes=20), last=ago(minutes=1)))
    objects.extend(control_plane_leases())
    return objects


def main(argv: list[str] | None = None) -> None:
    """Print a generated cluster as a ``v1/List`` (JSON) for inspection."""
    parser = argparse.ArgumentParser(prog="python -m bench.gen_cluster", description=main.__doc__)
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--pods", type=int, default=200)
    args = parser.parse_args(argv)
    items = generate(ClusterShape(nodes=args.nodes, pods=args.pods))
    json.dump({"apiVersion": "v1", "kind": "List", "items": items}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()

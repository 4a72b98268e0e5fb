"""Control-plane objects judged without Prometheus: leader Leases, static pods, node heartbeats and
conditions, and version skew against Kubernetes' version-skew policy.

Every function takes plain API objects (dicts) and ``now``; none reads a cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from clusterdoc.humanize import human_duration, parse_time

Obj = dict[str, Any]
VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")
PRESSURES = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")


def minor_of(version: str | None) -> tuple[int, int] | None:
    """(1, 31) from ``v1.31.2``, ``1.31``, ``registry.k8s.io/kube-scheduler:v1.31.2``; None otherwise."""
    if not version:
        return None
    match = VERSION.search(version.rsplit(":", 1)[-1] if ":" in version else version)
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class LeaseState:
    name: str
    holder: str
    age: float | None
    duration: float
    stale: bool
    missing: bool = False

    def describe(self) -> str:
        if self.missing:
            return f"no Lease kube-system/{self.name}"
        renewed = f"renewed {_dur(self.age)} ago" if self.age is not None else "never renewed"
        return f"held by {self.holder or 'nobody'}, {renewed} (lease {self.duration:.0f} s)"


def lease_state(name: str, lease: Obj | None, now: datetime, stale_factor: float = 2.0) -> LeaseState:
    """A leader-election Lease: stale when not renewed for more than ``stale_factor`` x its duration."""
    if lease is None:
        return LeaseState(name, "", None, 15.0, True, missing=True)
    spec = lease.get("spec") or {}
    duration = float(spec.get("leaseDurationSeconds") or 15)
    renewed = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
    age = (now - renewed).total_seconds() if renewed else None
    holder = str(spec.get("holderIdentity") or "")
    stale = age is None or age > stale_factor * duration or not holder
    return LeaseState(name, holder, age, duration, stale)


@dataclass(frozen=True)
class PodState:
    name: str
    node: str
    ready: bool
    restarts: int
    phase: str
    last_restart_reason: str = ""

    def describe(self) -> str:
        state = "Ready" if self.ready else f"not ready ({self.phase})"
        restarts = f", {self.restarts} restarts" if self.restarts else ""
        reason = f" (last: {self.last_restart_reason})" if self.last_restart_reason else ""
        return f"{self.name} on {self.node or '?'}: {state}{restarts}{reason}"


def pod_state(pod: Obj) -> PodState:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    reason = ""
    for container in statuses:
        terminated = (container.get("lastState") or {}).get("terminated") or {}
        if terminated.get("reason"):
            reason = f"{terminated.get('reason')}, exit {terminated.get('exitCode', '?')}"
    return PodState(str(meta.get("name", "?")), str(spec.get("nodeName") or ""), ready, restarts,
                    str(status.get("phase") or "Unknown"), reason)


def component_of(pod: Obj) -> str | None:
    """``kube-apiserver``/``kube-controller-manager``/``kube-scheduler``/``etcd`` for a static control-plane pod."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    component = labels.get("component") or labels.get("k8s-app") or ""
    if component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
        return str(component)
    name = str((pod.get("metadata") or {}).get("name") or "")
    for known in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
        if name.startswith(known + "-"):
            return known
    return None


def image_version(pod: Obj) -> str | None:
    for container in (pod.get("spec") or {}).get("containers") or []:
        image = str(container.get("image") or "")
        if ":" in image and minor_of(image.rsplit(":", 1)[1]):
            return image.rsplit(":", 1)[1]
    return None


@dataclass
class NodeState:
    name: str
    ready: str
    reason: str
    heartbeat_age: float | None
    pressures: list[str] = field(default_factory=list)
    kubelet: str = ""
    unschedulable: bool = False

    @property
    def heartbeat_stale(self) -> bool:
        return self.heartbeat_age is not None and self.heartbeat_age > 40

    @property
    def healthy(self) -> bool:
        return self.ready == "True" and not self.pressures


def node_state(node: Obj, lease: Obj | None, now: datetime, grace_seconds: float = 40.0) -> NodeState:
    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    ready = conditions.get("Ready") or {}
    renewed = parse_time(((lease or {}).get("spec") or {}).get("renewTime"))
    age = (now - renewed).total_seconds() if renewed else None
    state = NodeState(str(meta.get("name", "?")), str(ready.get("status", "Unknown")),
                      str(ready.get("message") or ready.get("reason") or ""), age,
                      [kind for kind in PRESSURES if (conditions.get(kind) or {}).get("status") == "True"],
                      str((status.get("nodeInfo") or {}).get("kubeletVersion") or ""),
                      bool(spec.get("unschedulable")))
    if age is not None and age > grace_seconds and state.ready == "True":
        state.reason = f"heartbeat Lease {_dur(age)} old"
    return state


@dataclass(frozen=True)
class SkewProblem:
    component: str
    version: str
    message: str


def version_skew(apiserver: str | None, controller: list[str], scheduler: list[str], kubelets: dict[str, str],
                 apiservers: list[str] | None = None) -> list[SkewProblem]:
    """Version-skew policy violations (KNOWLEDGE.md): what is newer or too old against the API server."""
    problems: list[SkewProblem] = []
    api = minor_of(apiserver)
    if api is None:
        return problems
    others = [minor_of(v) for v in apiservers or []]
    for version, parsed in zip(apiservers or [], others, strict=True):
        if parsed and abs(parsed[1] - api[1]) > 1:
            text = f"API server instances {apiserver} and {version} differ by more than one minor"
            problems.append(SkewProblem("kube-apiserver", version, text))
    for component, versions in (("kube-controller-manager", controller), ("kube-scheduler", scheduler)):
        for version in sorted(set(versions)):
            parsed = minor_of(version)
            if parsed is None:
                continue
            if parsed > api:
                problems.append(SkewProblem(component, version,
                                            f"{component} {version} is newer than the API server {apiserver}"))
            elif api[1] - parsed[1] > 1:
                problems.append(SkewProblem(component, version, f"{component} {version} is more than one minor "
                                            f"older than the API server {apiserver} (allowed: same or one older)"))
    allowed = 3 if api[1] >= 28 else 2
    by_version: dict[str, list[str]] = {}
    for node, version in kubelets.items():
        by_version.setdefault(version, []).append(node)
    for version, nodes in sorted(by_version.items()):
        parsed = minor_of(version)
        if parsed is None:
            continue
        where = f"{len(nodes)} node(s), e.g. {sorted(nodes)[0]}"
        if parsed > api:
            problems.append(SkewProblem("kubelet", version, f"kubelet {version} on {where} is newer than the "
                                        f"API server {apiserver}"))
        elif api[1] - parsed[1] > allowed:
            problems.append(SkewProblem("kubelet", version, f"kubelet {version} on {where} is more than {allowed} "
                                        f"minors older than the API server {apiserver}"))
    return problems


def _dur(seconds: float) -> str:
    return human_duration(timedelta(seconds=seconds))

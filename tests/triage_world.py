"""The incidents of the source notes as data: cluster objects plus backfilled Prometheus series.

One Prometheus holds every scenario; each scenario's series carry ``scenario="<name>"`` and the
tests point the job matchers (``prometheus.jobs`` in ``CLUSTERDOC_CONFIG``) at them, so one
Prometheus start serves all of them. ``objects(scenario, now)`` is the matching cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from tests.harness.prometheus import OpenMetrics

SCENARIOS = ("healthy", "etcd-slow", "bad-crd", "scheduler-backlog", "pleg", "controller-stale")
EXPECTED = {"healthy": "none", "etcd-slow": "etcd", "bad-crd": "apiserver", "scheduler-backlog": "scheduler",
            "pleg": "node", "controller-stale": "controller"}
NODES = ("node-a", "node-b", "node-c")
RANGE_MINUTES = 60
ONSET_MINUTES = 18
SCRAPE = 15.0


def jobs(scenario: str) -> dict[str, str]:
    tag = f'scenario="{scenario}"'
    return {"apiserver": f'job="apiserver", {tag}', "etcd": f'job=~".*etcd.*", {tag}',
            "scheduler": f'job="kube-scheduler", {tag}', "controller": f'job="kube-controller-manager", {tag}',
            "kubelet": f'job="kubelet", {tag}', "node_exporter": f'job="node-exporter", {tag}'}


def _step(before: float, after: float, onset: float) -> Callable[[float], float]:
    return lambda t: after if t >= onset else before


def metrics(end: float) -> OpenMetrics:
    """Every scenario's series over the hour before ``end`` (unix seconds)."""
    om = OpenMetrics()
    start = end - RANGE_MINUTES * 60
    times = [start + i * SCRAPE for i in range(int(RANGE_MINUTES * 60 / SCRAPE) + 1)]
    onset = end - ONSET_MINUTES * 60
    for scenario in SCENARIOS:
        tag = {"scenario": scenario}
        fsync = _step(0.0015, 0.2 if scenario == "etcd-slow" else 0.0015, onset)
        commit = _step(0.003, 0.2 if scenario == "etcd-slow" else 0.003, onset)
        slow_api = scenario in ("etcd-slow",)
        for resource, group in (("pods", ""), ("configmaps", ""), ("widgets", "example.com")):
            if scenario == "bad-crd" and resource == "widgets":
                latency = _step(0.01, 3.0, onset)
            elif slow_api:
                latency = _step(0.01, 0.9, onset)
            else:
                latency = _step(0.01, 0.01, onset)
            om.histogram("apiserver_request_duration_seconds",
                         {**tag, "job": "apiserver", "verb": "LIST" if resource == "pods" else "PUT",
                          "resource": resource, "group": group}, times, latency)
        for code, per_scrape in (("200", 1000.0), ("500", 1.0)):
            om.series("apiserver_request_total", {**tag, "job": "apiserver", "code": code},
                      [(t, per_scrape * i) for i, t in enumerate(times)])
        writes = 50.0 if scenario == "etcd-slow" else 0.2
        om.series("apiserver_request_total", {**tag, "job": "apiserver", "code": "200", "verb": "PUT",
                                              "resource": "configmaps"},
                  [(t, sum(SCRAPE * (writes if start + j * SCRAPE >= onset else 0.2) for j in range(i)))
                   for i, t in enumerate(times)])
        om.series("apiserver_current_inflight_requests", {**tag, "job": "apiserver", "request_kind": "readOnly"},
                  [(t, 20.0) for t in times])
        om.series("apiserver_current_inflight_requests", {**tag, "job": "apiserver", "request_kind": "mutating"},
                  [(t, 5.0) for t in times])
        for member in ("etcd-0", "etcd-1", "etcd-2"):
            labels = {**tag, "job": "etcd", "instance": f"{member}:2379"}
            om.histogram("etcd_disk_wal_fsync_duration_seconds", labels, times, fsync)
            om.histogram("etcd_disk_backend_commit_duration_seconds", labels, times, commit)
            om.series("etcd_mvcc_db_total_size_in_bytes", labels, [(t, 300e6) for t in times])
            om.series("etcd_mvcc_db_total_size_in_use_in_bytes", labels, [(t, 280e6) for t in times])
            om.series("etcd_server_quota_backend_bytes", labels, [(t, 2 * 1024**3) for t in times])
            om.series("etcd_server_has_leader", labels, [(t, 1.0) for t in times])
        pending = _step(3.0, 450.0 if scenario == "scheduler-backlog" else 3.0, onset)
        om.series("scheduler_pending_pods", {**tag, "job": "kube-scheduler", "queue": "active"},
                  [(t, pending(t)) for t in times])
        om.histogram("scheduler_scheduling_attempt_duration_seconds",
                     {**tag, "job": "kube-scheduler", "result": "scheduled"}, times,
                     _step(0.003, 0.003, onset))
        om.histogram("workqueue_queue_duration_seconds",
                     {**tag, "job": "kube-controller-manager", "name": "deployment"}, times, _step(0.003, 0.003, onset))
        for node in NODES:
            pleg = _step(0.01, 15.0 if scenario == "pleg" and node == "node-b" else 0.01, onset)
            om.histogram("kubelet_pleg_relist_duration_seconds",
                         {**tag, "job": "kubelet", "node": node, "instance": f"{node}:10250"}, times, pleg)
            labels = {**tag, "job": "node-exporter", "node": node, "instance": f"{node}:9100"}
            om.series("node_memory_MemAvailable_bytes", labels, [(t, 6e9) for t in times])
            om.series("node_memory_MemTotal_bytes", labels, [(t, 16e9) for t in times])
    return om


def _ts(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def objects(scenario: str, now: datetime, version: str = "v1.31.2") -> list[dict[str, Any]]:
    """The cluster of ``scenario`` at ``now``: nodes, heartbeats, leader Leases, static control-plane pods."""
    fresh = _ts(now - timedelta(seconds=3))
    items: list[dict[str, Any]] = []
    for node in NODES:
        items.append({"kind": "Node", "apiVersion": "v1", "metadata": {"name": node, "labels": {
            "node.kubernetes.io/instance-type": "m5.large"}},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "lastHeartbeatTime": fresh, "lastTransitionTime": _ts(now - timedelta(days=3))}],
                       "allocatable": {"cpu": "2", "memory": "8Gi", "pods": "110"},
                       "nodeInfo": {"kubeletVersion": version}}})
        items.append({"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
                      "metadata": {"name": node, "namespace": "kube-node-lease"},
                      "spec": {"holderIdentity": node, "leaseDurationSeconds": 40, "renewTime": fresh}})
    kcm_renew = now - timedelta(minutes=10) if scenario == "controller-stale" else now - timedelta(seconds=2)
    for name, renewed in (("kube-scheduler", now - timedelta(seconds=2)), ("kube-controller-manager", kcm_renew)):
        items.append({"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
                      "metadata": {"name": name, "namespace": "kube-system"},
                      "spec": {"holderIdentity": f"cp-1_{name}", "leaseDurationSeconds": 15,
                               "renewTime": _ts(renewed), "acquireTime": _ts(now - timedelta(days=1))}})
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
        restarting = scenario == "controller-stale" and component == "kube-controller-manager"
        image = f"registry.k8s.io/{component}:{version if component != 'etcd' else '3.5.15-0'}"
        items.append({"kind": "Pod", "apiVersion": "v1",
                      "metadata": {"name": f"{component}-cp-1", "namespace": "kube-system",
                                   "labels": {"component": component, "tier": "control-plane"}},
                      "spec": {"nodeName": "cp-1", "containers": [{"name": component, "image": image}]},
                      "status": {"phase": "Running",
                                 "conditions": [{"type": "Ready", "status": "False" if restarting else "True"}],
                                 "containerStatuses": [{
                                     "name": component, "ready": not restarting, "restartCount": 7 if restarting else 0,
                                     "lastState": {"terminated": {"reason": "Error", "exitCode": 1}} if restarting
                                     else {}}]}})
    return items

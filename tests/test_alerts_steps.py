"""The alert runbooks' step kinds (crashloop, node, rollout) on small hand-made clusters, case by case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Report, Target
from clusterdoc.workers.cluster.snapshot import SnapshotCluster, SnapshotStore
from clusterdoc.workers.runbook.engine import run_request
from clusterdoc.workers.runbook.loader import Catalogue

NOW = datetime(2024, 11, 12, 10, 0, tzinfo=UTC)


def meta(name: str, namespace: str | None = "shop", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "uid": f"uid-{name}", "creationTimestamp": "2024-11-12T08:00:00Z", **extra}
    if namespace:
        data["namespace"] = namespace
    return data


def pod(name: str, *, last: dict[str, Any] | None = None, waiting: str | None = "CrashLoopBackOff",
        restarts: int = 5, memory_limit: str | None = "256Mi", phase: str = "Running", node: str = "n1",
        owner: str | None = None, ready: bool = False) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": "app:2"}
    if memory_limit:
        container["resources"] = {"limits": {"memory": memory_limit}}
    status: dict[str, Any] = {"name": "app", "restartCount": restarts, "ready": ready,
                              "state": {"waiting": {"reason": waiting}} if waiting else {"running": {}}}
    if last:
        status["lastState"] = {"terminated": last}
    references = [{"kind": "ReplicaSet", "name": owner, "uid": f"uid-{owner}", "controller": True}] if owner else []
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta(name, ownerReferences=references),
            "spec": {"nodeName": node, "containers": [container]},
            "status": {"phase": phase, "startTime": "2024-11-12T08:00:00Z", "containerStatuses": [status],
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def event(obj: dict[str, Any], reason: str, message: str, count: int = 3, kind: str = "Pod") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": meta(f"{obj['metadata']['name']}.{reason.lower()}",
                             obj["metadata"].get("namespace") or "default"),
            "involvedObject": {"kind": kind, "name": obj["metadata"]["name"],
                               "namespace": obj["metadata"].get("namespace")},
            "reason": reason, "message": message, "type": "Warning", "count": count,
            "firstTimestamp": "2024-11-12T09:00:00Z", "lastTimestamp": "2024-11-12T09:58:00Z"}


def run(objects: list[dict[str, Any]], runbook: str, target: Target,
        logs: dict[tuple[str, str, str, bool], str] | None = None) -> tuple[Report, str]:
    cluster = SnapshotCluster(SnapshotStore(objects, logs))
    report = run_request(Catalogue.load(), DiagnosisRequest("alert", runbook, target), cluster, NOW)
    text = " ".join(f"{f.title} {f.detail} {f.blocks}" for f in report.findings)
    return report, text


# -- crashloop -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "limit", "expected"),
    [
        ({"reason": "OOMKilled", "exitCode": 137}, "256Mi", "is OOMKilled: it needs more memory than its limit 256Mi"),
        ({"reason": "OOMKilled", "exitCode": 137}, None, "OOMKilled with no memory limit: the node ran out"),
        ({"reason": "Error", "exitCode": 1}, "256Mi", "exits with code 1 (general application error)"),
        ({"reason": "Error", "exitCode": 127}, None, "exits with code 127 (command not found"),
        ({"reason": "Error", "exitCode": 139}, None, "segmentation fault"),
    ],
    ids=["oom-limit", "oom-node", "app-error", "not-found", "segfault"],
)
def test_crashloop_reads_the_last_termination(last: dict[str, Any], limit: str | None, expected: str) -> None:
    report, text = run([pod("web-0", last=last, memory_limit=limit)], "crashloop", Target("Pod", "web-0", "shop"))
    assert expected in text
    assert report.verdict.layer == "workload" and report.verdict.severity == "critical"


def test_crashloop_shows_previous_log_restart_trend_and_probe_failures() -> None:
    crashing = pod("web-0", last={"reason": "Error", "exitCode": 1, "finishedAt": "2024-11-12T09:59:00Z"}, restarts=10)
    objects = [crashing, event(crashing, "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500"),
               event(crashing, "BackOff", "Back-off restarting failed container app", count=40)]
    logs = {("shop", "web-0", "app", True): "line 1\npanic: cannot connect to db\n"}
    _report, text = run(objects, "crashloop", Target("Pod", "web-0", "shop"), logs)
    assert "panic: cannot connect to db" in text and "previous run" in text
    assert "10 restarts in 120m (about 5.0 per hour)" in text
    assert "40 back-offs over 58m" in text
    assert "Liveness probe failures on pod web-0" in text


def test_crashloop_on_a_healthy_pod_says_nothing_restarts() -> None:
    report, text = run([pod("web-0", waiting=None, restarts=0, ready=True)], "crashloop",
                       Target("Pod", "web-0", "shop"))
    assert "no container is restarting" in text and report.verdict.severity in ("ok", "info")


# -- node ------------------------------------------------------------------------------------------


def node(name: str, *, ready: str = "True", pressure: str | None = None, taints: list[dict[str, str]] | None = None
         ) -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": ready, "reason": "KubeletReady" if ready == "True" else "KubeletNotReady",
                   "message": "container runtime is down" if ready != "True" else "kubelet is posting ready status",
                   "lastTransitionTime": "2024-11-12T09:50:00Z"}]
    if pressure:
        conditions.append({"type": pressure, "status": "True", "reason": "KubeletHasPressure",
                           "message": f"kubelet has {pressure}", "lastTransitionTime": "2024-11-12T09:55:00Z"})
    return {"apiVersion": "v1", "kind": "Node", "metadata": meta(name, None),
            "spec": {"taints": taints or []}, "status": {"conditions": conditions}}


def lease(name: str, renewed: str) -> dict[str, Any]:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta(name, "kube-node-lease"),
            "spec": {"holderIdentity": name, "renewTime": renewed}}


def test_node_not_ready_with_fresh_lease_points_at_the_runtime_and_counts_pods_by_phase() -> None:
    objects = [node("n1", ready="False"), lease("n1", "2024-11-12T09:59:50Z"),
               pod("a", waiting=None, ready=True), pod("b", phase="Pending", waiting="ContainerCreating"),
               pod("c", node="n2")]
    report, text = run(objects, "node", Target("Node", "n1"))
    assert "Node n1 is NotReady: container runtime is down" in text
    assert "renewed 10s ago" in text and "still renews its Lease" in text
    assert "2: 1 Pending, 1 Running" in text
    assert report.verdict.layer == "node" and report.verdict.severity == "critical"


def test_node_ready_with_stale_lease_and_pressure_is_flagged() -> None:
    taint = {"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"}
    objects = [node("n1", pressure="MemoryPressure", taints=[taint]), lease("n1", "2024-11-12T09:58:00Z")]
    report, text = run(objects, "node", Target("Node", "n1"))
    assert "heartbeat Lease is stale (renewed 2m ago)" in text
    assert "Node n1 has MemoryPressure: kubelet has MemoryPressure" in text
    assert "memory pressure" in text  # the taint's meaning
    assert report.verdict.severity == "warning"


def test_node_without_lease_says_so() -> None:
    _report, text = run([node("n1")], "node", Target("Node", "n1"))
    assert "no Lease kube-node-lease/n1" in text


# -- deployment ------------------------------------------------------------------------------------


def deployment(name: str, replicas: int, available: int, *, stuck: bool = False) -> dict[str, Any]:
    progressing = {"type": "Progressing", "status": "False" if stuck else "True",
                   "reason": "ProgressDeadlineExceeded" if stuck else "NewReplicaSetAvailable",
                   "message": f'ReplicaSet "{name}-2" has timed out progressing.'}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, generation=2),
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}},
            "status": {"observedGeneration": 2, "replicas": replicas, "updatedReplicas": replicas,
                       "readyReplicas": available, "availableReplicas": available, "conditions": [progressing]}}


def replicaset(name: str, deploy: str, revision: int, image: str, replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": meta(name, labels={"app": deploy},
                             annotations={"deployment.kubernetes.io/revision": str(revision)},
                             ownerReferences=[{"kind": "Deployment", "name": deploy, "uid": f"uid-{deploy}",
                                               "controller": True}]),
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": deploy}},
                     "template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
            "status": {"replicas": replicas, "readyReplicas": 0}}


def test_deployment_failed_create_points_at_the_controller_layer_with_the_message() -> None:
    rs = replicaset("web-2", "web", 2, "web:2", 3)
    objects = [deployment("web", 3, 0), rs,
               event(rs, "FailedCreate", 'pods "web-2-x" is forbidden: exceeded quota: compute, requested: cpu=2',
                     kind="ReplicaSet")]
    report, text = run(objects, "deployment", Target("Deployment", "web", "shop"))
    assert "cannot create pods (FailedCreate)" in text and "exceeded quota" in text
    assert report.verdict.layer == "controller" and "exceeded quota" in report.verdict.summary


def test_deployment_rollout_stuck_diagnoses_the_new_pods_and_offers_rollback() -> None:
    new_pod = pod("web-2-abc", last={"reason": "Error", "exitCode": 1}, owner="web-2")
    new_pod["metadata"]["labels"] = {"app": "web"}
    old_pod = pod("web-1-def", waiting=None, restarts=0, ready=True, owner="web-1")
    old_pod["metadata"]["labels"] = {"app": "web"}
    objects = [deployment("web", 2, 1, stuck=True), replicaset("web-1", "web", 1, "web:1", 1),
               replicaset("web-2", "web", 2, "web:2", 1), new_pod, old_pod]
    report, text = run(objects, "deployment", Target("Deployment", "web", "shop"))
    assert "rollout is stuck" in text and "ProgressDeadlineExceeded" in text
    assert "1 pods of deployment web are unavailable" in text
    assert "exits with code 1" in text and "web:1 → web:2" in text
    assert [r.action for r in report.remediations] == ["rollback_deployment"]
    assert report.verdict.layer == "workload"


def test_healthy_deployment_is_ok() -> None:
    report, text = run([deployment("web", 2, 2)], "deployment", Target("Deployment", "web", "shop"))
    assert "has all 2 replicas available" in text and report.verdict.severity in ("ok", "info")

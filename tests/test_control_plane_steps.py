"""Control-plane objects without Prometheus: version skew, node trouble and its offers, capacity and its offer.

The cluster is the fake API server (real REST paths, real kubernetes client); PROMETHEUS_URL and
ETCD_ENDPOINTS are unset, so the reports also say what they could not see.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Report
from clusterdoc.workers.cluster.base import ClusterError
from clusterdoc.workers.cluster.snapshot import SnapshotCluster, SnapshotStore
from clusterdoc.workers.runbook.engine import run_request
from clusterdoc.workers.runbook.loader import Catalogue
from tests import triage_world as world
from tests.harness.fake_kube import FakeKubeServer, live_cluster

NOW = datetime(2026, 3, 2, 13, 20, tzinfo=UTC)
VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.2"}


def ts(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(autouse=True)
def no_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PROMETHEUS_URL", "ETCD_ENDPOINTS", "CLUSTERDOC_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def run(objects: list[dict[str, Any]], runbook: str) -> Report:
    server = FakeKubeServer(SnapshotStore(objects, version=VERSION))
    try:
        request = DiagnosisRequest(runbook, runbook, None, "default", {}, f"/k8s {runbook}")
        return run_request(Catalogue.load(), request, live_cluster(server.url), now=NOW)
    finally:
        server.stop()


def by_name(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_version_skew_controller_newer_and_kubelet_too_old() -> None:
    objects = world.objects("healthy", NOW)
    kcm = by_name(objects, "Pod", "kube-controller-manager-cp-1")
    kcm["spec"]["containers"][0]["image"] = "registry.k8s.io/kube-controller-manager:v1.32.0"
    by_name(objects, "Node", "node-c")["status"]["nodeInfo"]["kubeletVersion"] = "v1.27.9"
    report = run(objects, "control-plane")
    text = "\n".join(f.title + " " + f.detail for f in report.findings)
    assert "kube-controller-manager v1.32.0 is newer than the API server v1.31.2" in text
    assert "kubelet v1.27.9 on 1 node(s), e.g. node-c is more than 3 minors older" in text


def pod(name: str, node: str, *, deleted: datetime | None = None, requests: str = "500m",
        owner: str = "web-5d8f") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "shop",
                            "ownerReferences": [{"kind": "ReplicaSet", "name": owner, "controller": True,
                                                 "uid": f"uid-{owner}", "apiVersion": "apps/v1"}]}
    if deleted:
        meta["deletionTimestamp"] = ts(deleted)
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "web:1",
                                            "resources": {"requests": {"cpu": requests, "memory": "1Gi"}}}]}
    if node:
        spec["nodeName"] = node
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec,
            "status": {"phase": "Running" if node else "Pending"}}


def test_lost_node_with_a_stuck_pod_and_a_node_under_pressure() -> None:
    objects = world.objects("healthy", NOW)
    lost = by_name(objects, "Node", "node-a")
    lost["status"]["conditions"][0].update(status="Unknown", reason="NodeStatusUnknown",
                                           message="Kubelet stopped posting node status.")
    by_name(objects, "Lease", "node-a")["spec"]["renewTime"] = ts(NOW - timedelta(minutes=20))
    squeezed = by_name(objects, "Node", "node-b")
    squeezed["status"]["conditions"].append({"type": "MemoryPressure", "status": "True"})
    objects.append(pod("web-1", "node-a", deleted=NOW - timedelta(minutes=12)))
    api = pod("api-5c9d7-x2k4q", "node-b", owner="api-5c9d7")
    api["metadata"]["labels"] = {"pod-template-hash": "5c9d7"}
    objects.append(api)
    report = run(objects, "triage")
    assert report.verdict.layer == "node", report.verdict.summary
    assert "node-a" in report.verdict.summary
    offered = {(r.action, r.target.name) for r in report.remediations}
    assert ("delete_pod", "web-1") in offered
    assert {("cordon_node", "node-b"), ("drain_node", "node-b"), ("rollout_restart", "api")} <= offered


def test_capacity_per_pool_and_scale_offer() -> None:
    objects = world.objects("healthy", NOW)
    objects += [pod(f"busy-{i}", f"node-{'abc'[i % 3]}", requests="1900m") for i in range(3)]
    objects += [pod(f"web-{i}", "", requests="1") for i in range(4)]
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "web:1"}]}}
    objects.append({"kind": "Deployment", "apiVersion": "apps/v1",
                    "metadata": {"name": "web", "namespace": "shop", "uid": "uid-web"},
                    "spec": {"replicas": 6, "selector": {"matchLabels": {"app": "web"}}, "template": template},
                    "status": {"replicas": 6, "readyReplicas": 2}})
    objects.append({"kind": "ReplicaSet", "apiVersion": "apps/v1",
                    "metadata": {"name": "web-5d8f", "namespace": "shop", "uid": "uid-web-5d8f",
                                 "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": True,
                                                      "uid": "uid-web", "apiVersion": "apps/v1"}]},
                    "spec": {"replicas": 6, "selector": {"matchLabels": {"app": "web"}}, "template": template}})
    report = run(copy.deepcopy(objects), "capacity")
    first = report.findings[0]
    assert first.title == "Node pool m5.large has 95% of its allocatable cpu requested"
    scale = [r for r in report.remediations if r.action == "scale"]
    assert scale and scale[0].target.name == "web" and scale[0].params == {"replicas": 2, "current": 6}


def test_a_check_that_runs_out_of_budget_is_reported_unfinished() -> None:
    server = FakeKubeServer(SnapshotStore(world.objects("healthy", NOW), version=VERSION))
    server.delay(r"^/api/v1/nodes", 4.0)
    try:
        request = DiagnosisRequest("triage", "triage", None, "default", {"budget_seconds": "1"}, "/k8s triage")
        report = run_request(Catalogue.load(), request, live_cluster(server.url), now=NOW)
    finally:
        server.stop()
    rows = {row["layer"]: row for row in report.to_json()["triage"]["layers"]}
    assert rows["node"]["status"] == "unfinished"
    assert rows["controller"]["status"] == "ok"
    assert "nodes (did not finish within 1 s)" in report.verdict.summary


def test_an_api_server_that_hangs_is_named_after_the_budget() -> None:
    server = FakeKubeServer(SnapshotStore(world.objects("healthy", NOW), version=VERSION))
    server.delay(r".", 5.0)
    try:
        request = DiagnosisRequest("triage", "triage", None, "default", {"budget_seconds": "1"}, "/k8s triage")
        report = run_request(Catalogue.load(), request, live_cluster(server.url), now=NOW)
    finally:
        server.stop()
    assert report.verdict.layer == "apiserver"
    assert "no check that reads it finished within the time budget" in report.verdict.summary


def test_version_from_the_live_api_server_and_from_a_snapshot_folder(tmp_path: Path) -> None:
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List",
                                                           "items": world.objects("healthy", NOW)}))
    (tmp_path / "version.json").write_text(json.dumps({"serverVersion": VERSION}))
    store = SnapshotStore.load(tmp_path)
    assert SnapshotCluster(store).version()["gitVersion"] == "v1.31.2"
    server = FakeKubeServer(store)
    try:
        assert live_cluster(server.url).version()["gitVersion"] == "v1.31.2"
    finally:
        server.stop()
    with pytest.raises(ClusterError, match=r"no version\.json"):
        SnapshotCluster(SnapshotStore([])).version()

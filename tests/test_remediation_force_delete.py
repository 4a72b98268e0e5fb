"""``delete_pod`` for a pod stuck Terminating on a lost node: a FORCE delete, offered and run.

The fake API server deletes pods the way kube-apiserver does (graceful deletion, a second DELETE
of a terminating pod changing nothing, ``gracePeriodSeconds: 0`` removing it at once, a kubelet
that confirms only on a Ready node). Triage on a cluster whose node-a stopped reporting offers a
force delete for each pod stuck there, at high risk, saying why and what it risks (a StatefulSet
pod may run twice); the approved action dry-runs then deletes with the UID precondition and grace
period 0, and refuses when the node came back or the pod is not the one diagnosed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Remediation, Report, Target
from clusterdoc.workers.cluster.snapshot import SnapshotStore
from clusterdoc.workers.remediation import runner
from clusterdoc.workers.remediation.base import ActionContext
from clusterdoc.workers.remediation.catalogue import use_catalogue_risks
from clusterdoc.workers.remediation.client import RemediationClient
from clusterdoc.workers.remediation.offers import approvable
from clusterdoc.workers.runbook.engine import run_request
from clusterdoc.workers.runbook.loader import Catalogue
from tests import triage_world as world
from tests.harness.fake_kube import FakeKubeServer, kube_configuration, live_cluster
from tests.harness.kube_mutations import MutationEngine, install

NOW = datetime.now(UTC).replace(microsecond=0)
VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.2"}


def ts(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(name: str, node: str, owner_kind: str, owner: str, *, deleted: datetime | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "shop", "uid": f"uid-{name}", "resourceVersion": "7",
                            "ownerReferences": [{"kind": owner_kind, "name": owner, "controller": True,
                                                 "uid": f"uid-{owner}", "apiVersion": "apps/v1"}]}
    if deleted:
        meta["deletionTimestamp"] = ts(deleted)
        meta["deletionGracePeriodSeconds"] = 30
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta,
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "app:1"}]},
            "status": {"phase": "Running"}}


def lost_node_world() -> list[dict[str, Any]]:
    objects = world.objects("healthy", NOW)
    lost = next(o for o in objects if o["kind"] == "Node" and o["metadata"]["name"] == "node-a")
    lost["status"]["conditions"][0].update(status="Unknown", reason="NodeStatusUnknown",
                                           message="Kubelet stopped posting node status.")
    lease = next(o for o in objects if o["kind"] == "Lease" and o["metadata"]["name"] == "node-a")
    lease["spec"]["renewTime"] = ts(NOW - timedelta(minutes=20))
    stuck = NOW - timedelta(minutes=12)
    objects += [pod("db-0", "node-a", "StatefulSet", "db", deleted=stuck),
                pod("web-5d8f-x1", "node-a", "ReplicaSet", "web-5d8f", deleted=stuck),
                pod("web-5d8f-y2", "node-b", "ReplicaSet", "web-5d8f"),
                pod("api-0", "node-a", "StatefulSet", "api")]
    return objects


@pytest.fixture
def kube(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKubeServer]:
    for name in ("PROMETHEUS_URL", "ETCD_ENDPOINTS", "CLUSTERDOC_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    server = FakeKubeServer(SnapshotStore(lost_node_world(), version=VERSION))
    yield server
    server.stop()


@pytest.fixture
def writes(kube: FakeKubeServer) -> MutationEngine:
    return install(kube)


def client(kube: FakeKubeServer) -> RemediationClient:
    return RemediationClient(kube_configuration(kube.url))


def read(kube: FakeKubeServer, name: str, kind: str = "Pod", namespace: str | None = "shop") -> dict[str, Any] | None:
    found = list(live_cluster(kube.url).list(kind, namespace, field_selector=f"metadata.name={name}"))
    return found[0] if found else None


def triage(kube: FakeKubeServer) -> Report:
    request = DiagnosisRequest("triage", "triage", None, "default", {}, "/k8s triage")
    report = run_request(Catalogue.load(), request, live_cluster(kube.url), now=NOW)
    use_catalogue_risks(report)  # as the worker does before posting and offering
    return report


# -- the fake API server deletes pods like kube-apiserver ------------------------------------------------


def test_fake_api_server_graceful_and_force_pod_deletion(kube: FakeKubeServer, writes: MutationEngine) -> None:
    api = client(kube)
    # a running pod on the lost node: a normal DELETE only marks it (its kubelet never confirms)
    marked = api.delete("Pod", "api-0", "shop", uid="uid-api-0")
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30 and marked["metadata"]["deletionTimestamp"]
    before = read(kube, "api-0")
    assert before is not None and before["metadata"]["deletionTimestamp"] == marked["metadata"]["deletionTimestamp"]
    # a second normal DELETE of a terminating pod changes nothing
    api.delete("Pod", "api-0", "shop", uid="uid-api-0")
    assert read(kube, "api-0") == before
    # a force delete in dry run keeps it; for real it is gone at once
    api.delete("Pod", "api-0", "shop", uid="uid-api-0", grace_period_seconds=0, dry_run=True)
    assert read(kube, "api-0") == before
    api.delete("Pod", "api-0", "shop", uid="uid-api-0", grace_period_seconds=0)
    assert read(kube, "api-0") is None
    # on a Ready node the kubelet confirms: a normal DELETE removes the pod
    api.delete("Pod", "web-5d8f-y2", "shop")
    assert read(kube, "web-5d8f-y2") is None
    assert [(m.name, m.dry_run, m.body.get("gracePeriodSeconds"), m.status) for m in writes.log] == [
        ("api-0", False, None, 200), ("api-0", False, None, 200), ("api-0", True, 0, 200), ("api-0", False, 0, 200),
        ("web-5d8f-y2", False, None, 200),
    ]


# -- the offer ------------------------------------------------------------------------------------------


def test_triage_offers_a_force_delete_that_says_why_and_what_it_risks(kube: FakeKubeServer) -> None:
    report = triage(kube)
    assert report.verdict.layer == "node", report.verdict.summary
    offers = {r.target.name: r for r in report.remediations if r.action == "delete_pod"}
    assert set(offers) == {"db-0", "web-5d8f-x1"}  # api-0 is not terminating: nothing to force
    db = offers["db-0"]
    assert db.params == {"force": True} and db.risk == "high"
    assert db.description == (
        "Force-delete pod shop/db-0 (grace period 0, as kubectl delete --force --grace-period=0): NotReady node "
        "node-a's kubelet cannot confirm its containers stopped, so if node-a comes back db-0 may run twice "
        "(StatefulSet db: one identity, one volume). Stuck Terminating for 12m; a normal delete does nothing. "
        "Approve only if node-a is really gone."
    )
    assert "may run twice" in db.description[:250]  # the part the Approve confirmation dialog shows
    web = offers["web-5d8f-x1"]
    assert web.risk == "high" and "Force-delete pod shop/web-5d8f-x1" in web.description
    assert "they may still run there until its kubelet stops them" in web.description
    assert "ReplicaSet web-5d8f keeps its replicas elsewhere" in web.description


# -- the approved action ----------------------------------------------------------------------------------


def test_approved_force_delete_dry_runs_then_deletes_with_grace_zero(kube: FakeKubeServer,
                                                                    writes: MutationEngine) -> None:
    report = triage(kube)
    offer = next(o for o in approvable(live_cluster(kube.url), report) if o.remediation.target.name == "db-0")
    assert offer.seen["uid"] == "uid-db-0"
    remediation = offer.remediation
    result = runner.execute(remediation.action, remediation.target, remediation.params, offer.seen,
                            ActionContext(client=client(kube)))
    assert result.status == "executed", result.outcome
    assert result.dry_run.startswith("pod shop/db-0 would be force-deleted (grace period 0, without node-a's")
    assert result.outcome == ("pod shop/db-0 force-deleted (grace period 0, without node-a's confirmation); "
                              "StatefulSet db can now replace it")
    assert result.changes == ["force-deleted pod shop/db-0 (uid uid-db-0, grace period 0) stuck on node-a"]
    assert [(m.method, m.name, m.dry_run, m.body.get("gracePeriodSeconds"), m.body.get("preconditions"))
            for m in writes.log] == [("DELETE", "db-0", True, 0, {"uid": "uid-db-0"}),
                                     ("DELETE", "db-0", False, 0, {"uid": "uid-db-0"})]
    assert read(kube, "db-0") is None


def test_a_normal_delete_of_a_terminating_pod_is_refused(kube: FakeKubeServer, writes: MutationEngine) -> None:
    seen = runner.observe(live_cluster(kube.url), Remediation("delete_pod", Target("Pod", "db-0", "shop"), "medium",
                                                              ""))
    result = runner.execute("delete_pod", Target("Pod", "db-0", "shop"), {}, seen, ActionContext(client=client(kube)))
    assert (result.status, result.rule) == ("refused", "already-terminating"), result.outcome
    assert "another normal delete does nothing" in result.outcome
    assert writes.log == []


def test_force_delete_refused_when_the_node_came_back(kube: FakeKubeServer, writes: MutationEngine) -> None:
    target = Target("Pod", "db-0", "shop")
    seen = runner.observe(live_cluster(kube.url), Remediation("delete_pod", target, "high", "", {"force": True}))
    client(kube).patch("Node", "node-a", None, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    result = runner.execute("delete_pod", target, {"force": True}, seen, ActionContext(client=client(kube)))
    assert (result.status, result.rule) == ("refused", "node-back"), result.outcome
    assert result.outcome == ("refused: node node-a is Ready again: its kubelet will finish deleting pod shop/db-0 "
                              "itself, so a force delete is not needed")
    assert [m.method for m in writes.log] == ["PATCH"]  # no DELETE was sent
    assert read(kube, "db-0") is not None


def test_force_delete_refused_for_a_pod_that_is_not_terminating(kube: FakeKubeServer, writes: MutationEngine) -> None:
    target = Target("Pod", "api-0", "shop")
    seen = runner.observe(live_cluster(kube.url), Remediation("delete_pod", target, "high", "", {"force": True}))
    result = runner.execute("delete_pod", target, {"force": True}, seen, ActionContext(client=client(kube)))
    assert (result.status, result.rule) == ("refused", "not-terminating"), result.outcome
    assert writes.log == []

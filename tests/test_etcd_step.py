"""The ``etcd`` step and triage's etcd row against REAL etcd members (Debian's etcd-server 3.4).

One member; three members with one stopped (degraded, quorum holds) and two stopped (no quorum:
the verdict is etcd); a TLS member with certificates made here; etcd down; a fragmented cluster
(defrag offered for one follower, never the leader first); etcd 3.4 under a Kubernetes 1.31 API
server (story 6: 1.22+ needs etcd 3.5+).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Report
from clusterdoc.workers.cluster.snapshot import SnapshotStore
from clusterdoc.workers.etcd_client import EtcdClient
from clusterdoc.workers.runbook.engine import run_request
from clusterdoc.workers.runbook.loader import Catalogue
from tests import triage_world as world
from tests.harness.etcd_server import EtcdCluster
from tests.harness.fake_kube import FakeKubeServer, live_cluster

NOW = datetime.now(UTC).replace(microsecond=0)


def version(minor: int) -> dict[str, str]:
    return {"major": "1", "minor": str(minor), "gitVersion": f"v1.{minor}.4"}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture
def three() -> Iterator[EtcdCluster]:
    cluster = EtcdCluster(3)
    yield cluster
    cluster.stop()


def run(catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch, etcd: EtcdCluster | None, runbook: str = "etcd",
        minor: int = 21, **params: str) -> Report:
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    monkeypatch.delenv("CLUSTERDOC_CONFIG", raising=False)
    if etcd is not None:
        monkeypatch.setenv("ETCD_ENDPOINTS", ",".join(etcd.endpoints))
        if etcd.tls:
            monkeypatch.setenv("ETCD_CACERT", str(etcd.tls.ca))
            monkeypatch.setenv("ETCD_CERT", str(etcd.tls.client_cert))
            monkeypatch.setenv("ETCD_KEY", str(etcd.tls.client_key))
    server = FakeKubeServer(SnapshotStore(world.objects("healthy", NOW, f"v1.{minor}.4"), version=version(minor)))
    try:
        request = DiagnosisRequest(runbook, runbook, None, "default", dict(params), f"/k8s {runbook}")
        return run_request(catalogue, request, live_cluster(server.url), now=NOW)
    finally:
        server.stop()


def test_one_member_healthy(catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch) -> None:
    etcd = EtcdCluster(1)
    try:
        report = run(catalogue, monkeypatch, etcd)
    finally:
        etcd.stop()
    assert report.verdict.layer == "none", report.verdict.summary
    assert "1/1 members" in report.verdict.summary
    first = report.findings[0]
    assert first.title.startswith("etcd healthy: 1/1 members answer; quorum 1; 0 more can fail")
    assert first.blocks[0].rows[0][2] == "leader"  # type: ignore[union-attr]


def test_three_members_one_stopped_is_degraded_but_keeps_quorum(catalogue: Catalogue, three: EtcdCluster,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    three.stop_member(2)
    report = run(catalogue, monkeypatch, three)
    assert report.verdict.layer == "etcd" and report.verdict.severity == "warning"
    assert "does not answer; quorum holds (2/3 members answer; quorum 2; 0 more can fail" in report.verdict.summary
    silent = [f for f in report.findings if f.title == f"etcd member {three.endpoints[2]} does not answer"]
    assert silent and "cannot reach etcd member" in silent[0].detail


def test_three_members_two_stopped_lose_quorum(catalogue: Catalogue, three: EtcdCluster,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    three.stop_member(1)
    three.stop_member(2)
    report = run(catalogue, monkeypatch, three, "triage")
    assert report.verdict.layer == "etcd" and report.verdict.severity == "critical"
    assert "no quorum" in report.verdict.summary


def test_tls_member(catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch) -> None:
    etcd = EtcdCluster(1, tls=True)
    try:
        report = run(catalogue, monkeypatch, etcd)
        assert report.verdict.layer == "none", report.verdict.summary
        assert EtcdClient([etcd.endpoints[0]]).member_status(etcd.endpoints[0]).error  # no client cert: refused
    finally:
        etcd.stop()


def test_etcd_down_says_what_it_could_not_see(catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch) -> None:
    etcd = EtcdCluster(1)
    etcd.stop()
    report = run(catalogue, monkeypatch, etcd)
    assert report.verdict.layer == "unknown"
    assert report.verdict.summary.startswith("etcd could not be seen: etcd members: no member answered "
                                             "(connection refused)")
    assert any(f.title == "No etcd member answers (0 of 1)" and "cannot reach" in f.detail for f in report.findings)
    report = run(catalogue, monkeypatch, etcd, "triage")
    assert report.verdict.layer == "none"
    assert "could not see etcd (no member answered (connection refused)" in report.verdict.summary


def test_fragmented_cluster_offers_one_follower_defrag(catalogue: Catalogue, three: EtcdCluster,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    three.fragment()
    report = run(catalogue, monkeypatch, three, min_defrag_bytes="0", fragmentation="1.2")
    offers = [r for r in report.remediations if r.action == "etcd_defrag"]
    assert len(offers) == 1
    leader = next(s for s in EtcdClient(three.endpoints).survey().statuses if s.is_leader)
    assert offers[0].params["endpoint"] != leader.endpoint
    assert "never defragmented first" in offers[0].description


def test_etcd_too_old_for_the_api_server(catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch) -> None:
    etcd = EtcdCluster(1)
    try:
        report = run(catalogue, monkeypatch, etcd, minor=31)
    finally:
        etcd.stop()
    assert report.verdict.layer == "etcd" and report.verdict.severity == "critical"
    assert "1.22+ needs etcd 3.5+" in report.verdict.summary


def test_nospace_alarm(catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch) -> None:
    etcd = EtcdCluster(1, extra=("--quota-backend-bytes", str(2 * 1024**2)))
    try:
        etcd.fill()
        report = run(catalogue, monkeypatch, etcd)
    finally:
        etcd.stop()
    assert report.verdict.layer == "etcd" and report.verdict.severity == "critical"
    text = " ".join(f.title + " " + f.detail for f in report.findings)
    assert "etcd alarm NOSPACE@" in text

"""Triage against a REAL Prometheus loaded with backfilled series, one scenario per layer of the notes.

etcd fsync 2 ms → 200 ms; API server p99 concentrated on one custom resource (the bad CRD); a
scheduler backlog; PLEG relist above 10 s on one node; a stale controller-manager Lease with a
restarting pod; a healthy cluster. The cluster side is the fake API server (real REST paths, the
real kubernetes client). One Prometheus serves every scenario (the job matchers select them).
"""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Report
from clusterdoc.workers.cluster.snapshot import SnapshotStore
from clusterdoc.workers.runbook.engine import run_request
from clusterdoc.workers.runbook.loader import Catalogue
from tests import triage_world as world
from tests.harness.fake_kube import FakeKubeServer, live_cluster
from tests.harness.prometheus import AuthProxy, PrometheusServer
from tests.harness.tls import make_tls_files

END = datetime.now(UTC).replace(second=0, microsecond=0)
VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.2", "platform": "linux/amd64"}


@pytest.fixture(scope="module")
def prometheus() -> Iterator[PrometheusServer]:
    server = PrometheusServer(world.metrics(END.timestamp()))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def configure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scenario: str, url: str | None,
              timeout: float = 10.0) -> None:
    config = tmp_path / f"{scenario}.yaml"
    config.write_text(yaml.safe_dump({"prometheus": {"jobs": world.jobs(scenario)}}))
    monkeypatch.setenv("CLUSTERDOC_CONFIG", str(config))
    monkeypatch.setenv("PROMETHEUS_TIMEOUT", str(timeout))
    monkeypatch.delenv("ETCD_ENDPOINTS", raising=False)
    if url:
        monkeypatch.setenv("PROMETHEUS_URL", url)
    else:
        monkeypatch.delenv("PROMETHEUS_URL", raising=False)


def run(catalogue: Catalogue, scenario: str, runbook: str = "triage", **params: str) -> Report:
    store = SnapshotStore(world.objects(scenario, END), version=VERSION)
    server = FakeKubeServer(store)
    try:
        request = DiagnosisRequest(runbook, runbook, None, "default", dict(params), f"/k8s {runbook}")
        return run_request(catalogue, request, live_cluster(server.url), now=END)
    finally:
        server.stop()


@pytest.mark.parametrize("scenario", world.SCENARIOS)
def test_triage_names_the_broken_layer(prometheus: PrometheusServer, catalogue: Catalogue,
                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scenario: str) -> None:
    configure(monkeypatch, tmp_path, scenario, prometheus.url)
    report = run(catalogue, scenario)
    assert report.verdict.layer == world.EXPECTED[scenario], report.verdict.summary
    rows = {row["layer"]: row for row in report.to_json()["triage"]["layers"]}
    assert set(rows) == {"apiserver", "etcd", "controller", "scheduler", "node"}
    if scenario == "healthy":
        assert report.verdict.severity in ("ok", "info")
        assert all(row["status"] == "ok" for row in rows.values()), rows
        assert not report.attachments


def test_etcd_fsync_onset_value_and_member(prometheus: PrometheusServer, catalogue: Catalogue,
                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configure(monkeypatch, tmp_path, "etcd-slow", prometheus.url)
    report = run(catalogue, "etcd-slow")
    fsync = next(f for f in report.findings if f.title.startswith("etcd WAL fsync p99"))
    assert "2.0 ms → 254 ms" in fsync.title
    assert f"{ONSET:%H:%M}" in fsync.title and "18m ago" in fsync.title
    assert "instance=etcd-" in fsync.title
    # the API server is slow too, and the verdict says which is cause and which effect
    assert "API server" in report.verdict.summary and "effect" in report.verdict.summary
    reasoning = " ".join(report.to_json()["triage"]["reasoning"])
    assert "slow etcd makes the API server slow" in reasoning
    writes = next(f for f in report.findings if f.title.startswith("API writes per resource (etcd load)"))
    assert "resource=configmaps: 0.2/s → 50/s" in writes.title
    charts = [a for a in report.attachments if a.filename.startswith("etcd-fsync")]
    assert charts and charts[0].data.startswith(b"\x89PNG")


def test_bad_crd_names_the_custom_resource(prometheus: PrometheusServer, catalogue: Catalogue,
                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configure(monkeypatch, tmp_path, "bad-crd", prometheus.url)
    report = run(catalogue, "bad-crd")
    assert "resource=widgets" in report.verdict.summary
    latency = next(f for f in report.findings if f.title.startswith("API server request p99"))
    assert "widgets.example.com" in latency.detail and "custom resource" in latency.detail


def test_pleg_names_the_node_and_offers_cordon_and_drain(prometheus: PrometheusServer, catalogue: Catalogue,
                                                         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configure(monkeypatch, tmp_path, "pleg", prometheus.url)
    report = run(catalogue, "pleg")
    assert "node=node-b" in report.verdict.summary
    offered = {(r.action, r.target.name) for r in report.remediations}
    assert {("cordon_node", "node-b"), ("drain_node", "node-b")} <= offered


def test_stale_controller_lease_and_restarting_pod(prometheus: PrometheusServer, catalogue: Catalogue,
                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configure(monkeypatch, tmp_path, "controller-stale", prometheus.url)
    report = run(catalogue, "controller-stale")
    assert report.verdict.severity == "critical"
    assert "Lease is stale" in report.verdict.summary
    text = " ".join(f.title + " " + f.detail for f in report.findings)
    assert "7 restarts" in text


def test_metrics_preset_and_promql(prometheus: PrometheusServer, catalogue: Catalogue,
                                   monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configure(monkeypatch, tmp_path, "scheduler-backlog", prometheus.url)
    report = run(catalogue, "scheduler-backlog", "metrics", query="scheduler-pending")
    assert report.findings[0].title.startswith("scheduler pending pods on queue=active: 3 → 450 at")
    trend = dict(report.findings[0].blocks[0].items)["Trend"]  # type: ignore[union-attr]
    assert trend.startswith("▁") and "█" in trend
    report = run(catalogue, "scheduler-backlog", "metrics",
                 query='sum(scheduler_pending_pods{scenario="scheduler-backlog"})')
    assert any("series for the query" in f.title for f in report.findings)


def test_prometheus_down_is_a_finding_and_the_verdict_says_so(catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    configure(monkeypatch, tmp_path, "healthy", f"http://127.0.0.1:{port}")
    report = run(catalogue, "healthy")
    assert report.verdict.layer == "none"
    assert "could not see" in report.verdict.summary
    assert "unreachable" in report.verdict.summary
    assert any(f.title.startswith("Could not see") and "connection refused" in f.detail for f in report.findings)


def test_query_timeout_is_a_finding(catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A Prometheus that accepts connections and never answers: each layer waits one timeout, then says so."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        configure(monkeypatch, tmp_path, "healthy", f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.5)
        report = run(catalogue, "healthy")
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()
    assert "did not answer within 0.5 s" in report.verdict.summary
    assert report.verdict.layer == "none"


def test_unconfigured_prometheus(catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configure(monkeypatch, tmp_path, "healthy", None)
    report = run(catalogue, "metrics", "metrics")
    assert report.findings[0].title == "Could not see the metrics"
    assert "PROMETHEUS_URL is not set" in report.findings[0].detail


ONSET = datetime.fromtimestamp(END.timestamp() - world.ONSET_MINUTES * 60, UTC)


def test_apiserver_and_health_runbooks(prometheus: PrometheusServer, catalogue: Catalogue,
                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configure(monkeypatch, tmp_path, "bad-crd", prometheus.url)
    report = run(catalogue, "bad-crd", "apiserver")
    assert report.findings[0].title.startswith("API server request p99 on verb=PUT group=example.com "
                                               "resource=widgets: 16 ms → 4.0 s at")
    assert any(a.filename.startswith("apiserver-latency") for a in report.attachments)
    configure(monkeypatch, tmp_path, "healthy", prometheus.url)
    report = run(catalogue, "healthy", "health")
    assert report.verdict.layer == "none" and not report.attachments


@pytest.mark.parametrize("auth", ["bearer", "basic"])
def test_prometheus_behind_tls_with_a_custom_ca_and_auth(prometheus: PrometheusServer, catalogue: Catalogue,
                                                         monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         auth: str) -> None:
    certs = make_tls_files(tmp_path / "tls")
    expected = "Bearer s3cret" if auth == "bearer" else "Basic " + base64.b64encode(b"triage:pa55").decode()
    proxy = AuthProxy(prometheus.url, certs.cert, certs.key, expected)
    try:
        configure(monkeypatch, tmp_path, "etcd-slow", proxy.url)
        if auth == "bearer":
            monkeypatch.setenv("PROMETHEUS_TOKEN", "s3cret")
        else:
            monkeypatch.setenv("PROMETHEUS_USERNAME", "triage")
            monkeypatch.setenv("PROMETHEUS_PASSWORD", "pa55")
        monkeypatch.setenv("PROMETHEUS_CACERT", str(certs.ca))
        report = run(catalogue, "etcd-slow", "metrics", query="etcd-fsync")
        assert report.findings[0].title.startswith("etcd WAL fsync p99")
        assert set(proxy.seen) == {expected}
        monkeypatch.delenv("PROMETHEUS_CACERT")
        report = run(catalogue, "etcd-slow", "metrics", query="etcd-fsync")
        assert "certificate verify failed" in report.findings[0].detail
    finally:
        proxy.stop()

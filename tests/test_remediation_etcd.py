"""``etcd_defrag`` against a REAL three-member etcd cluster (``/usr/bin/etcd``) on loopback ports.

One member is defragmented per action, through the gRPC gateway; a member that is down among the
others makes the action refuse; a member replaced since diagnosis (another member ID) is refused.
The ``etcd`` step's offer records the member (endpoint, member ID, whether it led); at approval a
member that has since become the leader while followers are still fragmented is refused, and so is
a cluster without quorum.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Target
from clusterdoc.workers.cluster.snapshot import SnapshotStore
from clusterdoc.workers.etcd_client import EtcdClient
from clusterdoc.workers.jobs import etcd_for_offers
from clusterdoc.workers.remediation import runner
from clusterdoc.workers.remediation.actions.etcd_defrag import EtcdDefrag
from clusterdoc.workers.remediation.base import ActionContext
from clusterdoc.workers.remediation.etcd import EtcdMaintenance
from clusterdoc.workers.remediation.offers import Offer, approvable
from clusterdoc.workers.runbook.engine import run_request
from clusterdoc.workers.runbook.loader import Catalogue
from tests import triage_world as world
from tests.harness.etcd_server import EtcdCluster
from tests.harness.fake_kube import FakeKubeServer, live_cluster


@pytest.fixture
def etcd_cluster() -> Iterator[EtcdCluster]:
    cluster = EtcdCluster()
    yield cluster
    cluster.stop()


def context(cluster: EtcdCluster) -> tuple[ActionContext, list[str]]:
    progress: list[str] = []
    return ActionContext(etcd=EtcdMaintenance(cluster.endpoints), progress=progress.append), progress


def followers(ctx: ActionContext, endpoints: list[str]) -> list[str]:
    statuses = [ctx.etcd.status(endpoint) for endpoint in endpoints]
    return [s["endpoint"] for s in statuses if s["member_id"] != s["leader"]]


def test_defrag_one_member_releases_space(etcd_cluster: EtcdCluster) -> None:
    ctx, progress = context(etcd_cluster)
    member = followers(ctx, etcd_cluster.endpoints)[0]
    etcd_cluster.fragment(200)  # writes replicate: every member has pages to give back
    before = ctx.etcd.status(member)
    assert before["db_size"] > before["db_size_in_use"]
    seen = EtcdDefrag().observe(before)
    assert seen == {"endpoint": member, "member_id": before["member_id"], "was_leader": False,
                    "db_size": before["db_size"]}
    result = runner.execute("etcd_defrag", Target("EtcdMember", "m1"), {"endpoint": member}, seen, ctx)
    assert result.status == "executed", result.outcome
    assert "reachable" in result.dry_run and "in use" in result.dry_run
    after = ctx.etcd.status(member)
    assert after["db_size"] < before["db_size"]
    assert result.state == {"db_size_before": before["db_size"], "db_size_after": after["db_size"]}
    assert any("blocks until done" in line for line in progress)
    others = [ctx.etcd.status(e)["db_size"] for e in etcd_cluster.endpoints if e != member]
    assert all(size >= before["db_size_in_use"] for size in others)  # the other members were not touched


def test_refused_when_another_member_is_down(etcd_cluster: EtcdCluster) -> None:
    ctx, _ = context(etcd_cluster)
    member, other = followers(ctx, etcd_cluster.endpoints)  # stop a follower: no election, quorum holds
    seen = EtcdDefrag().observe(ctx.etcd.status(member))
    etcd_cluster.stop_member(etcd_cluster.endpoints.index(other))
    result = runner.execute("etcd_defrag", Target("EtcdMember", "m0"), {"endpoint": member}, seen, ctx)
    assert (result.status, result.rule) == ("refused", "etcd-peers-unhealthy")
    assert other in result.outcome


def test_refused_for_unknown_endpoint_or_other_member(etcd_cluster: EtcdCluster) -> None:
    ctx, _ = context(etcd_cluster)
    unknown = runner.execute("etcd_defrag", Target("EtcdMember", "x"), {"endpoint": "http://10.9.9.9:2379"}, {}, ctx)
    assert (unknown.status, unknown.rule) == ("refused", "unknown-etcd-member")
    member = etcd_cluster.endpoints[0]
    replaced = runner.execute("etcd_defrag", Target("EtcdMember", "m0"), {"endpoint": member},
                              {"member_id": "12345"}, ctx)
    assert (replaced.status, replaced.rule) == ("refused", "target-replaced")
    unknown_member = runner.execute("etcd_defrag", Target("EtcdMember", "m0"), {"endpoint": member}, {}, ctx)
    assert (unknown_member.status, unknown_member.rule) == ("refused", "no-identity")


# -- the offer made by the etcd step carries the member; the approval re-reads it ------------------------


@pytest.fixture
def fragmented() -> Iterator[EtcdCluster]:
    cluster = EtcdCluster(3)
    cluster.fragment()
    yield cluster
    cluster.stop()


def offer_from_the_etcd_step(etcd: EtcdCluster, monkeypatch: pytest.MonkeyPatch) -> Offer:
    """Diagnose with the real ``etcd`` runbook (thresholds low enough for the test's small database)."""
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    monkeypatch.delenv("CLUSTERDOC_CONFIG", raising=False)
    monkeypatch.setenv("ETCD_ENDPOINTS", ",".join(etcd.endpoints))
    now = datetime.now(UTC).replace(microsecond=0)
    server = FakeKubeServer(SnapshotStore(world.objects("healthy", now, "v1.21.4"),
                                          version={"major": "1", "minor": "21", "gitVersion": "v1.21.4"}))
    try:
        request = DiagnosisRequest("etcd", "etcd", None, "default", {"min_defrag_bytes": "0", "fragmentation": "1.2"},
                                   "/k8s etcd")
        cluster = live_cluster(server.url)
        report = run_request(Catalogue.load(), request, cluster, now=now)
        access = etcd_for_offers(report)  # what the worker's diagnosis job hands the offers: ETCD_ENDPOINTS
        assert access is not None and access.endpoints == etcd.endpoints
        offers = [o for o in approvable(cluster, report, access)
                  if o.remediation.action == "etcd_defrag"]
    finally:
        server.stop()
    assert len(offers) == 1, report.remediations
    return offers[0]


def harness_context(etcd: EtcdCluster) -> ActionContext:
    return ActionContext(etcd=EtcdMaintenance(etcd.endpoints))


def test_offer_carries_the_member_and_defragments_that_follower(fragmented: EtcdCluster,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    offer = offer_from_the_etcd_step(fragmented, monkeypatch)
    endpoint = offer.remediation.params["endpoint"]
    status = EtcdClient(fragmented.endpoints).status(endpoint)
    assert offer.seen["endpoint"] == endpoint and offer.seen["member_id"] == status["member_id"]
    assert offer.seen["was_leader"] is False and status["leader"] != status["member_id"]
    remediation = offer.remediation
    result = runner.execute(remediation.action, remediation.target, remediation.params, offer.seen,
                            harness_context(fragmented))
    assert result.status == "executed", result.outcome
    assert result.state["db_size_after"] < result.state["db_size_before"]


def test_refused_when_the_member_became_the_leader(fragmented: EtcdCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    offer = offer_from_the_etcd_step(fragmented, monkeypatch)
    client = EtcdClient(fragmented.endpoints)
    target = client.status(offer.remediation.params["endpoint"])
    leader = next(s for s in map(client.status, fragmented.endpoints) if s["member_id"] == s["leader"])
    moved = fragmented.http.request("POST", leader["endpoint"] + "/v3/maintenance/transfer-leadership",
                                    json={"targetID": target["member_id"]})
    assert moved.status == 200, moved.data
    remediation = offer.remediation
    result = runner.execute(remediation.action, remediation.target, remediation.params, offer.seen,
                            harness_context(fragmented))
    assert (result.status, result.rule) == ("refused", "etcd-leader-first"), result.outcome
    assert "has become the leader while followers" in result.outcome
    assert "never the leader first" in result.outcome and "\n" not in result.outcome
    assert leader["endpoint"] in result.outcome  # the old leader, now a fragmented follower, is named
    assert client.status(target["endpoint"])["db_size"] == target["db_size"]  # nothing was defragmented


def test_refused_without_quorum() -> None:
    etcd = EtcdCluster(3)
    try:
        ctx = harness_context(etcd)
        member = etcd.endpoints[0]
        seen = EtcdDefrag().observe(ctx.etcd.status(member))
        etcd.stop_member(1)
        etcd.stop_member(2)
        result = runner.execute("etcd_defrag", Target("EtcdMember", "m0"), {"endpoint": member}, seen, ctx)
    finally:
        etcd.stop()
    assert (result.status, result.rule) == ("refused", "etcd-no-quorum"), result.outcome
    assert "etcd has no quorum:" in result.outcome and "of 3 members answer with a leader (needs 2)" in result.outcome

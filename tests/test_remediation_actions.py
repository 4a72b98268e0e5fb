"""Every remediation action against the fake API server, through the real ``kubernetes`` client.

Each test records the target's identity at "diagnosis" through the read-only LiveCluster, then
runs the action with :func:`clusterdoc.workers.remediation.runner.execute` and checks what the API server
saw (its mutation log) and the state it is left in.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from clusterdoc.report import Remediation, Report, Severity, Target, Verdict
from clusterdoc.workers.remediation import runner
from clusterdoc.workers.remediation.actions.rollout_restart import RESTARTED_AT
from clusterdoc.workers.remediation.base import ActionContext
from clusterdoc.workers.remediation.client import MERGE_PATCH, STRATEGIC_MERGE_PATCH, RemediationClient
from clusterdoc.workers.remediation.offers import approvable
from tests.harness.fake_kube import FakeKubeServer, kube_configuration, live_cluster
from tests.harness.kube_mutations import MutationEngine, install

SNAPSHOT = Path(__file__).parent / "data" / "remediation" / "cluster.yaml"
WEB_PODS = ("web-8c4b2-aaaaa", "web-8c4b2-bbbbb")


@pytest.fixture
def kube(fake_kube: Callable[[Path], FakeKubeServer]) -> FakeKubeServer:
    return fake_kube(SNAPSHOT)


@pytest.fixture
def writes(kube: FakeKubeServer) -> MutationEngine:
    """The fake API server's write side and its log of every write."""
    return install(kube)


class FakeTime:
    """A clock that only moves when the drain sleeps (no wall-clock waits in tests)."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def make_context(kube: FakeKubeServer, **options: Any) -> tuple[ActionContext, list[str]]:
    progress: list[str] = []
    fake_time = FakeTime()
    ctx = ActionContext(
        client=RemediationClient(kube_configuration(kube.url)), progress=progress.append,
        clock=fake_time.clock, sleep=fake_time.sleep, **options,
    )
    return ctx, progress


def run(kube: FakeKubeServer, action: str, target: Target, params: dict[str, Any] | None = None,
        **options: Any) -> tuple[runner.Execution, list[str]]:
    """Observe at 'diagnosis', then execute."""
    seen = runner.observe(live_cluster(kube.url), Remediation(action, target, "low", "", dict(params or {})))
    ctx, progress = make_context(kube, **options)
    return runner.execute(action, target, dict(params or {}), seen, ctx), progress


def get(kube: FakeKubeServer, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    return live_cluster(kube.url).get(kind, name, namespace)


def gone(kube: FakeKubeServer, kind: str, name: str, namespace: str | None = None) -> bool:
    return not list(live_cluster(kube.url).list(kind, namespace, field_selector=f"metadata.name={name}"))


# -- delete_pod -----------------------------------------------------------------------------------


def test_delete_pod_dry_run_then_delete_with_uid_precondition(kube: FakeKubeServer, writes: MutationEngine) -> None:
    result, _ = run(kube, "delete_pod", Target("Pod", WEB_PODS[0], "shop"))
    assert result.status == "executed", result.outcome
    assert "would be deleted" in result.dry_run and "ReplicaSet web-8c4b2 will recreate it" in result.outcome
    writes = writes.log
    assert [(m.method, m.name, m.dry_run) for m in writes] == [
        ("DELETE", WEB_PODS[0], True), ("DELETE", WEB_PODS[0], False)
    ]
    assert writes[1].body["preconditions"] == {"uid": f"uid-{WEB_PODS[0]}"}
    assert gone(kube, "Pod", WEB_PODS[0], "shop")
    assert result.changes == [f"deleted pod shop/{WEB_PODS[0]} (uid uid-{WEB_PODS[0]})"]


def test_delete_pod_without_controller_refused_unless_waived(kube: FakeKubeServer, writes: MutationEngine) -> None:
    refused, _ = run(kube, "delete_pod", Target("Pod", "debug", "shop"))
    assert (refused.status, refused.rule) == ("refused", "pod-without-controller")
    assert "nothing would recreate it" in refused.outcome
    assert writes.log == []
    allowed, _ = run(kube, "delete_pod", Target("Pod", "debug", "shop"), waived=frozenset({"pod-without-controller"}))
    assert allowed.status == "executed"
    assert gone(kube, "Pod", "debug", "shop")


def test_delete_pod_refused_when_pod_was_replaced(kube: FakeKubeServer, writes: MutationEngine) -> None:
    ctx, _ = make_context(kube)
    result = runner.execute("delete_pod", Target("Pod", WEB_PODS[0], "shop"), {}, {"uid": "uid-of-an-older-pod"}, ctx)
    assert (result.status, result.rule) == ("refused", "target-replaced")
    assert "UID changed from uid-of-an-older-pod" in result.outcome
    assert writes.log == []


# -- rollout_restart and scale ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "namespace"),
    [("Deployment", "web", "shop"), ("StatefulSet", "db", "shop"), ("DaemonSet", "fluent", "kube-system")],
    ids=["deployment", "statefulset", "daemonset"],
)
def test_rollout_restart_sets_restarted_at(
    kube: FakeKubeServer, writes: MutationEngine, kind: str, name: str, namespace: str
) -> None:
    before = get(kube, kind, name, namespace)
    result, _ = run(kube, "rollout_restart", Target(kind, name, namespace))
    assert result.status == "executed", result.outcome
    after = get(kube, kind, name, namespace)
    assert RESTARTED_AT in after["spec"]["template"]["metadata"]["annotations"]
    assert after["spec"]["template"]["spec"] == before["spec"]["template"]["spec"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert {m.content_type for m in writes.log} == {STRATEGIC_MERGE_PATCH}
    assert len(writes.applied()) == 1


def test_rollout_restart_refused_when_generation_moved(kube: FakeKubeServer, writes: MutationEngine) -> None:
    seen = runner.observe(live_cluster(kube.url), Remediation("rollout_restart", Target("Deployment", "web", "shop"),
                                                              "medium", ""))
    someone_else = RemediationClient(kube_configuration(kube.url))
    someone_else.patch("Deployment", "web", "shop", {"spec": {"replicas": 4}})
    ctx, _ = make_context(kube)
    result = runner.execute("rollout_restart", Target("Deployment", "web", "shop"), {}, seen, ctx)
    assert (result.status, result.rule) == ("refused", "generation-moved")
    assert "generation 4 is now 5" in result.outcome
    assert len(writes.applied()) == 1  # only someone else's patch


def test_scale_deployment_and_statefulset(kube: FakeKubeServer, writes: MutationEngine) -> None:
    result, _ = run(kube, "scale", Target("Deployment", "web", "shop"), {"replicas": 5, "current": 2})
    assert result.status == "executed", result.outcome
    assert result.outcome == "deployment shop/web scaled from 2 to 5 replicas"
    assert get(kube, "Deployment", "web", "shop")["spec"]["replicas"] == 5
    assert writes.log[-1].content_type == MERGE_PATCH
    sts, _ = run(kube, "scale", Target("StatefulSet", "db", "shop"), {"replicas": 0})
    assert sts.status == "executed"
    assert get(kube, "StatefulSet", "db", "shop")["spec"]["replicas"] == 0


def test_scale_rejects_bad_parameters_and_kinds(kube: FakeKubeServer, writes: MutationEngine) -> None:
    bad, _ = run(kube, "scale", Target("Deployment", "web", "shop"), {"replicas": -1})
    assert (bad.status, bad.rule) == ("refused", "invalid-action")
    wrong, _ = run(kube, "scale", Target("DaemonSet", "fluent", "kube-system"), {"replicas": 2})
    assert (wrong.status, wrong.rule) == ("refused", "wrong-kind")
    assert writes.log == []


# -- cordon / uncordon ---------------------------------------------------------------------------------


def test_cordon_then_cordon_again_is_refused(kube: FakeKubeServer, writes: MutationEngine) -> None:
    result, _ = run(kube, "cordon_node", Target("Node", "node-a"))
    assert result.status == "executed"
    assert get(kube, "Node", "node-a")["spec"]["unschedulable"] is True
    again, _ = run(kube, "cordon_node", Target("Node", "node-a"))
    assert (again.status, again.rule) == ("refused", "node-already-cordoned")


def test_uncordon_and_already_uncordoned(kube: FakeKubeServer, writes: MutationEngine) -> None:
    seen = runner.observe(live_cluster(kube.url), Remediation("uncordon_node", Target("Node", "node-b"), "low", ""))
    ctx, _ = make_context(kube)
    result = runner.execute("uncordon_node", Target("Node", "node-b"), {}, seen, ctx)
    assert result.status == "executed"
    assert "unschedulable" not in get(kube, "Node", "node-b")["spec"]
    # the same offer approved again (or by a second person later): the node is already uncordoned
    again = runner.execute("uncordon_node", Target("Node", "node-b"), {}, seen, ctx)
    assert (again.status, again.rule) == ("refused", "node-already-uncordoned")
    assert len(writes.applied()) == 1


# -- drain ---------------------------------------------------------------------------------------------


def test_drain_cordons_and_evicts_skipping_daemon_and_mirror_pods(kube: FakeKubeServer, writes: MutationEngine) -> None:
    result, progress = run(kube, "drain_node", Target("Node", "node-a"))
    assert result.status == "executed", result.outcome
    assert "would cordon node node-a and evict 3 pod(s)" in result.dry_run
    assert result.state["evicted"] == ["shop/api-5d8f-ccccc", f"shop/{WEB_PODS[0]}", f"shop/{WEB_PODS[1]}"]
    assert result.state["skipped_daemonset"] == ["kube-system/fluent-node-a"]
    assert result.state["skipped_mirror"] == ["kube-system/kube-proxy-node-a"]
    assert get(kube, "Node", "node-a")["spec"]["unschedulable"] is True
    on_node = live_cluster(kube.url).list("Pod", None, field_selector="spec.nodeName=node-a")
    remaining = sorted(p["metadata"]["name"] for p in on_node)
    assert remaining == ["fluent-node-a", "kube-proxy-node-a"]
    evictions = [m for m in writes.applied() if m.subresource == "eviction"]
    assert len(evictions) == 3
    assert get(kube, "PodDisruptionBudget", "web-pdb", "shop")["status"]["disruptionsAllowed"] == 0
    assert progress[0].startswith("Dry run passed: would cordon node node-a")
    assert progress[1].startswith("Cordoned node node-a; evicting 3 pod(s)")
    assert progress[-1] == f"Evicted shop/{WEB_PODS[1]} (3/3)."


def test_drain_blocked_by_pdb_refused_at_dry_run_naming_it(kube: FakeKubeServer, writes: MutationEngine) -> None:
    result, _ = run(kube, "drain_node", Target("Node", "node-c"))
    assert result.status == "dry_run_refused"
    assert "PodDisruptionBudget shop/db-pdb (minAvailable 1, 0 disruptions allowed now)" in result.outcome
    assert "nothing was changed" in result.outcome
    assert writes.applied() == []
    assert not get(kube, "Node", "node-c")["spec"].get("unschedulable")


def test_drain_waits_for_a_pdb_then_times_out_naming_it(kube: FakeKubeServer, writes: MutationEngine) -> None:
    # the dry run passes, then the budget says no to every real eviction of one pod
    writes.reject(r"/pods/web-8c4b2-bbbbb/eviction$", 429, "Cannot evict pod as it would violate the "
                          "pod's disruption budget.", times=None, dry_run=False)
    result, _ = run(kube, "drain_node", Target("Node", "node-a"), {"timeout_seconds": 5})
    assert result.status == "failed"
    assert "did not finish within 5s" in result.outcome
    assert f"shop/{WEB_PODS[1]} blocked by PodDisruptionBudget shop/web-pdb" in result.outcome
    assert result.state["cordoned"] is True
    assert result.state["evicted"] == ["shop/api-5d8f-ccccc", f"shop/{WEB_PODS[0]}"]
    assert get(kube, "Pod", WEB_PODS[1], "shop")  # still there


def test_drain_api_failing_halfway_reports_exact_state(kube: FakeKubeServer, writes: MutationEngine) -> None:
    writes.reject(r"/pods/web-8c4b2-aaaaa/eviction$", 500, "etcdserver: request timed out",
                          dry_run=False)
    result, progress = run(kube, "drain_node", Target("Node", "node-a"))
    assert result.status == "failed"
    assert result.state["cordoned"] is True
    assert result.state["evicted"] == ["shop/api-5d8f-ccccc"]
    assert list(result.state["failed"]) == [f"shop/{WEB_PODS[0]}"]
    assert "etcdserver: request timed out" in result.state["failed"][f"shop/{WEB_PODS[0]}"]
    assert result.state["pending"] == [f"shop/{WEB_PODS[1]}"]
    for fragment in ("node node-a left cordoned", "evicted 1: shop/api-5d8f-ccccc", f"failed on shop/{WEB_PODS[0]}",
                     f"not attempted: shop/{WEB_PODS[1]}", "uncordon the node or retry the drain"):
        assert fragment in result.outcome
    assert result.changes == ["node node-a: spec.unschedulable=true", "evicted pod shop/api-5d8f-ccccc"]
    assert get(kube, "Pod", WEB_PODS[1], "shop")  # not touched
    assert any("Evicted" in line for line in progress)


def test_drain_refuses_node_with_controllerless_pods(kube: FakeKubeServer, writes: MutationEngine) -> None:
    result, _ = run(kube, "drain_node", Target("Node", "node-b"))
    assert (result.status, result.rule) == ("refused", "drain-uncontrolled-pods")
    assert "shop/debug" in result.outcome
    assert writes.log == []


# -- rollback -------------------------------------------------------------------------------------------


def test_rollback_restores_previous_template(kube: FakeKubeServer, writes: MutationEngine) -> None:
    result, _ = run(kube, "rollback_deployment", Target("Deployment", "web", "shop"))
    assert result.status == "executed", result.outcome
    assert "revision 1 (shop/web:2.0 -> shop/web:1.9)" in result.outcome
    template = get(kube, "Deployment", "web", "shop")["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "shop/web:1.9"
    assert template["metadata"]["labels"] == {"app": "web"}


def test_rollback_without_previous_revision_is_refused(kube: FakeKubeServer, writes: MutationEngine) -> None:
    result, _ = run(kube, "rollback_deployment", Target("Deployment", "api", "shop"))
    assert (result.status, result.rule) == ("refused", "no-previous-revision")


# -- dry run refused, RBAC, impersonation ---------------------------------------------------------------


def test_dry_run_refused_by_admission_changes_nothing(kube: FakeKubeServer, writes: MutationEngine) -> None:
    writes.reject(r"/deployments/web$", 422, 'admission webhook "policy.example.com" denied the request: '
                          "replicas above 4 need a change ticket", method="PATCH", dry_run=True)
    result, _ = run(kube, "scale", Target("Deployment", "web", "shop"), {"replicas": 10})
    assert result.status == "dry_run_refused"
    assert "replicas above 4 need a change ticket" in result.outcome
    assert [m.dry_run for m in writes.log] == [True]
    assert get(kube, "Deployment", "web", "shop")["spec"]["replicas"] == 2


def test_forbidden_dry_run_names_verb_and_resource(kube: FakeKubeServer, writes: MutationEngine) -> None:
    writes.deny("patch", "nodes")
    result, _ = run(kube, "cordon_node", Target("Node", "node-a"))
    assert result.status == "dry_run_refused"
    assert "cannot patch nodes" in result.outcome


def test_impersonation_headers_and_access_review(kube: FakeKubeServer, writes: MutationEngine) -> None:
    writes.deny("delete", "pods", user="bob@example.com", namespace="shop")
    client = RemediationClient(kube_configuration(kube.url)).as_identity("bob@example.com", ("sre", "on-call"))
    allowed, reason = client.can_i("delete", "pods", namespace="shop")
    assert (allowed, reason) == (False, "denied by test RBAC rule")
    assert client.can_i("patch", "nodes") == (True, "")
    ctx = ActionContext(client=client)
    result = runner.execute("delete_pod", Target("Pod", WEB_PODS[0], "shop"), {}, {}, ctx)
    assert result.status == "dry_run_refused"
    record = writes.log[-1]
    assert (record.impersonate_user, record.impersonate_groups) == ("bob@example.com", ("sre", "on-call"))


def test_offers_carry_identity_and_skip_unreadable_targets(kube: FakeKubeServer, writes: MutationEngine) -> None:
    report = Report("why-pending", Target("Pod", "web-0", "shop"), Verdict("scheduler", Severity.WARNING, "x"),
                    remediations=[
                        Remediation("uncordon_node", Target("Node", "node-b"), "low", "Uncordon node-b"),
                        Remediation("uncordon_node", Target("Node", "no-such-node"), "low", "Uncordon it"),
                        Remediation("snippet", Target("Deployment", "web", "shop"), "medium", "Add a toleration"),
                    ])
    offers = approvable(live_cluster(kube.url), report)
    assert [offer.remediation.target.name for offer in offers] == ["node-b"]
    assert offers[0].seen == {"uid": "uid-node-b", "resourceVersion": "100", "unschedulable": True}

"""Remediations against the REAL API server and controllers: what the fakes could only imitate.

Cordon/uncordon, a drain through the real Eviction API with PodDisruptionBudgets whose status the
real disruption controller computes, rollout restart / rollback / scale of a Deployment the real
deployment and replicaset controllers roll, delete with a UID precondition, and server-side dry
runs that meet real admission (a ValidatingAdmissionPolicy). Every action runs through
:func:`clusterdoc.workers.remediation.runner.execute` exactly as an approved click does: observe at
diagnosis, re-check, dry run, then the change. The tests play the kubelet (:class:`FakeKubelet`).

Layout: nodes ``rem-a`` and ``rem-b`` form pool ``api`` (``rem-b`` starts cordoned, so the api
pods land on ``rem-a``), ``rem-c`` is pool ``db`` with a single-replica database guarded by a
budget that allows no disruption.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clusterdoc.report import Remediation, Target
from clusterdoc.workers.cluster.live import LiveCluster, load_configuration
from clusterdoc.workers.remediation import runner
from clusterdoc.workers.remediation.actions.rollout_restart import RESTARTED_AT
from clusterdoc.workers.remediation.base import ActionContext
from clusterdoc.workers.remediation.client import RemediationClient
from clusterdoc.workers.remediation.errors import Conflict
from tests.harness.control_plane import ControlPlane
from tests.harness.kube_rest import ApiError, KubeRest, Obj
from tests.harness.kubelet import FakeKubelet, node_object, register_node
from tests.harness.processes import wait_until

NS = "remedy"
NODES = {"rem-a": "api", "rem-b": "api", "rem-c": "db"}
ROLL_TIMEOUT = 60.0


def deployment(name: str, pool: str, replicas: int, image: str = "registry.example/app:1.0") -> Obj:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"nodeSelector": {"clusterdoc-test/pool": pool},
                                  "terminationGracePeriodSeconds": 5,
                                  "containers": [{"name": name, "image": image,
                                                  "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}},
        },
    }


def budget(name: str, app: str, min_available: int) -> Obj:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": NS},
            "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": app}}}}


@pytest.fixture(scope="module")
def plane(control_plane: ControlPlane, kube_admin: KubeRest) -> Iterator[ControlPlane]:
    """Nodes, a fake kubelet, the api and db Deployments rolled out, their budgets computed."""
    kube_admin.create_namespace(NS)
    for name, pool in NODES.items():
        register_node(kube_admin, node_object(name, labels={"clusterdoc-test/pool": pool},
                                              unschedulable=name == "rem-b"))
    kubelet_api = KubeRest(control_plane.url, str(control_plane.pki.ca_cert), control_plane.admin_token)
    kubelet = FakeKubelet(kubelet_api, set(NODES))
    kube_admin.create(deployment("api", "api", 2))
    kube_admin.create(deployment("db", "db", 1))
    kube_admin.create(budget("api-pdb", "api", 1))
    kube_admin.create(budget("db-pdb", "db", 1))
    wait_rolled(kube_admin, "api", 2)
    wait_rolled(kube_admin, "db", 1)
    wait_budget(kube_admin, "api-pdb", 1)
    wait_budget(kube_admin, "db-pdb", 0)
    yield control_plane
    kubelet.stop()
    assert not kubelet.errors, kubelet.errors
    kubelet_api.close()
    kube_admin.delete("v1", "Namespace", NS)
    for name in NODES:
        kube_admin.delete("v1", "Node", name)


def wait_rolled(api: KubeRest, name: str, replicas: int) -> Obj:
    """Wait until the Deployment's controller reports the current generation fully rolled and available."""
    def rolled() -> Obj | None:
        current = api.get("apps/v1", "Deployment", name, NS)
        status = current.get("status") or {}
        done = (status.get("observedGeneration") == current["metadata"]["generation"]
                and status.get("updatedReplicas") == replicas and status.get("availableReplicas") == replicas
                and status.get("replicas") == replicas)
        return current if done else None
    done = wait_until(rolled, f"deployment {name} rolled out with {replicas} replicas", ROLL_TIMEOUT, 0.2)
    assert done is not None
    return done


def wait_budget(api: KubeRest, name: str, allowed: int) -> Obj:
    def computed() -> Obj | None:
        pdb = api.get("policy/v1", "PodDisruptionBudget", name, NS)
        status = pdb.get("status") or {}
        ok = status.get("observedGeneration") == pdb["metadata"]["generation"] and \
            status.get("disruptionsAllowed") == allowed
        return pdb if ok else None
    pdb = wait_until(computed, f"the disruption controller to allow {allowed} disruption(s) for {name}",
                     ROLL_TIMEOUT, 0.2)
    assert pdb is not None
    return pdb


def pods_of(api: KubeRest, app: str) -> list[Obj]:
    return [p for p in api.list("v1", "Pod", NS, labelSelector=f"app={app}")["items"]
            if not p["metadata"].get("deletionTimestamp")]


def kubeconfig(plane: ControlPlane) -> Path:
    return plane.kubeconfig()


def execute(plane: ControlPlane, action: str, target: Target, params: dict[str, Any] | None = None,
            seen: dict[str, Any] | None = None, **options: Any) -> tuple[runner.Execution, list[str]]:
    """Observe through the read-only live backend (unless ``seen`` is given), then run as approved."""
    config = str(kubeconfig(plane))
    if seen is None:
        seen = runner.observe(LiveCluster(load_configuration(config)),
                              Remediation(action, target, "low", "", dict(params or {})))
    progress: list[str] = []
    ctx = ActionContext(client=RemediationClient(load_configuration(config)), progress=progress.append,
                        poll_interval=0.3, **options)
    return runner.execute(action, target, dict(params or {}), seen, ctx), progress


def test_uncordon_then_cordon_again(plane: ControlPlane, kube_admin: KubeRest) -> None:
    result, _ = execute(plane, "uncordon_node", Target("Node", "rem-b"))
    assert result.status == "executed", result.outcome
    assert not kube_admin.get("v1", "Node", "rem-b")["spec"].get("unschedulable")
    again, _ = execute(plane, "uncordon_node", Target("Node", "rem-b"))
    assert (again.status, again.rule) == ("refused", "node-already-uncordoned")
    cordoned, _ = execute(plane, "cordon_node", Target("Node", "rem-b"))
    assert cordoned.status == "executed", cordoned.outcome
    assert kube_admin.get("v1", "Node", "rem-b")["spec"]["unschedulable"] is True
    uncordoned, _ = execute(plane, "uncordon_node", Target("Node", "rem-b"))
    assert uncordoned.status == "executed"


def test_drain_blocked_by_the_budget_the_controller_computed(plane: ControlPlane, kube_admin: KubeRest) -> None:
    result, _ = execute(plane, "drain_node", Target("Node", "rem-c"))
    assert result.status == "dry_run_refused", result.outcome
    assert "PodDisruptionBudget remedy/db-pdb" in result.outcome
    assert "0 disruptions allowed" in result.outcome
    assert "api-pdb" not in result.outcome
    assert not kube_admin.get("v1", "Node", "rem-c")["spec"].get("unschedulable"), "the dry run cordoned it"
    assert len(pods_of(kube_admin, "db")) == 1


def test_drain_waits_for_replacements_then_empties_the_node(plane: ControlPlane, kube_admin: KubeRest) -> None:
    execute(plane, "uncordon_node", Target("Node", "rem-b"))  # the replacements' node (whichever tests ran before)
    assert not kube_admin.get("v1", "Node", "rem-b")["spec"].get("unschedulable")
    before = {p["metadata"]["name"] for p in pods_of(kube_admin, "api")}
    assert {p["spec"]["nodeName"] for p in pods_of(kube_admin, "api")} == {"rem-a"}
    result, progress = execute(plane, "drain_node", Target("Node", "rem-a"), {"timeout_seconds": 60})
    assert result.status == "executed", result.outcome
    assert sorted(result.state["evicted"]) == sorted(f"{NS}/{name}" for name in before)
    assert kube_admin.get("v1", "Node", "rem-a")["spec"]["unschedulable"] is True
    assert not [p for p in pods_of(kube_admin, "api") if p["spec"].get("nodeName") == "rem-a"]
    rolled = wait_rolled(kube_admin, "api", 2)
    assert rolled["status"]["availableReplicas"] == 2
    assert {p["spec"]["nodeName"] for p in pods_of(kube_admin, "api")} == {"rem-b"}
    assert progress[0].startswith("Dry run passed: would cordon node rem-a")
    uncordon, _ = execute(plane, "uncordon_node", Target("Node", "rem-a"))
    assert uncordon.status == "executed"


def test_rollout_restart_rolls_new_pods(plane: ControlPlane, kube_admin: KubeRest) -> None:
    before = {p["metadata"]["uid"] for p in pods_of(kube_admin, "api")}
    result, _ = execute(plane, "rollout_restart", Target("Deployment", "api", NS))
    assert result.status == "executed", result.outcome
    current = kube_admin.get("apps/v1", "Deployment", "api", NS)
    assert RESTARTED_AT in current["spec"]["template"]["metadata"]["annotations"]
    wait_rolled(kube_admin, "api", 2)
    wait_until(lambda: not before & {p["metadata"]["uid"] for p in pods_of(kube_admin, "api")},
               "every old api pod to be replaced", ROLL_TIMEOUT, 0.2)
    stale, _ = execute(plane, "rollout_restart", Target("Deployment", "api", NS),
                       seen={"uid": current["metadata"]["uid"], "resourceVersion": "1",
                             "generation": current["metadata"]["generation"] - 1})
    assert (stale.status, stale.rule) == ("refused", "generation-moved"), stale.outcome


def test_rollback_restores_the_previous_revision(plane: ControlPlane, kube_admin: KubeRest) -> None:
    kube_admin.patch("apps/v1", "Deployment", "api",
                     {"spec": {"template": {"spec": {"containers": [{"name": "api",
                                                                     "image": "registry.example/app:2.0"}]}}}},
                     NS, patch_type="strategic")
    wait_rolled(kube_admin, "api", 2)
    previous = kube_admin.get("apps/v1", "Deployment", "api", NS)
    result, _ = execute(plane, "rollback_deployment", Target("Deployment", "api", NS))
    assert result.status == "executed", result.outcome
    assert "registry.example/app:2.0 -> registry.example/app:1.0" in result.outcome
    rolled = wait_rolled(kube_admin, "api", 2)
    assert rolled["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/app:1.0"
    assert RESTARTED_AT in rolled["spec"]["template"]["metadata"]["annotations"]  # the restart's revision
    assert rolled["metadata"]["generation"] == previous["metadata"]["generation"] + 1
    assert {p["spec"]["containers"][0]["image"] for p in pods_of(kube_admin, "api")} == {"registry.example/app:1.0"}


def test_scale_up_and_back_down(plane: ControlPlane, kube_admin: KubeRest) -> None:
    result, _ = execute(plane, "scale", Target("Deployment", "api", NS), {"replicas": 3, "current": 2})
    assert result.status == "executed", result.outcome
    assert result.outcome == f"deployment {NS}/api scaled from 2 to 3 replicas"
    wait_rolled(kube_admin, "api", 3)
    down, _ = execute(plane, "scale", Target("Deployment", "api", NS), {"replicas": 2})
    assert down.status == "executed", down.outcome
    wait_rolled(kube_admin, "api", 2)


def test_dry_run_meets_real_admission_and_stores_nothing(plane: ControlPlane, kube_admin: KubeRest) -> None:
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "remedy-max-replicas"},
        "spec": {"failurePolicy": "Fail",
                 "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                                                         "operations": ["UPDATE"],
                                                         "resources": ["deployments", "deployments/scale"]}]},
                 "validations": [{"expression": "object.spec.replicas <= 4",
                                  "message": "replicas above 4 need a change ticket"}]},
    }
    binding = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
               "metadata": {"name": "remedy-max-replicas"},
               "spec": {"policyName": "remedy-max-replicas", "validationActions": ["Deny"],
                        "matchResources": {"namespaceSelector": {"matchLabels": {
                            "kubernetes.io/metadata.name": NS}}}}}
    kube_admin.create(policy)
    kube_admin.create(binding)
    try:
        def enforced() -> bool:  # a policy takes a moment to be loaded; probe with a raw dry run
            try:
                kube_admin.request("PATCH", "/apis/apps/v1/namespaces/remedy/deployments/api",
                                   params={"dryRun": "All"}, json={"spec": {"replicas": 10}},
                                   content_type="application/merge-patch+json")
            except ApiError as exc:
                return "change ticket" in exc.message
            return False
        wait_until(enforced, "the admission policy to be enforced", 30, 0.3)
        result, _ = execute(plane, "scale", Target("Deployment", "api", NS), {"replicas": 10})
        assert result.status == "dry_run_refused", result.outcome
        assert "replicas above 4 need a change ticket" in result.outcome
        assert kube_admin.get("apps/v1", "Deployment", "api", NS)["spec"]["replicas"] == 2
        allowed, _ = execute(plane, "scale", Target("Deployment", "api", NS), {"replicas": 2})
        assert allowed.status == "executed", allowed.outcome  # within the policy: dry run and change pass
    finally:
        kube_admin.delete("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", "remedy-max-replicas")
        kube_admin.delete("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "remedy-max-replicas")


def test_delete_pod_with_uid_precondition(plane: ControlPlane, kube_admin: KubeRest) -> None:
    victim = pods_of(kube_admin, "api")[0]
    name, uid = victim["metadata"]["name"], victim["metadata"]["uid"]
    result, _ = execute(plane, "delete_pod", Target("Pod", name, NS))
    assert result.status == "executed", result.outcome
    assert f"(uid {uid})" in " ".join(result.changes)
    wait_until(lambda: not kube_admin.exists("v1", "Pod", name, NS), f"pod {name} to be gone", 30, 0.2)
    wait_rolled(kube_admin, "api", 2)

    solo: Obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "solo", "namespace": NS},
                 "spec": {"nodeName": "rem-b", "terminationGracePeriodSeconds": 0,
                          "containers": [{"name": "solo", "image": "registry.example/solo:1"}]}}
    first = kube_admin.create(solo)
    seen = {"uid": first["metadata"]["uid"], "resourceVersion": first["metadata"]["resourceVersion"]}
    kube_admin.delete("v1", "Pod", "solo", NS, {"gracePeriodSeconds": 0})
    wait_until(lambda: not kube_admin.exists("v1", "Pod", "solo", NS), "pod solo to be gone", 30, 0.2)
    second = kube_admin.create(solo)
    replaced, _ = execute(plane, "delete_pod", Target("Pod", "solo", NS), seen=seen,
                          waived=frozenset({"pod-without-controller"}))
    assert (replaced.status, replaced.rule) == ("refused", "target-replaced"), replaced.outcome
    client = RemediationClient(load_configuration(str(kubeconfig(plane))))
    with pytest.raises(Conflict, match=r"the UID in the precondition \(.+\) does not match the UID in record"):
        client.delete("Pod", "solo", NS, uid=first["metadata"]["uid"])
    assert kube_admin.get("v1", "Pod", "solo", NS)["metadata"]["uid"] == second["metadata"]["uid"]
    try:
        kube_admin.delete("v1", "Pod", "solo", NS, {"gracePeriodSeconds": 0})
    except ApiError as exc:
        assert exc.status == 404


def test_force_delete_of_a_pod_stuck_on_a_lost_node(plane: ControlPlane, kube_admin: KubeRest) -> None:
    """What the fake API server imitates (graceful pod deletion, gracePeriodSeconds 0), on the real one:
    a pod on a node no kubelet answers for stays Terminating after DELETE, a second DELETE changes
    nothing, the plain ``delete_pod`` is refused, and the force delete removes it at once."""
    register_node(kube_admin, node_object("rem-lost", labels={"clusterdoc-test/pool": "lost"}))
    kube_admin.patch("v1", "Node", "rem-lost", {"status": {"conditions": [
        {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
         "message": "Kubelet stopped posting node status."}]}}, subresource="status")
    try:
        stuck: Obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stuck", "namespace": NS},
                      "spec": {"nodeName": "rem-lost", "terminationGracePeriodSeconds": 30,
                               "containers": [{"name": "stuck", "image": "registry.example/stuck:1"}]}}
        kube_admin.create(stuck)
        kube_admin.delete("v1", "Pod", "stuck", NS)
        marked = kube_admin.get("v1", "Pod", "stuck", NS)
        assert marked["metadata"]["deletionTimestamp"] and marked["metadata"]["deletionGracePeriodSeconds"] == 30
        kube_admin.delete("v1", "Pod", "stuck", NS)
        again = kube_admin.get("v1", "Pod", "stuck", NS)
        assert again["metadata"]["resourceVersion"] == marked["metadata"]["resourceVersion"]
        waived = frozenset({"pod-without-controller"})
        plain, _ = execute(plane, "delete_pod", Target("Pod", "stuck", NS), waived=waived)
        assert (plain.status, plain.rule) == ("refused", "already-terminating"), plain.outcome
        # a DELETE with a body takes its options from the body only (the query's dryRun is ignored):
        # the dry run must say so in DeleteOptions, or the "dry run" would force-delete for real
        client = RemediationClient(load_configuration(str(kubeconfig(plane))))
        client.delete("Pod", "stuck", NS, uid=marked["metadata"]["uid"], dry_run=True, grace_period_seconds=0)
        assert kube_admin.get("v1", "Pod", "stuck", NS)["metadata"]["resourceVersion"] == \
            marked["metadata"]["resourceVersion"]
        forced, _ = execute(plane, "delete_pod", Target("Pod", "stuck", NS), {"force": True}, waived=waived)
        assert forced.status == "executed", forced.outcome
        assert "would be force-deleted (grace period 0" in forced.dry_run
        assert not kube_admin.exists("v1", "Pod", "stuck", NS)
    finally:
        kube_admin.delete("v1", "Node", "rem-lost")

"""The chart's RBAC against the REAL authorizer: the worker's identities do what they must and no more.

``helm template`` renders the chart; its ServiceAccounts, ClusterRoles and bindings are applied to
the session's API server (RBAC + Node authorizers). The worker then runs with the chart's
read-only ServiceAccount token, as in its pod:

- every diagnostic runbook, on every kind it targets, reads what it needs: no "Permission
  missing" finding (remove a verb the code needs from the chart and this fails);
- that identity cannot write anything (give the read-only role a write verb and the static check
  fails; the access reviews say so too);
- each remediation runs only through the remediation identity, which the worker impersonates as
  the rendered ConfigMap's ``approvals.remediation_identity`` names; run with the worker's own
  identity, it is refused at the dry run with the API's own 403 text;
- with ``impersonateApprovers`` (the ``impersonate-approvers`` example values) an approver's mapped
  identity meets the real authorizer: the access review and the action say what RBAC says.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from clusterdoc.approvals.policy import KubernetesIdentity
from clusterdoc.config import FileConfig
from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Remediation, Target
from clusterdoc.workers.approvals.jobs import action_contexts
from clusterdoc.workers.cluster.live import LiveCluster, load_configuration
from clusterdoc.workers.remediation import runner
from clusterdoc.workers.remediation.client import RemediationClient
from clusterdoc.workers.runbook.engine import run_request
from clusterdoc.workers.runbook.loader import Catalogue
from tests.harness import helm
from tests.harness.control_plane import ControlPlane
from tests.harness.kube_rest import KubeRest, Obj
from tests.harness.kubelet import FakeKubelet, node_object, register_node
from tests.harness.processes import wait_until

RELEASE_NS = "clusterdoc"
SHOP = "rbac-shop"
NODES = ("rbac-a", "rbac-b")
RBAC_KINDS = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap"}
READ_VERBS = {"get", "list", "watch"}
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")


def apply_rbac(api: KubeRest, objects: list[Obj]) -> list[Obj]:
    """Apply (for real) the identity objects of a rendering; returns them."""
    applied = [obj for obj in objects if obj["kind"] in RBAC_KINDS]
    for obj in applied:
        api.apply(obj)
    return applied


def workload(name: str, kind: str, replicas: int, cpu: str = "100m") -> Obj:
    spec: Obj = {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"nodeSelector": {"clusterdoc-test/pool": "rbac"},
                                       "containers": [{"name": name, "image": f"registry.example/{name}:1",
                                                       "resources": {"requests": {"cpu": cpu}}}]}}}
    if kind == "StatefulSet":
        spec["serviceName"] = name
    if kind == "DaemonSet":
        spec.pop("replicas")
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": SHOP}, "spec": spec}


@pytest.fixture(scope="module")
def chart(control_plane: ControlPlane, kube_admin: KubeRest) -> Iterator[list[Obj]]:
    """The default rendering's identities applied; a small shop to diagnose, with a fake kubelet."""
    if not kube_admin.exists("v1", "Namespace", RELEASE_NS):
        kube_admin.create_namespace(RELEASE_NS)
    objects = helm.render(namespace=RELEASE_NS)
    apply_rbac(kube_admin, objects)
    kube_admin.create_namespace(SHOP)
    for name in NODES:
        register_node(kube_admin, node_object(name, labels={"clusterdoc-test/pool": "rbac"},
                                              unschedulable=name == "rbac-b"))
    api = KubeRest(control_plane.url, str(control_plane.pki.ca_cert), control_plane.admin_token)
    kubelet = FakeKubelet(api, set(NODES))
    kube_admin.create(workload("web", "Deployment", 2))
    kube_admin.create(workload("huge", "Deployment", 1, cpu="64"))
    kube_admin.create(workload("db", "StatefulSet", 1))
    kube_admin.create(workload("agent", "DaemonSet", 0))
    kube_admin.create({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once", "namespace": SHOP},
                       "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                           {"name": "once", "image": "registry.example/once:1"}]}}}})
    kube_admin.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data",
                                                                                       "namespace": SHOP},
                       "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                                "storageClassName": "none"}})
    kube_admin.create({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                       "metadata": {"name": "web", "namespace": SHOP},
                       "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
    wait_until(lambda: len([p for p in kube_admin.list("v1", "Pod", SHOP, labelSelector="app=web")["items"]
                            if p["status"].get("phase") == "Running"]) == 2, "web to run", 60, 0.2)
    yield objects
    kubelet.stop()
    api.close()
    kube_admin.delete("v1", "Namespace", SHOP)
    for name in NODES:
        kube_admin.delete("v1", "Node", name)


def token_config(plane: ControlPlane, api: KubeRest, namespace: str, account: str) -> Path:
    """A kubeconfig with the ServiceAccount's bound token, as the worker's pod would have it."""
    return plane.kubeconfig(api.service_account_token(namespace, account), account)


@pytest.fixture(scope="module")
def worker_config(control_plane: ControlPlane, kube_admin: KubeRest, chart: list[Obj]) -> Path:
    worker = helm.by_kind_name(chart, "Deployment", "cd-clusterdoc-worker")
    account = worker["spec"]["template"]["spec"]["serviceAccountName"]
    return token_config(control_plane, kube_admin, RELEASE_NS, account)


def some_pod(api: KubeRest, app: str) -> str:
    """A pod of ``app`` that is not being deleted (one an earlier test deleted may still be terminating)."""
    pods = api.list("v1", "Pod", SHOP, labelSelector=f"app={app}")["items"]
    return str(next(p for p in pods if not p["metadata"].get("deletionTimestamp"))["metadata"]["name"])


def permission_problems(report: dict[str, Any]) -> list[str]:
    """Every place the report mentions a refusal: findings and the facts, notes and tables inside them."""
    problems = [f"{f['step']}: {f['title']}" for f in report["findings"] if f["title"].startswith("Permission missing")]
    text = json.dumps(report)
    at = text.lower().find("forbidden")
    while at >= 0:
        problems.append(text[max(0, at - 80):at + 160])
        at = text.lower().find("forbidden", at + 1)
    return problems


def test_every_runbook_reads_what_it_needs_with_the_read_only_identity(
        kube_admin: KubeRest, worker_config: Path, chart: list[Obj]) -> None:
    live = LiveCluster(load_configuration(str(worker_config)), "real")
    wait_until(lambda: kube_admin.list("v1", "Pod", SHOP, labelSelector="app=db")["items"], "db-0", 30, 0.2)
    targets = {
        "Pod": some_pod(kube_admin, "huge"), "Node": "rbac-a", "Deployment": "huge", "StatefulSet": "db",
        "DaemonSet": "agent", "ReplicaSet": kube_admin.list("apps/v1", "ReplicaSet", SHOP,
                                                            labelSelector="app=web")["items"][0]["metadata"]["name"],
        "Job": "once", "PersistentVolumeClaim": "data",
    }
    catalogue = Catalogue.load()
    problems: list[str] = []
    runs = 0
    for name in catalogue.names():
        runbook = catalogue.get(name)
        assert runbook is not None
        for kind in runbook.spec.targets or ["Cluster"]:
            namespace = None if kind in ("Node", "Cluster") else SHOP
            target = Target(kind, targets.get(kind, "cluster"), namespace)
            request = DiagnosisRequest(verb=name, runbook=name, target=target)
            report = run_request(catalogue, request, live, now=datetime.now(UTC)).to_json()
            problems += [f"{name} {kind}: {problem}" for problem in permission_problems(report)]
            runs += 1
    assert runs >= 20
    assert not problems, "\n".join(problems)


def test_the_read_only_role_has_no_write_verb(chart: list[Obj]) -> None:
    role = helm.by_kind_name(chart, "ClusterRole", "cd-clusterdoc-diagnose")
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= READ_VERBS, f"the read-only role may {rule['verbs']} {rule['resources']}"
        assert "secrets" not in rule["resources"] and "*" not in rule["resources"]


def test_the_real_authorizer_refuses_every_write_to_the_worker(worker_config: Path) -> None:
    worker = RemediationClient(load_configuration(str(worker_config)))
    for verb in WRITE_VERBS:
        for group, resource in (("", "pods"), ("", "nodes"), ("apps", "deployments"), ("", "secrets"),
                                ("", "configmaps"), ("policy", "poddisruptionbudgets")):
            allowed, _ = worker.can_i(verb, resource, group=group, namespace=SHOP)
            assert not allowed, f"the worker's own identity may {verb} {group}/{resource}"
    assert worker.can_i("create", "pods", subresource="eviction", namespace=SHOP)[0] is False
    assert worker.can_i("list", "pods")[0] is True
    assert worker.can_i("get", "secrets", namespace=SHOP)[0] is False


def remediation_identity(chart: list[Obj]) -> KubernetesIdentity:
    config = yaml.safe_load(helm.by_kind_name(chart, "ConfigMap", "cd-clusterdoc-config")["data"]["config.yaml"])
    identity = FileConfig.model_validate(config).approvals.remediation_identity
    assert identity is not None
    return identity


def run_as(config: Path, identity: KubernetesIdentity | None, action: str, target: Target,
           params: dict[str, Any] | None = None) -> runner.Execution:
    """What an approved click runs: observe as the worker, then execute with the action context the
    worker builds (impersonating ``identity``; the worker's own credentials when None)."""
    configuration = load_configuration(str(config))
    seen = runner.observe(LiveCluster(load_configuration(str(config))),
                          Remediation(action, target, "low", "", dict(params or {})))
    context = action_contexts(configuration, None, None, poll_interval=0.3)(identity)
    return runner.execute(action, target, dict(params or {}), seen, context)


def test_remediations_run_only_through_the_remediation_identity(kube_admin: KubeRest, worker_config: Path,
                                                                chart: list[Obj]) -> None:
    identity = remediation_identity(chart)
    assert identity.user == f"system:serviceaccount:{RELEASE_NS}:cd-clusterdoc-remediate"
    cases: list[tuple[str, Target, dict[str, Any], str]] = [
        ("cordon_node", Target("Node", "rbac-a"), {}, 'cannot patch resource "nodes"'),
        ("uncordon_node", Target("Node", "rbac-b"), {}, 'cannot patch resource "nodes"'),
        ("scale", Target("Deployment", "web", SHOP), {"replicas": 3}, 'cannot patch resource "deployments"'),
        ("rollout_restart", Target("Deployment", "web", SHOP), {}, 'cannot patch resource "deployments"'),
        ("delete_pod", Target("Pod", some_pod(kube_admin, "web"), SHOP), {}, 'cannot delete resource "pods"'),
        ("scale", Target("StatefulSet", "db", SHOP), {"replicas": 2}, 'cannot patch resource "statefulsets"'),
    ]
    for action, target, params, refusal in cases:
        own = run_as(worker_config, None, action, target, params)
        assert own.status == "dry_run_refused", f"{action} ran with the read-only identity: {own.outcome}"
        assert refusal in own.outcome and "system:serviceaccount:clusterdoc:cd-clusterdoc-diagnose" in own.outcome
        done = run_as(worker_config, identity, action, target, params)
        assert done.status == "executed", f"{action} {target.ref()} as {identity.user}: {done.outcome}"

    kube_admin.patch("apps/v1", "Deployment", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "registry.example/web:2"}]}}}}, SHOP, patch_type="strategic")
    wait_until(lambda: (kube_admin.get("apps/v1", "Deployment", "web", SHOP).get("status") or {})
               .get("updatedReplicas") == 3, "web 2 to roll", 60, 0.2)
    rollback = run_as(worker_config, identity, "rollback_deployment", Target("Deployment", "web", SHOP))
    assert rollback.status == "executed", rollback.outcome
    drain = run_as(worker_config, identity, "drain_node", Target("Node", "rbac-a"), {"timeout_seconds": 60})
    assert drain.status in ("executed", "dry_run_refused"), drain.outcome
    assert "forbidden" not in drain.outcome.lower(), drain.outcome


@pytest.fixture(scope="module")
def approvers(control_plane: ControlPlane, kube_admin: KubeRest, chart: list[Obj]) -> Iterator[Path]:
    """Release ``ap`` rendered with the impersonate-approvers example; alice may delete pods in the shop."""
    objects = helm.render([helm.CHART / "examples" / "impersonate-approvers.yaml"], release="ap",
                          namespace=RELEASE_NS)
    applied = apply_rbac(kube_admin, objects)
    role: Obj = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "pod-deleters", "namespace": SHOP},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "delete"]}]}
    binding: Obj = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "sre-delete-pods", "namespace": SHOP},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-deleters"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "sre"}]}
    reader: Obj = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
              "metadata": {"name": "bob-reads-pods", "namespace": SHOP},
              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
              "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob@example.com"}]}
    for obj in (role, binding, reader):
        kube_admin.apply(obj)
    yield token_config(control_plane, kube_admin, RELEASE_NS, "ap-clusterdoc-diagnose")
    for obj in applied:
        if obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            kube_admin.delete(obj["apiVersion"], obj["kind"], obj["metadata"]["name"])


def test_approver_impersonation_meets_the_real_authorizer(kube_admin: KubeRest, approvers: Path) -> None:
    config = yaml.safe_load(helm.by_kind_name(
        helm.render([helm.CHART / "examples" / "impersonate-approvers.yaml"], release="ap", namespace=RELEASE_NS),
        "ConfigMap", "ap-clusterdoc-config")["data"]["config.yaml"])
    identities = FileConfig.model_validate(config).approvals.kubernetes_identities
    alice, bob = identities["U012ABCDEF"], identities["U034GHIJKL"]
    worker = RemediationClient(load_configuration(str(approvers)))
    assert worker.as_identity(alice.user, tuple(alice.groups)).can_i("delete", "pods", namespace=SHOP) == (
        True, 'RBAC: allowed by RoleBinding "sre-delete-pods/rbac-shop" of Role "pod-deleters" to Group "sre"')
    allowed, _ = worker.as_identity(bob.user, tuple(bob.groups)).can_i("delete", "pods", namespace=SHOP)
    assert allowed is False

    def settled() -> bool:  # the earlier test's rollback and drain: no pod of web left for a controller to delete
        deployment = kube_admin.get("apps/v1", "Deployment", "web", SHOP)
        status, spec = deployment.get("status") or {}, deployment.get("spec") or {}
        return (status.get("observedGeneration") == deployment["metadata"].get("generation")
                and status.get("replicas") == status.get("updatedReplicas") == spec.get("replicas"))

    wait_until(settled, "the web Deployment to settle", 60, 0.2)
    victim = some_pod(kube_admin, "web")
    refused = run_as(approvers, bob, "delete_pod", Target("Pod", victim, SHOP))  # bob may view, not delete
    assert refused.status == "dry_run_refused", refused.outcome
    assert (f'pods "{victim}" is forbidden: User "bob@example.com" cannot delete resource "pods" in API group "" '
            f'in the namespace "{SHOP}"') in refused.outcome
    assert "forbidden: bob@example.com cannot delete pods in namespace rbac-shop" in refused.outcome
    assert kube_admin.exists("v1", "Pod", victim, SHOP)
    stranger = run_as(approvers, KubernetesIdentity(user="eve@example.com"), "delete_pod", Target("Pod", victim, SHOP))
    assert stranger.status != "executed"
    assert 'User "eve@example.com" cannot get resource "pods"' in stranger.outcome
    done = run_as(approvers, alice, "delete_pod", Target("Pod", victim, SHOP))
    assert done.status == "executed", done.outcome

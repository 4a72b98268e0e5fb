"""The real control plane itself: versions, identities, the scheduler binding, the controllers rolling.

These tests pin what every other ``test_real_*`` file relies on, so a harness problem shows up
here first and by name.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.control_plane import ControlPlane
from tests.harness.k8s_binaries import ENV_VAR, BinariesMissing, binaries_dir
from tests.harness.kube_rest import ApiError, KubeRest
from tests.harness.kubelet import FakeKubelet, node_object, register_node
from tests.harness.processes import wait_until


@pytest.fixture(scope="module")
def namespace(kube_admin: KubeRest) -> str:
    kube_admin.create_namespace("smoke")
    return "smoke"


@pytest.fixture(scope="module")
def kubelet(control_plane: ControlPlane, kube_admin: KubeRest) -> Iterator[FakeKubelet]:
    register_node(kube_admin, node_object("smoke-node", labels={"clusterdoc-test": "smoke"}))
    api = KubeRest(control_plane.url, str(control_plane.pki.ca_cert), control_plane.admin_token)
    with FakeKubelet(api, {"smoke-node"}) as fake:
        yield fake
    api.close()
    kube_admin.delete("v1", "Node", "smoke-node")


def test_missing_binaries_name_the_build_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(BinariesMissing, match=r"run `bash scripts/build-binaries.sh`"):
        binaries_dir()


def test_version_is_the_pinned_release(control_plane: ControlPlane, kube_admin: KubeRest) -> None:
    version = kube_admin.request("GET", "/version")
    assert version["gitVersion"] == control_plane.versions["kubernetes"]
    assert version["gitVersion"].startswith("v1.") and (version["major"], version["minor"]) == (
        "1", version["gitVersion"].split(".")[1])
    for name in ("kube-apiserver", "kube-scheduler", "kube-controller-manager"):
        printed = subprocess.run([str(control_plane.binaries / name), "--version"], capture_output=True, text=True,
                                 check=True).stdout.strip()
        assert printed == f"Kubernetes {version['gitVersion']}"


def test_service_account_tokens_authenticate(control_plane: ControlPlane, kube_admin: KubeRest) -> None:
    token = kube_admin.service_account_token("default", "default", 600)
    as_sa = KubeRest(control_plane.url, str(control_plane.pki.ca_cert), token)
    review = as_sa.create({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    assert review["status"]["userInfo"]["username"] == "system:serviceaccount:default:default"
    with pytest.raises(ApiError) as refused:
        as_sa.list("v1", "Pod", "kube-system")
    assert refused.value.status == 403
    assert 'User "system:serviceaccount:default:default" cannot list resource "pods"' in refused.value.message
    as_sa.close()


def test_scheduler_and_controller_manager_hold_their_leases(kube_admin: KubeRest) -> None:
    for name in ("kube-scheduler", "kube-controller-manager"):
        def held(lease: str = name) -> bool:
            return kube_admin.exists("coordination.k8s.io/v1", "Lease", lease, "kube-system")
        wait_until(held, f"the {name} lease", timeout=30)
        assert kube_admin.get("coordination.k8s.io/v1", "Lease", name, "kube-system")["spec"]["holderIdentity"]


def test_deployment_rolls_out_on_a_fake_node(kube_admin: KubeRest, namespace: str, kubelet: FakeKubelet) -> None:
    started = time.monotonic()
    kube_admin.create({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": namespace},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"nodeSelector": {"clusterdoc-test": "smoke"},
                                       "containers": [{"name": "web", "image": "nginx:1.27",
                                                       "resources": {"requests": {"cpu": "100m"}}}]}}},
    })

    def available() -> bool:
        status = kube_admin.get("apps/v1", "Deployment", "web", namespace).get("status", {})
        return status.get("availableReplicas") == 2 and status.get("updatedReplicas") == 2

    wait_until(available, "deployment web to be available", timeout=60, interval=0.2)
    pods = kube_admin.list("v1", "Pod", namespace, labelSelector="app=web")["items"]
    assert {p["spec"]["nodeName"] for p in pods} == {"smoke-node"}
    assert all(p["status"]["phase"] == "Running" for p in pods)
    assert not kubelet.errors
    print(f"deployment rolled out in {time.monotonic() - started:.1f} s")


"""clusterdoc's live client against the REAL API server: paging, an expired continue token, selectors.

``limit``/``continue`` over real pages, a continue token that etcd compaction expired (410
``Expired``) handled, field selectors the API server itself evaluates (``spec.nodeName``,
``status.phase``) and ``resourceVersion=0`` reads served from the watch cache.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from clusterdoc.workers.cluster.live import LiveCluster, load_configuration
from tests.harness.control_plane import ControlPlane
from tests.harness.kube_rest import KubeRest
from tests.harness.kubelet import set_pod_running
from tests.harness.processes import wait_until

NS = "paging"
PODS = 23


def pod(index: int) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"p-{index:02d}", "namespace": NS, "labels": {"tier": "odd" if index % 2 else "even"}},
            "spec": {"nodeName": "page-a" if index < 10 else "page-b",
                     "containers": [{"name": "c", "image": "registry.example/c:1"}]}}


@pytest.fixture(scope="module")
def pods(kube_admin: KubeRest) -> Iterator[list[str]]:
    """23 pods bound (by name) to node page-a (10) and page-b (13); the first 5 Running, the rest Pending."""
    kube_admin.create_namespace(NS)
    names = []
    for index in range(PODS):
        created = kube_admin.create(pod(index))
        if index < 5:
            set_pod_running(kube_admin, created)
        names.append(created["metadata"]["name"])
    yield names
    kube_admin.delete("v1", "Namespace", NS)


@pytest.fixture
def live(control_plane: ControlPlane) -> LiveCluster:
    return LiveCluster(load_configuration(str(control_plane.kubeconfig())), "real", backoff=0.01)


def names(objects: Iterator[dict[str, object]]) -> list[str]:
    return [obj["metadata"]["name"] for obj in objects]  # type: ignore[index]


def test_limit_and_continue_walk_real_pages(live: LiveCluster, pods: list[str]) -> None:
    before = live.request_count()
    assert names(live.list("Pod", NS, page_size=5)) == pods
    assert live.request_count() - before == 5  # 5 + 5 + 5 + 5 + 3


def test_field_selectors_are_evaluated_by_the_server(live: LiveCluster, pods: list[str]) -> None:
    on_a = names(live.list("Pod", NS, field_selector="spec.nodeName=page-a", page_size=4))
    assert on_a == pods[:10]
    running = names(live.list("Pod", NS, field_selector="status.phase=Running"))
    assert running == pods[:5]
    both = names(live.list("Pod", NS, field_selector="spec.nodeName=page-b,status.phase!=Running",
                           label_selector="tier=odd"))
    assert both == [name for i, name in enumerate(pods) if i >= 10 and i % 2]


def test_resource_version_zero_read_is_served_whole(live: LiveCluster, pods: list[str]) -> None:
    before = live.request_count()
    assert sorted(names(live.list("Pod", NS, page_size=5, allow_stale=True))) == pods
    # the watch cache answers resourceVersion=0 at once; the count says how many pages that took
    assert live.request_count() - before >= 1


def compact_etcd(control_plane: ControlPlane) -> int:
    """Compact etcd to its current revision as another kube-apiserver would: record the revision
    under ``compact_rev_key`` (which every API server watches; the watch cache then drops its list
    snapshots up to it within 15 s), then compact. Through etcd's gRPC gateway (JSON, base64 keys)."""
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    revision = int(httpx.post(f"{control_plane.etcd_url}/v3/kv/range", json={"key": b64("compact_rev_key")},
                              timeout=5).json()["header"]["revision"])
    httpx.post(f"{control_plane.etcd_url}/v3/kv/put", json={"key": b64("compact_rev_key"), "value": b64(str(revision))},
               timeout=5).raise_for_status()
    httpx.post(f"{control_plane.etcd_url}/v3/kv/compaction", json={"revision": revision, "physical": True},
               timeout=10).raise_for_status()
    return revision


def wait_expired(kube_admin: KubeRest, token: str) -> httpx.Response:
    """The answer to ``token`` once the API server refuses it (the watch cache notices within 15 s)."""
    def refused() -> httpx.Response | None:
        response = kube_admin.http.get(f"/api/v1/namespaces/{NS}/pods", params={"limit": 5, "continue": token})
        return response if response.status_code == 410 else None
    response = wait_until(refused, "the continue token to expire", timeout=40, interval=1.0)
    assert response is not None
    return response


def test_expired_continue_token(control_plane: ControlPlane, kube_admin: KubeRest, live: LiveCluster,
                                pods: list[str]) -> None:
    """The server refuses a compacted-away token with 410 and a fresh token; the live list resumes with it."""
    first = kube_admin.list("v1", "Pod", NS, limit=5)
    listing = live.list("Pod", NS, page_size=5)
    seen = [next(listing)["metadata"]["name"] for _ in range(5)]  # the live list's first page is read
    kube_admin.create(pod(99))  # a write after both first pages, so compaction passes their revision
    try:
        compact_etcd(control_plane)
        status = wait_expired(kube_admin, first["metadata"]["continue"]).json()
        assert status["reason"] == "Expired"
        assert "continue parameter is too old" in status["message"]
        assert status["metadata"].get("continue"), "the 410 carries a token to continue inconsistently"
        seen += names(listing)
    finally:
        kube_admin.delete("v1", "Pod", "p-99", NS, {"gracePeriodSeconds": 0})
    assert seen[:5] == pods[:5]
    assert len(seen) == len(set(seen)), "no pod twice"
    assert set(pods) <= set(seen) <= {*pods, "p-99"}

"""The live backend through the real ``kubernetes`` client against the fake API server."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from clusterdoc.workers.cluster.base import ClusterError, Forbidden, NotFound, Unavailable
from clusterdoc.workers.cluster.live import LiveCluster
from clusterdoc.workers.cluster.snapshot import SnapshotCluster
from tests.conftest import FakeKubeFactory
from tests.harness.fake_kube import FakeKubeServer, live_cluster
from tests.harness.ports import free_port

FAST = {"backoff": 0.01, "timeout": 5.0}


@pytest.fixture
def server(fake_kube: FakeKubeFactory, data_dir: Path) -> FakeKubeServer:
    return fake_kube(data_dir / "cluster")


@pytest.fixture
def cluster(server: FakeKubeServer) -> LiveCluster:
    return live_cluster(server.url, **FAST)


def names(objects: object) -> list[str]:
    return [obj["metadata"]["name"] for obj in objects]  # type: ignore[attr-defined]


def test_get_core_group_and_cluster_scoped_objects(cluster: LiveCluster, server: FakeKubeServer) -> None:
    pod = cluster.get("Pod", "db-0", "shop")
    assert pod["kind"] == "Pod" and pod["apiVersion"] == "v1"
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    assert cluster.get("Deployment", "web", "shop")["apiVersion"] == "apps/v1"
    assert cluster.get("Node", "node-b")["status"]["allocatable"]["nvidia.com/gpu"] == "1"
    assert cluster.get("Lease", "kube-scheduler", "kube-system")["spec"]["leaseDurationSeconds"] == 15
    assert [r.path for r in server.requests] == [
        "/api/v1/namespaces/shop/pods/db-0",
        "/apis/apps/v1/namespaces/shop/deployments/web",
        "/api/v1/nodes/node-b",
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler",
    ]
    assert cluster.request_count() == 4


def test_not_found_names_kind_object_and_namespace(cluster: LiveCluster) -> None:
    with pytest.raises(NotFound) as caught:
        cluster.get("Pod", "web-0", "shop")
    assert str(caught.value) == "pod web-0 not found in namespace shop"
    assert (caught.value.kind, caught.value.name, caught.value.namespace) == ("Pod", "web-0", "shop")
    with pytest.raises(NotFound, match=r"^statefulset web not found in namespace shop$"):
        cluster.get("StatefulSet", "web", "shop")


def test_list_pages_with_limit_and_continue(cluster: LiveCluster, server: FakeKubeServer) -> None:
    pods = list(cluster.list("Pod", page_size=2))
    assert len(pods) == 5
    assert len({(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods}) == 5
    assert all(p["kind"] == "Pod" for p in pods)
    pages = server.requests_to("^/api/v1/pods$")
    assert len(pages) == 3
    assert [r.query.get("limit") for r in pages] == ["2", "2", "2"]
    assert "continue" not in pages[0].query
    assert all(r.query.get("continue") for r in pages[1:])


def test_list_one_page_when_it_fits(cluster: LiveCluster, server: FakeKubeServer) -> None:
    assert len(list(cluster.list("Node", page_size=500))) == 3
    assert server.request_count() == 1


def test_allow_stale_reads_from_cache_on_first_page_only(cluster: LiveCluster, server: FakeKubeServer) -> None:
    assert len(list(cluster.list("Pod", page_size=3, allow_stale=True))) == 5
    assert [r.query.get("resourceVersion") for r in server.requests] == ["0", None]


@pytest.mark.parametrize(
    ("kind", "namespace", "labels", "fields"),
    [
        pytest.param("Pod", None, None, None, id="all-pods"),
        pytest.param("Pod", "shop", None, None, id="namespace"),
        pytest.param("Pod", None, "app.kubernetes.io/name in (web, api)", None, id="label-set"),
        pytest.param("Pod", "shop", "app.kubernetes.io/name!=web", None, id="label-inequality"),
        pytest.param("Pod", None, None, "spec.nodeName=node-a", id="node-name"),
        pytest.param("Pod", None, None, "spec.nodeName=", id="unscheduled"),
        pytest.param("Pod", "shop", None, "status.phase!=Running", id="phase"),
        pytest.param("Pod", None, None, "spec.hostNetwork=true", id="host-network"),
        pytest.param("Event", "shop", None, "involvedObject.kind=Pod,involvedObject.name=db-0", id="events-of-pod"),
        pytest.param("Event", None, None, "type=Warning,reason!=BackOff", id="event-type-reason"),
        pytest.param("Event", None, None, "source=kubelet", id="event-source"),
        pytest.param("Node", None, None, "spec.unschedulable=false", id="schedulable-nodes"),
        pytest.param("Node", None, "topology.kubernetes.io/zone notin (eu-west-1a)", None, id="node-zone"),
        pytest.param("ReplicaSet", "shop", None, "metadata.name=web-7d9f8c6b5d", id="rs-by-name"),
        pytest.param("Deployment", None, "app.kubernetes.io/name", None, id="label-exists"),
    ],
)
def test_list_matches_the_snapshot_backend(
    cluster: LiveCluster, data_dir: Path, kind: str, namespace: str | None, labels: str | None, fields: str | None
) -> None:
    snapshot = SnapshotCluster.from_path(data_dir / "cluster")
    expected = names(snapshot.list(kind, namespace, label_selector=labels, field_selector=fields))
    live = names(cluster.list(kind, namespace, label_selector=labels, field_selector=fields, page_size=2))
    assert expected, "the case should select something"
    assert sorted(live) == sorted(expected)


def test_field_selected_list_pages_by_match_not_by_scan(cluster: LiveCluster, server: FakeKubeServer) -> None:
    pods = names(cluster.list("Pod", field_selector="spec.nodeName=node-a", page_size=2))
    assert sorted(pods) == ["api-6b8f9d7c4-x2k9p", "web-7d9f8c6b5d-4xk2p", "web-7d9f8c6b5d-9qz7m"]
    assert server.request_count("/pods$") == 2


def test_unsupported_field_label_is_rejected_like_the_api_server(cluster: LiveCluster) -> None:
    with pytest.raises(ClusterError, match=r"400.*field label not supported: spec\.priority") as caught:
        list(cluster.list("Pod", field_selector="spec.priority=5"))
    assert not isinstance(caught.value, Unavailable)


def test_logs_tail_previous_and_container_errors(cluster: LiveCluster, server: FakeKubeServer) -> None:
    previous = cluster.logs("shop", "api-6b8f9d7c4-x2k9p", "app", previous=True, tail_lines=1)
    assert previous == "2024-11-27T09:49:41Z FATAL exiting with status 1\n"
    current = cluster.logs("shop", "api-6b8f9d7c4-x2k9p", "app", tail_lines=20)
    assert current.startswith("2024-11-27T09:55:02Z INFO starting api")
    log_request = server.requests_to("/log$")[0]
    assert log_request.path == "/api/v1/namespaces/shop/pods/api-6b8f9d7c4-x2k9p/log"
    assert log_request.query == {"container": "app", "tailLines": "1", "previous": "true"}
    with pytest.raises(ClusterError, match="container nginx is not valid for pod api-6b8f9d7c4-x2k9p"):
        cluster.logs("shop", "api-6b8f9d7c4-x2k9p", "nginx")
    with pytest.raises(ClusterError, match='previous terminated container "log-shipper" in pod'):
        cluster.logs("shop", "api-6b8f9d7c4-x2k9p", "log-shipper", previous=True)
    with pytest.raises(NotFound, match=r"^pod gone-0 not found in namespace shop$"):
        cluster.logs("shop", "gone-0", "app")


def test_429_is_retried_after_retry_after(server: FakeKubeServer) -> None:
    cluster = live_cluster(server.url, backoff=0.01, max_attempts=3)
    server.fail(r"/pods/db-0$", 429, times=1, retry_after=1)
    assert cluster.get("Pod", "db-0", "shop")["metadata"]["name"] == "db-0"
    first, second = server.requests_to("/pods/db-0$")
    assert (first.status, second.status) == (429, 200)
    # The client waited for Retry-After (1 s), not for its own 10 ms backoff.
    assert second.time - first.time >= 0.9


def test_500_is_retried_until_it_succeeds(server: FakeKubeServer) -> None:
    cluster = live_cluster(server.url, backoff=0.01, max_attempts=4)
    server.fail("^/api/v1/nodes$", 500, times=2)
    assert len(list(cluster.list("Node"))) == 3
    assert [r.status for r in server.requests] == [500, 500, 200]


def test_persistent_500_becomes_unavailable_after_the_attempts(server: FakeKubeServer) -> None:
    cluster = live_cluster(server.url, backoff=0.01, max_attempts=3)
    server.fail("^/api/v1/nodes$", 500, times=None)
    with pytest.raises(Unavailable, match=r"500 for list nodes: Internal error occurred.*gave up after 3 attempts"):
        list(cluster.list("Node"))
    assert server.request_count() == 3


def test_403_cluster_wide_list_names_verb_and_resource(cluster: LiveCluster, server: FakeKubeServer) -> None:
    server.fail("^/api/v1/pods$", 403)
    with pytest.raises(Forbidden) as caught:
        list(cluster.list("Pod"))
    assert (caught.value.verb, caught.value.resource, caught.value.namespace) == ("list", "pods", None)
    assert "cannot list pods cluster-wide" in str(caught.value)
    assert 'cannot list resource "pods" in API group "" at the cluster scope' in str(caught.value)
    assert server.request_count() == 1, "403 is not retried"


def test_403_namespaced_get_in_a_group(cluster: LiveCluster, server: FakeKubeServer) -> None:
    server.fail("/deployments/web$", 403)
    with pytest.raises(Forbidden) as caught:
        cluster.get("Deployment", "web", "shop")
    assert "cannot get deployments in namespace shop" in str(caught.value)
    assert 'deployments.apps "web" is forbidden' in str(caught.value)
    assert 'in API group "apps" in the namespace "shop"' in str(caught.value)


def test_403_on_logs_names_the_subresource(cluster: LiveCluster, server: FakeKubeServer) -> None:
    server.fail("/log$", 403)
    with pytest.raises(Forbidden, match="cannot get pods/log in namespace shop"):
        cluster.logs("shop", "api-6b8f9d7c4-x2k9p", "app")


def test_server_not_listening_is_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    cluster = live_cluster(url, backoff=0.01, max_attempts=2, timeout=2.0)
    with pytest.raises(Unavailable, match=f"cannot reach the API server at {url}.*gave up after 2 attempts"):
        cluster.get("Pod", "db-0", "shop")
    assert cluster.request_count() == 2


def test_slow_server_times_out_as_unavailable(server: FakeKubeServer) -> None:
    cluster = live_cluster(server.url, backoff=0.01, max_attempts=2, timeout=0.3)
    server.delay("/nodes/node-a$", 2.0)
    with pytest.raises(Unavailable, match="gave up after 2 attempts"):
        cluster.get("Node", "node-a")
    server.clear_faults()
    assert cluster.get("Node", "node-b")["metadata"]["name"] == "node-b"


def test_qps_limit_caps_requests_per_window(server: FakeKubeServer) -> None:
    qps, burst = 4.0, 2
    cluster = live_cluster(server.url, backoff=0.01, qps=qps, burst=burst)
    worker = threading.Thread(target=lambda: [cluster.get("Node", "node-a") for _ in range(8)])
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive()
    times = [r.time for r in server.requests]
    assert len(times) == 8
    # Without the limiter all 8 land within milliseconds; with it, any one-second window holds at
    # most burst + qps requests (a slower machine only spreads them further apart).
    most_in_a_second = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert most_in_a_second <= burst + qps


def test_continuation_pages_of_one_list_share_its_token(server: FakeKubeServer) -> None:
    # one token, and the next one 100 s away: only the first page of the LIST may take a token
    cluster = live_cluster(server.url, backoff=0.01, qps=0.01, burst=1)
    names: list[str] = []
    worker = threading.Thread(
        target=lambda: names.extend(p["metadata"]["name"] for p in cluster.list("Pod", page_size=1))
    )
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "continuation pages were throttled"
    pages = [r for r in server.requests if r.path == "/api/v1/pods"]
    assert len(pages) == len(names) > 3  # page_size=1: one page per pod
    assert sum(1 for r in pages if "continue" in r.query) == len(pages) - 1


def test_connections_are_reused(cluster: LiveCluster, server: FakeKubeServer) -> None:
    for _ in range(5):
        cluster.get("Node", "node-a")
    list(cluster.list("Pod", page_size=1))
    assert server.connections_opened == 1


class _BrokenListServer(http.server.ThreadingHTTPServer):
    """Answers every GET with 200 and ``body`` (a proxy that cut a LIST short, or put HTML in its place)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.mark.parametrize(("body", "problem"), [
    (b'{"kind":"PodList","metadata":{},"items":[{"metadata":{"name":"a"}},{"metadata":{"na',
     "Unterminated string|Expecting"),
    (b"<html><body>502 Bad Gateway</body></html>", "a LIST answer must be a JSON object"),
])
def test_a_list_page_that_is_not_json_is_a_clear_cluster_error(body: bytes, problem: str) -> None:
    server = _BrokenListServer(body)
    try:
        cluster = live_cluster(f"http://127.0.0.1:{server.server_address[1]}", **FAST)
        seen: list[str] = []
        expected = rf"the API server's answer to list pods is not valid JSON: (?:{problem})"
        with pytest.raises(ClusterError, match=expected):
            seen.extend(pod["metadata"]["name"] for pod in cluster.list("Pod"))
        assert seen == (["a"] if body.startswith(b"{") else [])  # what came before the cut, then the error
    finally:
        server.shutdown()
        server.server_close()

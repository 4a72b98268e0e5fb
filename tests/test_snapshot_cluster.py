"""The snapshot backend: loading kubectl output (YAML/JSON, files and folders) and answering reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from clusterdoc.workers.cluster.base import NotFound
from clusterdoc.workers.cluster.snapshot import SnapshotCluster, SnapshotError, SnapshotStore


def names(objects: object) -> list[str]:
    return [obj["metadata"]["name"] for obj in objects]  # type: ignore[attr-defined]


def test_folder_loads_every_file_and_the_logs(data_dir: Path) -> None:
    store = SnapshotStore.load(data_dir / "cluster")
    counts = {kind: len(objects) for kind, objects in store.by_kind.items()}
    assert counts == {
        "Node": 3,
        "Pod": 5,
        "Event": 3,
        "Namespace": 1,
        "Deployment": 2,
        "ReplicaSet": 2,
        "StatefulSet": 1,
        "PersistentVolumeClaim": 1,
        "Lease": 1,
    }
    assert store.log("shop", "api-6b8f9d7c4-x2k9p", "app", True) is not None
    assert "FATAL" in (store.log("shop", "api-6b8f9d7c4-x2k9p", "app", True) or "")
    assert store.log("shop", "api-6b8f9d7c4-x2k9p", "log-shipper", True) is None


def test_single_yaml_list_file(data_dir: Path) -> None:
    store = SnapshotStore.load(data_dir / "cluster" / "nodes.yaml")
    assert sorted(store.by_kind) == ["Node"]
    assert names(store.select("Node")) == ["node-a", "node-b", "node-c"]
    taint = store.get("Node", "node-b")["spec"]["taints"][0]
    assert taint == {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


def test_single_json_list_file(data_dir: Path) -> None:
    store = SnapshotStore.load(data_dir / "cluster" / "events.json")
    assert [e["reason"] for e in store.select("Event")] == ["FailedScheduling", "BackOff", "NodeNotReady"]


def test_multi_document_yaml_with_bare_objects_and_typed_lists(tmp_path: Path) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"}}
    typed_list = {
        "apiVersion": "v1",
        "kind": "NodeList",
        "metadata": {"resourceVersion": "7"},
        "items": [{"metadata": {"name": "n1"}}, {"metadata": {"name": "n2"}}],
    }
    (tmp_path / "snap.yaml").write_text(yaml.safe_dump_all([pod, None, typed_list]))
    store = SnapshotStore.load(tmp_path / "snap.yaml")
    assert names(store.select("Pod")) == ["p"]
    assert names(store.select("Node")) == ["n1", "n2"]
    assert store.get("Node", "n2")["kind"] == "Node"


def test_folder_ignores_other_files_and_reads_nested_folders(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not a snapshot: {{{")
    (tmp_path / "more").mkdir()
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"}}
    (tmp_path / "more" / "pod.json").write_text(json.dumps(pod))
    assert names(SnapshotStore.load(tmp_path).select("Pod")) == ["p"]


@pytest.mark.parametrize(
    ("filename", "content", "problem"),
    [
        pytest.param("broken.yaml", "items: [unclosed", "not valid YAML/JSON", id="bad-yaml"),
        pytest.param("broken.json", '{"kind": "List", "items": [', "not valid YAML/JSON", id="bad-json"),
        pytest.param("scalar.yaml", "just a string\n", "expected a Kubernetes object or List", id="scalar"),
        pytest.param(
            "nameless.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {}\n", "without kind/metadata.name", id="nameless"
        ),
        pytest.param("kindless.yaml", "metadata: {name: x}\n", "without kind/metadata.name", id="kindless"),
        pytest.param("list-item.yaml", "kind: List\nitems: [3]\n", "got int", id="list-of-scalars"),
        pytest.param("numeric-kind.yaml", "kind: 5\nmetadata: {name: x}\n", "kind must be a string", id="kind-5"),
    ],
)
def test_bad_file_raises_snapshot_error_naming_it(tmp_path: Path, filename: str, content: str, problem: str) -> None:
    (tmp_path / "good.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n")
    (tmp_path / filename).write_text(content)
    with pytest.raises(SnapshotError) as caught:
        SnapshotStore.load(tmp_path)
    assert str(tmp_path / filename) in str(caught.value)
    assert problem in str(caught.value)


def test_binary_file_raises_snapshot_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "dump.yaml").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(SnapshotError, match=r"dump\.yaml: not a UTF-8 text file"):
        SnapshotStore.load(tmp_path)


def test_missing_path_raises_snapshot_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="snapshot not found"):
        SnapshotStore.load(tmp_path / "nope")


@pytest.fixture
def cluster(data_dir: Path) -> SnapshotCluster:
    return SnapshotCluster.from_path(data_dir / "cluster")


def test_get_namespaced_and_cluster_scoped(cluster: SnapshotCluster) -> None:
    assert cluster.get("Pod", "db-0", "shop")["status"]["phase"] == "Pending"
    assert cluster.get("Node", "node-c", "ignored-for-cluster-scoped")["spec"]["unschedulable"] is True
    assert cluster.get("Deployment", "web", "shop")["spec"]["replicas"] == 2


def test_get_missing_raises_not_found_with_a_readable_message(cluster: SnapshotCluster) -> None:
    with pytest.raises(NotFound, match=r"^pod web-0 not found in namespace shop$"):
        cluster.get("Pod", "web-0", "shop")
    with pytest.raises(NotFound, match=r"^pod db-0 not found in namespace dev$"):
        cluster.get("Pod", "db-0", "dev")
    with pytest.raises(NotFound, match=r"^node node-z not found$"):
        cluster.get("Node", "node-z")


@pytest.mark.parametrize(
    ("kind", "namespace", "labels", "fields", "expected"),
    [
        pytest.param("Pod", "kube-system", None, None, ["kube-proxy-7hq2d"], id="namespace"),
        pytest.param(
            "Pod", "shop", "app.kubernetes.io/name=web", None,
            ["web-7d9f8c6b5d-4xk2p", "web-7d9f8c6b5d-9qz7m"], id="labels",
        ),
        pytest.param("Pod", None, None, "spec.nodeName=node-c", ["kube-proxy-7hq2d"], id="node-name"),
        pytest.param("Pod", None, None, "status.phase=Pending", ["db-0"], id="phase"),
        pytest.param("Event", "shop", None, "involvedObject.name=db-0", ["db-0.180b4a3c9f2e1d00"], id="events-of"),
        pytest.param("Node", None, None, "spec.unschedulable=true", ["node-c"], id="cordoned-nodes"),
        pytest.param("Node", None, None, "spec.unschedulable=false", ["node-a", "node-b"], id="schedulable-nodes"),
        pytest.param("Node", "shop", None, None, ["node-a", "node-b", "node-c"], id="namespace-ignored-for-nodes"),
    ],
)
def test_list_filters(
    cluster: SnapshotCluster, kind: str, namespace: str | None, labels: str | None, fields: str | None,
    expected: list[str],
) -> None:
    found = cluster.list(kind, namespace, label_selector=labels, field_selector=fields)
    assert sorted(names(found)) == expected


def test_logs_tail_and_previous(cluster: SnapshotCluster) -> None:
    previous = cluster.logs("shop", "api-6b8f9d7c4-x2k9p", "app", previous=True, tail_lines=2)
    assert previous.splitlines() == [
        "2024-11-27T09:49:41Z ERROR could not connect to database: connection refused",
        "2024-11-27T09:49:41Z FATAL exiting with status 1",
    ]
    assert "starting api" in cluster.logs("shop", "api-6b8f9d7c4-x2k9p", "app")
    assert cluster.logs("shop", "db-0", "postgres") == ""
    with pytest.raises(NotFound, match="pod nope not found in namespace shop"):
        cluster.logs("shop", "nope", "app")
    assert cluster.request_count() == 0


def test_snapshot_knows_when_it_was_taken(tmp_path: Path) -> None:
    (tmp_path / "objects.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: Pod, metadata: {name: a, namespace: x, creationTimestamp: '2024-01-01T00:00:00Z'},\n"
        "   status: {conditions: [{type: Ready, lastTransitionTime: '2024-01-02T03:04:05Z'}]}}\n"
        "- {apiVersion: v1, kind: Event, metadata: {name: e, namespace: x}, lastTimestamp: 'not a time'}\n"
    )
    taken = SnapshotStore.load(tmp_path).taken_at()
    assert taken is not None and taken.isoformat() == "2024-01-02T03:04:05+00:00"


def test_a_list_whose_items_are_not_a_list_is_one_clear_error(tmp_path: Path) -> None:
    """Found by tests/test_fuzz.py: a nested List with ``items: true`` raised a TypeError."""
    path = tmp_path / "cluster.yaml"
    path.write_text("kind: List\nitems:\n- kind: List\n  items: true\n", encoding="utf-8")
    with pytest.raises(SnapshotError, match="a List's items must be a list, got bool"):
        SnapshotStore.load(path)

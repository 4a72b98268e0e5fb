"""The fake API server's write side (``tests/harness/kube_mutations.py``), checked at the HTTP level.

The remediation tests trust it, so its semantics are pinned here: merge vs strategic merge patch,
unsupported patch types, delete preconditions, dry runs that store nothing, eviction and budgets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import urllib3

from tests.harness.fake_kube import FakeKubeServer
from tests.harness.kube_mutations import MutationEngine, install, json_merge_patch, strategic_merge_patch

SNAPSHOT = Path(__file__).parent / "data" / "remediation" / "cluster.yaml"
DEPLOY = "/apis/apps/v1/namespaces/shop/deployments/web"


@pytest.fixture
def kube(fake_kube: Callable[[Path], FakeKubeServer]) -> FakeKubeServer:
    return fake_kube(SNAPSHOT)


@pytest.fixture
def writes(kube: FakeKubeServer) -> MutationEngine:
    return install(kube)


def call(kube: FakeKubeServer, method: str, path: str, body: object = None,
         content_type: str = "application/json") -> tuple[int, dict[str, object]]:
    response = urllib3.request(method, kube.url + path, body=json.dumps(body) if body is not None else None,
                               headers={"Content-Type": content_type})
    return response.status, json.loads(response.data or b"{}")


def test_merge_patch_rules() -> None:
    current = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert json_merge_patch(current, {"a": {"b": None, "c": [3]}, "e": {"f": 1}}) == {
        "a": {"c": [3]}, "d": 1, "e": {"f": 1}
    }


def test_strategic_merge_patch_merges_containers_by_name() -> None:
    current = {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}], "tolerations": [1]}
    patched = strategic_merge_patch(current, {
        "containers": [{"name": "b", "image": "b:2"}, {"name": "a", "$patch": "delete"}, {"name": "c", "image": "c"}],
        "tolerations": [2],
    })
    assert patched == {"containers": [{"name": "b", "image": "b:2"}, {"name": "c", "image": "c"}], "tolerations": [2]}


def test_patch_types_dry_run_and_versions(kube: FakeKubeServer, writes: MutationEngine) -> None:
    status, dry = call(kube, "PATCH", DEPLOY + "?dryRun=All", {"spec": {"replicas": 7}},
                       "application/merge-patch+json")
    assert status == 200 and dry["spec"]["replicas"] == 7  # type: ignore[index]
    assert call(kube, "GET", DEPLOY)[1]["spec"]["replicas"] == 2  # type: ignore[index]
    status, done = call(kube, "PATCH", DEPLOY, {"spec": {"replicas": 7}}, "application/merge-patch+json")
    assert status == 200
    assert done["metadata"]["generation"] == 5 and done["metadata"]["resourceVersion"] != "100"  # type: ignore[index]
    assert call(kube, "PATCH", DEPLOY, [{"op": "remove"}], "application/json-patch+json")[0] == 415
    assert call(kube, "PATCH", DEPLOY, {"spec": {"replicas": -1}}, "application/merge-patch+json")[0] == 422
    assert call(kube, "PATCH", DEPLOY + "?dryRun=Some", {}, "application/merge-patch+json")[0] == 400
    assert [(m.dry_run, m.status) for m in writes.log] == [(True, 200), (False, 200), (False, 415), (False, 422)]


def test_delete_preconditions(kube: FakeKubeServer, writes: MutationEngine) -> None:
    path = "/api/v1/namespaces/shop/pods/debug"
    status, body = call(kube, "DELETE", path, {"preconditions": {"uid": "someone-else"}})
    assert status == 409 and "the UID in the precondition (someone-else) does not match" in str(body["message"])
    assert call(kube, "DELETE", path, {"preconditions": {"uid": "uid-debug"}})[0] == 200
    assert call(kube, "GET", path)[0] == 404
    assert [m.applied for m in writes.log] == [False, True]


def test_delete_with_a_body_takes_dry_run_from_the_body_only(kube: FakeKubeServer, writes: MutationEngine) -> None:
    """As kube-apiserver: a DELETE's options come from its body when it has one, so ``?dryRun=All``
    next to a body is ignored (the delete is real); ``DeleteOptions.dryRun`` is what counts."""
    path = "/api/v1/namespaces/shop/pods/debug"
    assert call(kube, "DELETE", path, {"dryRun": ["All"], "gracePeriodSeconds": 0})[0] == 200
    assert call(kube, "GET", path)[0] == 200
    assert call(kube, "DELETE", path + "?dryRun=All", {"gracePeriodSeconds": 0})[0] == 200
    assert call(kube, "GET", path)[0] == 404
    assert [(m.dry_run, m.applied) for m in writes.log] == [(True, False), (False, True)]


def test_eviction_respects_and_consumes_budgets(kube: FakeKubeServer, writes: MutationEngine) -> None:
    def evict(name: str, dry_run: bool = False) -> tuple[int, dict[str, object]]:
        body: dict[str, object] = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}
        if dry_run:
            body["deleteOptions"] = {"dryRun": ["All"]}
        return call(kube, "POST", f"/api/v1/namespaces/shop/pods/{name}/eviction", body)

    status, body = evict("db-0")
    assert status == 429
    assert body["details"]["causes"][0]["message"].startswith("The disruption budget db-pdb")  # type: ignore[index]
    assert evict("web-8c4b2-aaaaa", dry_run=True)[0] == 201
    assert call(kube, "GET", "/api/v1/namespaces/shop/pods/web-8c4b2-aaaaa")[0] == 200
    assert evict("web-8c4b2-aaaaa")[0] == 201
    assert evict("web-8c4b2-bbbbb")[0] == 201
    budget = call(kube, "GET", "/apis/policy/v1/namespaces/shop/poddisruptionbudgets/web-pdb")[1]
    assert budget["status"]["disruptionsAllowed"] == 0  # type: ignore[index]
    assert len(writes.applied()) == 2 and len(writes.dry_runs()) == 1

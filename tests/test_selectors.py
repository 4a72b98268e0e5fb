"""Label and field selectors match objects the way the API server does."""

from __future__ import annotations

from typing import Any

import pytest

from clusterdoc.workers.cluster.selectors import SelectorError, field_matcher, field_value, label_matcher

WEB = {"metadata": {"name": "web-0", "labels": {"app": "web", "tier": "frontend", "env": "prod"}}}
DB = {"metadata": {"name": "db-0", "labels": {"app": "db", "tier": "backend", "partition": "a"}}}
BARE = {"metadata": {"name": "bare"}}
OBJECTS = {"web": WEB, "db": DB, "bare": BARE}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        pytest.param("", {"web", "db", "bare"}, id="empty-matches-all"),
        pytest.param(None, {"web", "db", "bare"}, id="none-matches-all"),
        pytest.param("app=web", {"web"}, id="equality"),
        pytest.param("app==web", {"web"}, id="double-equals"),
        pytest.param("app = web", {"web"}, id="spaces-around-operator"),
        pytest.param("app!=web", {"db", "bare"}, id="inequality-includes-unlabelled"),
        pytest.param("app=web,tier=frontend", {"web"}, id="and-of-terms"),
        pytest.param("app=web,tier=backend", set(), id="and-of-terms-none"),
        pytest.param("tier in (frontend, backend)", {"web", "db"}, id="in-set"),
        pytest.param("tier in (frontend)", {"web"}, id="in-single"),
        pytest.param("tier notin (frontend)", {"db", "bare"}, id="notin-includes-unlabelled"),
        pytest.param("partition", {"db"}, id="exists"),
        pytest.param("!partition", {"web", "bare"}, id="does-not-exist"),
        pytest.param("env in (prod,staging),app", {"web"}, id="set-then-exists"),
        pytest.param("app.kubernetes.io/name=web", set(), id="prefixed-key-absent"),
    ],
)
def test_label_selector(selector: str | None, expected: set[str]) -> None:
    match = label_matcher(selector)
    assert {name for name, obj in OBJECTS.items() if match(obj)} == expected


def test_label_selector_with_prefixed_key() -> None:
    obj = {"metadata": {"labels": {"app.kubernetes.io/name": "web"}}}
    assert label_matcher("app.kubernetes.io/name=web")(obj)
    assert not label_matcher("app.kubernetes.io/name in (db)")(obj)


@pytest.mark.parametrize(
    "selector",
    [
        pytest.param("app web", id="two-words"),
        pytest.param("tier in (frontend", id="unclosed-set"),
        pytest.param("(app)", id="parentheses-only"),
    ],
)
def test_bad_label_selector_names_the_term(selector: str) -> None:
    with pytest.raises(SelectorError, match="cannot parse label selector term"):
        label_matcher(selector)


POD_ON_A = {
    "metadata": {"name": "web-0", "namespace": "shop"},
    "spec": {"nodeName": "node-a", "hostNetwork": True},
    "status": {"phase": "Running"},
}
POD_PENDING = {"metadata": {"name": "db-0", "namespace": "shop"}, "spec": {}, "status": {"phase": "Pending"}}
POD_OTHER_NS = {
    "metadata": {"name": "web-0", "namespace": "dev"},
    "spec": {"nodeName": "node-b"},
    "status": {"phase": "Running"},
}
PODS = {"on-a": POD_ON_A, "pending": POD_PENDING, "other-ns": POD_OTHER_NS}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        pytest.param("", {"on-a", "pending", "other-ns"}, id="empty"),
        pytest.param("spec.nodeName=node-a", {"on-a"}, id="node-name"),
        pytest.param("spec.nodeName=", {"pending"}, id="unscheduled-is-empty-node-name"),
        pytest.param("spec.nodeName!=", {"on-a", "other-ns"}, id="scheduled"),
        pytest.param("status.phase!=Running", {"pending"}, id="phase-inequality"),
        pytest.param("metadata.name==web-0,metadata.namespace=shop", {"on-a"}, id="name-and-namespace"),
        pytest.param("metadata.name=web-0", {"on-a", "other-ns"}, id="name-across-namespaces"),
        pytest.param("spec.hostNetwork=true", {"on-a"}, id="boolean-true-lowercase"),
        pytest.param("spec.hostNetwork=false", {"pending", "other-ns"}, id="boolean-default-false"),
    ],
)
def test_field_selector(selector: str, expected: set[str]) -> None:
    match = field_matcher(selector)
    assert {name for name, obj in PODS.items() if match(obj)} == expected


EVENT = {
    "metadata": {"name": "db-0.1", "namespace": "shop"},
    "involvedObject": {"kind": "Pod", "name": "db-0", "namespace": "shop", "uid": "u-1"},
    "reason": "FailedScheduling",
    "type": "Warning",
    "source": {"component": "default-scheduler"},
}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param("involvedObject.kind", "Pod", id="involved-kind"),
        pytest.param("involvedObject.uid", "u-1", id="involved-uid"),
        pytest.param("reason", "FailedScheduling", id="reason"),
        pytest.param("type", "Warning", id="type"),
        pytest.param("source", "default-scheduler", id="source-is-component"),
        pytest.param("involvedObject.fieldPath", "", id="absent-is-empty"),
        pytest.param("reason.deeper", "", id="path-through-a-string"),
    ],
)
def test_field_value_of_event(path: str, value: str) -> None:
    assert field_value(EVENT, path) == value


@pytest.mark.parametrize(
    ("obj", "path", "value"),
    [
        pytest.param({"spec": {"unschedulable": True}}, "spec.unschedulable", "true", id="cordoned"),
        pytest.param({"spec": {}}, "spec.unschedulable", "false", id="schedulable-by-default"),
        pytest.param({"status": {}}, "status.replicas", "0", id="replicas-default"),
        pytest.param({"status": {"replicas": 3}}, "status.replicas", "3", id="number"),
    ],
)
def test_field_value_defaults_and_rendering(obj: dict[str, Any], path: str, value: str) -> None:
    assert field_value(obj, path) == value


def test_bad_field_selector_names_the_term() -> None:
    with pytest.raises(SelectorError, match=r"spec\.nodeName"):
        field_matcher("spec.nodeName")

"""The Helm chart through the real ``helm`` and the real API server.

``helm lint --strict`` and ``helm template`` for the default values and each example values file
(``helm/clusterdoc/examples/``); every rendered object is applied with a server-side dry run and
strict field validation, so a misspelled field, a wrong type or an object the API server's
admission refuses fails the build. The rendered ConfigMap must hold a configuration clusterdoc
itself accepts.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import pytest
import yaml

from clusterdoc.config import FileConfig
from tests.harness import helm
from tests.harness.kube_rest import ApiError, KubeRest
from tests.harness.processes import wait_until

NAMESPACE = "clusterdoc-chart"
VALUES = [pytest.param(None, id="default")] + [pytest.param([p], id=p.stem) for p in helm.EXAMPLE_VALUES]


OPERATOR_KINDS = [  # (group, version, kind, plural): the chart's optional objects for operators it does not ship
    ("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors"),
    ("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules"),
    ("keda.sh", "v1alpha1", "ScaledObject", "scaledobjects"),
    ("keda.sh", "v1alpha1", "TriggerAuthentication", "triggerauthentications"),
]


def _stand_in_crd(group: str, version: str, kind: str, plural: str) -> dict[str, object]:
    """The operator's CRD as far as the API server needs it to admit the object (its spec is not
    validated: the operators' full schemas are not available here)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
                 "versions": [{"name": version, "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]},
    }


@pytest.fixture(scope="module")
def namespace(kube_admin: KubeRest) -> str:
    kube_admin.create_namespace(NAMESPACE)
    for group, version, kind, plural in OPERATOR_KINDS:
        if not kube_admin.exists("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"{plural}.{group}"):
            kube_admin.create(_stand_in_crd(group, version, kind, plural))
    for group, version, kind, _plural in OPERATOR_KINDS:
        wait_until(functools.partial(_served, kube_admin, f"{group}/{version}", kind), f"{kind} served", timeout=30)
    return NAMESPACE


def _served(kube: KubeRest, api_version: str, kind: str) -> bool:
    try:
        kube.resource(api_version, kind)
        return True
    except (KeyError, ApiError):
        return False


def test_there_are_example_values_files() -> None:
    assert len(helm.EXAMPLE_VALUES) >= 3


@pytest.mark.parametrize("values", VALUES)
def test_helm_lint_strict(values: list[Path] | None) -> None:
    assert "0 chart(s) failed" in helm.lint(values)


@pytest.mark.parametrize("values", VALUES)
def test_every_rendered_object_passes_a_server_side_dry_run(values: list[Path] | None, kube_admin: KubeRest,
                                                            namespace: str) -> None:
    objects = helm.render(values, namespace=namespace)
    assert objects, "helm template rendered nothing"
    refused = []
    for obj in objects:
        try:
            answer = kube_admin.apply(obj, dry_run=True)
        except ApiError as exc:
            refused.append(f"{obj['kind']} {obj['metadata']['name']}: {exc}")
            continue
        assert answer["kind"] == obj["kind"]
    assert not refused, "\n".join(refused)
    config = helm.by_kind_name(objects, "ConfigMap", "cd-clusterdoc-config")
    FileConfig.model_validate(yaml.safe_load(config["data"]["config.yaml"]) or {})


def test_a_misspelled_field_is_refused(kube_admin: KubeRest, namespace: str) -> None:
    """The dry run is strict: what a typo in a template would produce fails, naming the field."""
    worker = copy.deepcopy(helm.by_kind_name(helm.render(namespace=namespace), "Deployment", "cd-clusterdoc-worker"))
    worker["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(ApiError) as refused:
        kube_admin.apply(worker, dry_run=True)
    # server-side apply answers 500 here (kube-apiserver 1.37 cannot build the typed patch), naming the field
    assert refused.value.status >= 400
    assert 'containers[name="worker"].imagePullPolicyy: field not declared in schema' in refused.value.message
    assert not kube_admin.exists("apps/v1", "Deployment", "cd-clusterdoc-worker", namespace)

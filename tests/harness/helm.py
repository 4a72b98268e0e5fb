"""The chart through the real ``helm`` (built by ``scripts/build-binaries.sh``): lint and template.

:func:`render` returns the objects ``helm template`` prints for the chart with some values files,
each with its release namespace filled in where the chart leaves it out (as ``helm install``
would). Helm's caches and config go to a temporary folder, never the user's home.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tests.harness.k8s_binaries import binaries_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "helm" / "clusterdoc"
EXAMPLE_VALUES = sorted((CHART / "examples").glob("*.yaml"))
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "Namespace", "PriorityClass", "StorageClass"}
_HOME = tempfile.mkdtemp(prefix="clusterdoc-helm-")


class HelmError(RuntimeError):
    """helm exited non-zero; the message has its output."""


def helm(*args: str, chart: Path = CHART) -> str:
    """Run the built helm with ``args`` (``chart`` is appended); its stdout, or :class:`HelmError`."""
    env = {**os.environ, "HELM_CACHE_HOME": f"{_HOME}/cache", "HELM_CONFIG_HOME": f"{_HOME}/config",
           "HELM_DATA_HOME": f"{_HOME}/data"}
    done = subprocess.run([str(binaries_dir() / "helm"), *args, str(chart)], capture_output=True, text=True,
                          env=env, check=False, timeout=120)
    if done.returncode != 0:
        raise HelmError(f"helm {' '.join(args)} {chart.name} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def values_args(values: list[Path] | None) -> list[str]:
    return [arg for path in values or [] for arg in ("-f", str(path))]


def lint(values: list[Path] | None = None, chart: Path = CHART) -> str:
    """``helm lint --strict`` with the values files; its output (raises when lint fails)."""
    return helm("lint", "--strict", *values_args(values), chart=chart)


def render(values: list[Path] | None = None, *, release: str = "cd", namespace: str = "clusterdoc",
           chart: Path = CHART, sets: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The objects of ``helm template`` (namespaced ones get ``namespace`` when the chart sets none)."""
    set_args = [arg for item in sets for arg in ("--set", item)]
    text = helm("template", release, "--namespace", namespace, *values_args(values), *set_args, chart=chart)
    objects = [doc for doc in yaml.safe_load_all(text) if doc]
    for obj in objects:
        if obj["kind"] not in CLUSTER_SCOPED:
            obj.setdefault("metadata", {}).setdefault("namespace", namespace)
    return objects


def by_kind_name(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)

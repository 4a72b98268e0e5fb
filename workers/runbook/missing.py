"""When the target does not exist: where it does exist, and the names the person may have meant.

Reading, deciding and wording are separate. :func:`read_near_misses` asks the cluster three
cheap questions: the same name in other namespaces (ONE cluster-wide LIST with the field selector
``metadata.name=NAME``, never a loop over namespaces), similar names in the namespace asked
about, and whether that namespace exists at all (the Namespace LIST; snapshots, which rarely hold
Namespace objects, answer from the namespaces their pods live in). :func:`suggested_command`
decides the command to run instead, and :func:`explain` words the finding.
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass, field
from itertools import islice

from clusterdoc import kinds
from clusterdoc.queue import DiagnosisRequest
from clusterdoc.report import Target
from clusterdoc.workers.cluster.base import Cluster, ClusterError

CLOSE_MATCHES = 5
NAMESPACE_SAMPLE = 500
"""Without a readable Namespace list, the namespaces of at most this many pods are looked at."""
ALWAYS_THERE = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


@dataclass
class NearMisses:
    """What the cluster holds near a missing target."""

    elsewhere: list[str] = field(default_factory=list)
    """Namespaces holding an object of the same kind and name."""
    close_names: list[str] = field(default_factory=list)
    """Similar names in the namespace asked about (or cluster-wide for cluster-scoped kinds)."""
    namespace_exists: bool | None = None
    """False when the namespace asked about does not exist; None when unknown or not namespaced."""
    namespace_listed: bool = True
    """Whether the namespaces came from the Namespace list (else: from where pods run)."""
    close_namespaces: list[str] = field(default_factory=list)


def _names(
    cluster: Cluster, kind: str, namespace: str | None, field_selector: str | None = None
) -> list[tuple[str, str]]:
    """(namespace, name) of the objects listed; empty when the list cannot be read."""
    try:
        listed = cluster.list(kind, namespace, field_selector=field_selector, page_size=500, allow_stale=True)
        return [((obj.get("metadata") or {}).get("namespace") or "", (obj.get("metadata") or {}).get("name") or "")
                for obj in listed]
    except ClusterError:
        return []


def _known_namespaces(cluster: Cluster) -> tuple[set[str], bool]:
    """The cluster's namespaces, and True when they come from the Namespace list itself."""
    namespaces = {name for _, name in _names(cluster, "Namespace", None)}
    if namespaces:
        return namespaces, True
    try:
        pods = cluster.list("Pod", None, page_size=NAMESPACE_SAMPLE, allow_stale=True)
        seen = {(pod.get("metadata") or {}).get("namespace") or "" for pod in islice(pods, NAMESPACE_SAMPLE)}
    except ClusterError:
        return set(), False
    return seen - {""}, False


def read_near_misses(cluster: Cluster, target: Target) -> NearMisses:
    """Ask the cluster where ``target``'s name exists and what is close to it."""
    kind = kinds.lookup(target.kind)
    found = NearMisses()
    if kind is None or not kind.namespaced or not target.namespace:
        names = [name for _, name in _names(cluster, target.kind, None)]
        found.close_names = difflib.get_close_matches(target.name, names, n=CLOSE_MATCHES, cutoff=0.6)
        return found
    same_name = _names(cluster, target.kind, None, field_selector=f"metadata.name={target.name}")
    found.elsewhere = sorted({namespace for namespace, _ in same_name if namespace and namespace != target.namespace})
    names = [name for _, name in _names(cluster, target.kind, target.namespace)]
    found.close_names = difflib.get_close_matches(target.name, names, n=CLOSE_MATCHES, cutoff=0.6)
    if not names and target.namespace not in ALWAYS_THERE:  # an empty namespace may be a mistyped one
        namespaces, found.namespace_listed = _known_namespaces(cluster)
        if namespaces:
            found.namespace_exists = target.namespace in namespaces
            if not found.namespace_exists:
                found.close_namespaces = difflib.get_close_matches(target.namespace, sorted(namespaces), n=3,
                                                                   cutoff=0.6)
    return found


def suggested_command(request: DiagnosisRequest, namespace: str) -> str:
    """The same /k8s command with ``-n namespace``: ``/k8s why-pending web-0 -n shop``."""
    assert request.target is not None
    target = request.target
    kind = kinds.lookup(target.kind)
    short = kind.aliases[0] if kind and kind.aliases else target.kind.lower()
    words = [request.verb] + ([request.runbook] if request.verb == "run" else [])
    words += [target.name if target.kind == "Pod" else f"{short}/{target.name}", "-n", namespace]
    if request.cluster and request.cluster != "default":
        words += ["-c", request.cluster]
    words += [f"{key}={value}" for key, value in request.params.items()]
    return "/k8s " + " ".join(shlex.quote(word) for word in words)


def explain(request: DiagnosisRequest, near: NearMisses) -> str:
    """The finding's detail: where it exists (with the command to run), else the near names."""
    lines = []
    if near.elsewhere:
        where = ", ".join(near.elsewhere)
        plural = "s" if len(near.elsewhere) > 1 else ""
        lines.append(f"Found in namespace{plural} {where}: `{suggested_command(request, near.elsewhere[0])}`")
    if near.namespace_exists is False and near.close_namespaces and request.target is not None:
        options = ", ".join(f"`-n {namespace}`" for namespace in near.close_namespaces)
        missing = "does not exist" if near.namespace_listed else "has no pods"
        lines.append(f"Namespace {request.target.namespace} {missing}; did you mean {options}?")
    if near.close_names:
        lines.append(f"Close matches: {', '.join(near.close_names)}")
    if not lines:
        lines.append("No object with a similar name there.")
    return "\n".join(lines)


def headline(summary: str, near: NearMisses) -> str:
    """The verdict sentence: the API's "not found", and where it is instead when it is elsewhere."""
    if near.elsewhere:
        return f"{summary}; it exists in namespace {', '.join(near.elsewhere)}"
    return summary

"""PodDisruptionBudgets as a drain sees them: which budgets cover a pod, and how to name them.

A ``metav1.LabelSelector`` (``matchLabels`` and ``matchExpressions`` with ``In``, ``NotIn``,
``Exists``, ``DoesNotExist``) is matched against the pod's labels; an empty selector matches
every pod in the namespace (policy/v1 semantics).
"""

from __future__ import annotations

from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.scheduling.labels import selector_matches


def budgets_for(pod: Obj, budgets: list[Obj]) -> list[Obj]:
    """The budgets of the pod's namespace whose selector matches the pod."""
    metadata = pod.get("metadata") or {}
    labels = metadata.get("labels") or {}
    return [
        budget
        for budget in budgets
        if (budget.get("metadata") or {}).get("namespace") == metadata.get("namespace")
        and selector_matches((budget.get("spec") or {}).get("selector"), labels)
    ]


def describe_budget(budget: Obj) -> str:
    """``shop/web-pdb (minAvailable 2, 0 disruptions allowed now)``."""
    metadata, spec, status = budget.get("metadata") or {}, budget.get("spec") or {}, budget.get("status") or {}
    rule = (
        f"minAvailable {spec['minAvailable']}" if "minAvailable" in spec
        else f"maxUnavailable {spec.get('maxUnavailable', '?')}"
    )
    allowed = status.get("disruptionsAllowed")
    now = f", {allowed} disruptions allowed now" if allowed is not None else ""
    return f"{metadata.get('namespace')}/{metadata.get('name')} ({rule}{now})"

"""Typed errors of the mutating client and the actions; ``str()`` is fit to show a user.

They extend the read-side errors of :mod:`clusterdoc.workers.cluster.base` so a step or action can catch
``ClusterError`` for both.
"""

from __future__ import annotations

from typing import Any

from clusterdoc.workers.cluster.base import ClusterError


class Conflict(ClusterError):
    """409: a precondition (UID, resourceVersion) no longer holds, or the object changed."""


class Invalid(ClusterError):
    """422 or 400: the API server rejected the request body (validation, admission)."""


class DisruptionBlocked(ClusterError):
    """429 on an eviction: a PodDisruptionBudget does not allow the disruption right now."""

    def __init__(self, pod: str, namespace: str, message: str, budget: str | None = None) -> None:
        self.pod, self.namespace, self.budget = pod, namespace, budget
        qualified = budget if budget is None or "/" in budget else f"{namespace}/{budget}"
        named = f"PodDisruptionBudget {qualified}" if qualified else "a PodDisruptionBudget"
        super().__init__(f"eviction of pod {namespace}/{pod} blocked by {named}: {message}")


class Refused(ClusterError):
    """The API server refused the request for another reason (admission webhook, quota...)."""

    def __init__(self, status: int, message: str, details: dict[str, Any] | None = None) -> None:
        self.status, self.details = status, details or {}
        super().__init__(f"API server answered {status}: {message}")


class PreconditionFailed(Exception):
    """The target changed in a way that matters since diagnosis, or the action does not apply.

    ``rule`` is a short name of the check (``pod-uid-changed``); ``str()`` explains it.
    """

    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule
        super().__init__(message)


class InvalidParams(Exception):
    """The pending action's parameters do not fit the action's declared model."""

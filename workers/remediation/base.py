"""What every remediation action declares, and the context it runs in.

An action is a small class: ``name``, ``risk``, the kinds it applies to, a pydantic model of
its parameters, a plain-language description, the identity it records at diagnosis
(:meth:`Action.observe`), the preconditions it re-checks just before running
(:meth:`Action.precheck`) and the change itself (:meth:`Action.apply`), which the runner calls
twice: first with ``dry_run=True`` (server-side ``dryRun=All``), then for real.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from clusterdoc.report import Target
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.remediation.client import RemediationClient
from clusterdoc.workers.remediation.errors import PreconditionFailed

Risk = Literal["low", "medium", "high"]
Progress = Callable[[str], None]


def _ignore(message: str) -> None:
    """The default progress callback: progress goes nowhere."""


class NoParams(BaseModel):
    """Parameters of an action that takes none (hints a step adds, such as ``node``, are ignored)."""

    model_config = ConfigDict(extra="ignore")


@dataclass
class ActionContext:
    """What an action may use: the mutating client, etcd access, a progress callback, options.

    ``waived`` names precondition rules the approval policy explicitly allows to be skipped
    (e.g. ``pod-without-controller``). ``sleep`` and ``clock`` are injectable for drains.
    """

    client: RemediationClient | None = None
    etcd: Any = None
    progress: Progress = _ignore
    waived: frozenset[str] = frozenset()
    poll_interval: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def kube(self) -> RemediationClient:
        if self.client is None:
            raise PreconditionFailed("no-cluster-access", "this worker has no Kubernetes credentials for remediation")
        return self.client


@dataclass(frozen=True)
class Access:
    """One permission an action uses (read or write), as a SelfSubjectAccessReview asks it."""

    verb: str
    kind: str
    subresource: str | None = None
    all_namespaces: bool = False
    """Asked cluster-wide (a list or evictions across namespaces); cluster-scoped kinds never carry one."""


@dataclass
class Applied:
    """What one :meth:`Action.apply` call did (or, in a dry run, would do)."""

    summary: str
    changes: list[str] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)


class Action(ABC):
    """One entry of the remediation catalogue."""

    name: ClassVar[str]
    risk: ClassVar[Risk]
    kinds: ClassVar[tuple[str, ...]]
    changes: ClassVar[str]
    """One sentence: what the action changes in the cluster."""
    Params: ClassVar[type[BaseModel]] = NoParams

    def parse_params(self, raw: dict[str, Any]) -> BaseModel:
        return self.Params.model_validate(raw)

    def access(self, target: Target, params: BaseModel) -> list[Access]:
        """What it reads and writes, for the approver's access review before the claim: by default the
        target is read (:meth:`precheck`) and patched."""
        return [Access("get", target.kind), Access("patch", target.kind)]

    def risk_for(self, params: BaseModel) -> Risk:
        """The risk of running this action with ``params`` (for most actions, always :attr:`risk`)."""
        return self.risk

    def changes_for(self, params: BaseModel) -> str:
        """What running it with ``params`` changes (for most actions, always :attr:`changes`)."""
        return self.changes

    @abstractmethod
    def describe(self, target: Target, params: BaseModel) -> str:
        """What will happen, in plain language, for the button's text."""

    def observe(self, obj: Obj) -> dict[str, Any]:
        """The identity and version of the target as seen at diagnosis."""
        metadata = obj.get("metadata") or {}
        seen: dict[str, Any] = {
            "uid": metadata.get("uid", ""),
            "resourceVersion": metadata.get("resourceVersion", ""),
        }
        if "generation" in metadata:
            seen["generation"] = metadata["generation"]
        return seen

    def read_target(self, ctx: ActionContext, target: Target) -> Obj:
        return ctx.kube().get(target.kind, target.name, target.namespace)

    def precheck(self, ctx: ActionContext, target: Target, params: BaseModel, seen: dict[str, Any]) -> Obj:
        """Re-read the target and raise :class:`PreconditionFailed` if it changed in a way that matters."""
        if target.kind not in self.kinds:
            raise PreconditionFailed(
                "wrong-kind", f"{self.name} applies to {', '.join(self.kinds)}, not {target.kind}"
            )
        current = self.read_target(ctx, target)
        same_object(target, current, seen)
        return current

    @abstractmethod
    def apply(
        self, ctx: ActionContext, target: Target, params: BaseModel, current: Obj, *, dry_run: bool
    ) -> Applied:
        """Make the change (or ask the API server to validate it with ``dryRun=All``)."""


def same_object(target: Target, current: Obj, seen: dict[str, Any]) -> None:
    """Refuse when the object was replaced (another UID) since diagnosis."""
    uid = (current.get("metadata") or {}).get("uid", "")
    if seen.get("uid") and uid != seen["uid"]:
        raise PreconditionFailed(
            "target-replaced",
            f"{target.kind.lower()} {target.ref()} is not the object diagnosed: its UID changed from "
            f"{seen['uid']} to {uid} (it was deleted and recreated)",
        )


def same_generation(target: Target, current: Obj, seen: dict[str, Any]) -> None:
    """Refuse when the spec changed (``metadata.generation`` moved) since diagnosis."""
    generation = (current.get("metadata") or {}).get("generation")
    if seen.get("generation") is not None and generation != seen["generation"]:
        raise PreconditionFailed(
            "generation-moved",
            f"{target.kind.lower()} {target.ref()} changed since diagnosis: generation {seen['generation']} "
            f"is now {generation} (someone else modified its spec)",
        )


def controller_of(obj: Obj) -> dict[str, Any] | None:
    """The ownerReference with ``controller: true``, if any."""
    for owner in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if owner.get("controller"):
            return dict(owner)
    return None


class ActionIncomplete(Exception):
    """The action started changing the cluster and could not finish; ``applied`` says what was done."""

    def __init__(self, message: str, applied: Applied) -> None:
        self.applied = applied
        super().__init__(message)

"""Runs one approved remediation: re-check, server-side dry run, then the real change.

:func:`observe` records the target's identity when a remediation is offered (at diagnosis,
through the read-only ``Cluster``); :func:`execute` is called by the job on the worker of the
cluster concerned once the approval is decided, and returns an :class:`Execution` that says
what happened in every case — refused by a precondition, refused at dry run, executed, or
failed (with what was already done).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from clusterdoc import kinds
from clusterdoc.report import Remediation, Target
from clusterdoc.workers.cluster.base import Cluster, ClusterError
from clusterdoc.workers.etcd_client import EtcdClient
from clusterdoc.workers.remediation import catalogue
from clusterdoc.workers.remediation.base import ActionContext, ActionIncomplete
from clusterdoc.workers.remediation.errors import PreconditionFailed

log = logging.getLogger(__name__)

Status = Literal["executed", "refused", "dry_run_refused", "failed"]


@dataclass
class Execution:
    """The outcome of one approved remediation, for the thread, the message edit and the audit."""

    status: Status
    action: str
    target: Target
    outcome: str
    dry_run: str = ""
    rule: str = ""
    changes: list[str] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "executed"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = self.target.to_json()
        return data


def observe(cluster: Cluster, remediation: Remediation, etcd: EtcdClient | None = None) -> dict[str, Any]:
    """The identity of the remediation's target as seen now (empty when it cannot be read).

    An etcd member is read through ``etcd`` (its own status at the offer's ``endpoint``): the
    member ID behind the endpoint and whether it leads, so the action can refuse a member that
    was replaced or became the leader before the approval.
    """
    if remediation.action not in catalogue.ACTIONS:
        return {}
    action = catalogue.get(remediation.action)
    target = remediation.target
    if target.kind == "EtcdMember":
        endpoint = str(remediation.params.get("endpoint") or "")
        if etcd is None or not endpoint:
            log.warning("cannot observe etcd member %s for %s: %s", target.name, action.name,
                        "no etcd access" if etcd is None else "the offer names no endpoint")
            return {}
        try:
            return action.observe(etcd.status(endpoint))
        except ClusterError as exc:
            log.warning("cannot observe etcd member %s for %s: %s", target.name, action.name, exc)
            return {}
    try:
        return action.observe(cluster.get(target.kind, target.name, target.namespace))
    except ClusterError as exc:
        log.warning("cannot observe %s %s for %s: %s", target.kind, target.ref(), action.name, exc)
        return {}


def execute(
    action_name: str, target: Target, params: dict[str, Any], seen: dict[str, Any], ctx: ActionContext
) -> Execution:
    """Re-check preconditions, dry-run, then run; never raises for cluster problems."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    try:
        action = catalogue.get(action_name)
        parsed = action.parse_params(params)
    except (KeyError, ValidationError) as exc:
        return Execution("refused", action_name, target, f"cannot run {action_name}: {exc}", rule="invalid-action")

    def lap(name: str, since: float) -> float:
        now = time.monotonic()
        timings[name] = round(now - since, 4)
        return now

    try:
        current = action.precheck(ctx, target, parsed, seen)
    except PreconditionFailed as exc:
        lap("precheck", started)
        return Execution("refused", action.name, target, f"refused: {exc}", rule=exc.rule, timings=timings)
    except ClusterError as exc:
        lap("precheck", started)
        return Execution("failed", action.name, target, f"could not re-read the target: {exc}", timings=timings)
    mark = lap("precheck", started)

    try:
        dry = action.apply(ctx, target, parsed, current, dry_run=True)
    except PreconditionFailed as exc:
        lap("dry_run", mark)
        return Execution("refused", action.name, target, f"refused: {exc}", rule=exc.rule, timings=timings)
    except ClusterError as exc:
        lap("dry_run", mark)
        return Execution(
            "dry_run_refused", action.name, target, f"the dry run was refused, nothing was changed: {exc}",
            dry_run=f"refused: {exc}", rule="dry-run", timings=timings,
        )
    mark = lap("dry_run", mark)
    ctx.progress(f"Dry run passed: {dry.summary}. Executing.")

    try:
        done = action.apply(ctx, target, parsed, current, dry_run=False)
    except ActionIncomplete as exc:
        lap("execute", mark)
        return Execution(
            "failed", action.name, target, str(exc), dry_run=dry.summary, changes=exc.applied.changes,
            state=exc.applied.state, timings=timings,
        )
    except (ClusterError, PreconditionFailed) as exc:
        lap("execute", mark)
        return Execution(
            "failed", action.name, target, f"failed after a successful dry run, nothing was changed: {exc}",
            dry_run=dry.summary, timings=timings,
        )
    lap("execute", mark)
    return Execution(
        "executed", action.name, target, done.summary, dry_run=dry.summary, changes=done.changes,
        state=done.state, timings=timings,
    )


def required_access(
    action_name: str, target: Target, params: dict[str, Any] | None = None
) -> list[tuple[str, str, str, str | None, str | None]]:
    """(verb, resource, API group, subresource, namespace) of everything the action reads and writes,
    for SelfSubjectAccessReviews; nothing for an unknown action or parameters it would refuse anyway."""
    try:
        action = catalogue.get(action_name)
        access = action.access(target, action.parse_params(params or {}))
    except (KeyError, ValidationError):
        return []
    asked = []
    for needed in access:
        kind = kinds.by_kind(needed.kind)
        group = kind.group_version.rpartition("/")[0]
        namespace = target.namespace if kind.namespaced and not needed.all_namespaces else None
        asked.append((needed.verb, kind.plural, group, needed.subresource, namespace))
    return asked

"""``uncordon_node``: make a cordoned node schedulable again.

Refused when the node was replaced since diagnosis or is no longer cordoned (someone already
uncordoned it).
"""

from __future__ import annotations

from pydantic import BaseModel

from clusterdoc.report import Target
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.remediation.actions.cordon_node import is_cordoned, set_unschedulable
from clusterdoc.workers.remediation.base import Action, ActionContext, Applied
from clusterdoc.workers.remediation.errors import PreconditionFailed


class UncordonNode(Action):
    name = "uncordon_node"
    risk = "low"
    kinds = ("Node",)
    changes = "Removes spec.unschedulable from the node; the scheduler may place pods there again."

    def describe(self, target: Target, params: BaseModel) -> str:
        return f"Uncordon node {target.name}: the scheduler may place new pods there again."

    def observe(self, obj: Obj) -> dict[str, object]:
        return {**super().observe(obj), "unschedulable": is_cordoned(obj)}

    def precheck(self, ctx: ActionContext, target: Target, params: BaseModel, seen: dict[str, object]) -> Obj:
        current = super().precheck(ctx, target, params, seen)
        if not is_cordoned(current):
            raise PreconditionFailed("node-already-uncordoned", f"node {target.name} is already uncordoned")
        return current

    def apply(self, ctx: ActionContext, target: Target, params: BaseModel, current: Obj, *, dry_run: bool) -> Applied:
        set_unschedulable(ctx, target.name, False, dry_run=dry_run)
        verb = "would be uncordoned" if dry_run else "uncordoned"
        return Applied(f"node {target.name} {verb}", [f"node {target.name}: spec.unschedulable removed"])


ACTION = UncordonNode()

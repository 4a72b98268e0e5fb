"""``cordon_node`` and the shared node checks: mark a node unschedulable.

Existing pods keep running; new pods are no longer scheduled there. Refused when the node was
replaced since diagnosis or is already cordoned.
"""

from __future__ import annotations

from pydantic import BaseModel

from clusterdoc.report import Target
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.remediation.base import Action, ActionContext, Applied
from clusterdoc.workers.remediation.errors import PreconditionFailed


def is_cordoned(node: Obj) -> bool:
    return bool((node.get("spec") or {}).get("unschedulable"))


def set_unschedulable(ctx: ActionContext, node: str, value: bool, *, dry_run: bool) -> None:
    ctx.kube().patch("Node", node, None, {"spec": {"unschedulable": True if value else None}}, dry_run=dry_run)


class CordonNode(Action):
    name = "cordon_node"
    risk = "low"
    kinds = ("Node",)
    changes = "Sets spec.unschedulable=true on the node; running pods stay."

    def describe(self, target: Target, params: BaseModel) -> str:
        return f"Cordon node {target.name}: no new pods are scheduled there; running pods stay."

    def observe(self, obj: Obj) -> dict[str, object]:
        return {**super().observe(obj), "unschedulable": is_cordoned(obj)}

    def precheck(self, ctx: ActionContext, target: Target, params: BaseModel, seen: dict[str, object]) -> Obj:
        current = super().precheck(ctx, target, params, seen)
        if is_cordoned(current):
            raise PreconditionFailed("node-already-cordoned", f"node {target.name} is already cordoned")
        return current

    def apply(self, ctx: ActionContext, target: Target, params: BaseModel, current: Obj, *, dry_run: bool) -> Applied:
        set_unschedulable(ctx, target.name, True, dry_run=dry_run)
        verb = "would be cordoned" if dry_run else "cordoned"
        return Applied(f"node {target.name} {verb}", [f"node {target.name}: spec.unschedulable=true"])


ACTION = CordonNode()

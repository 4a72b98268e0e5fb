"""``delete_pod``: delete a pod so its controller recreates it.

Refused for a pod without a controller (nothing would recreate it) unless the approval policy
waives the ``pod-without-controller`` rule. The DELETE carries ``preconditions.uid`` so a pod
recreated under the same name since diagnosis is never the one deleted.
"""

from __future__ import annotations

from pydantic import BaseModel

from clusterdoc.report import Target
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.remediation.base import Action, ActionContext, Applied, controller_of
from clusterdoc.workers.remediation.errors import PreconditionFailed


class DeletePod(Action):
    name = "delete_pod"
    risk = "medium"
    kinds = ("Pod",)
    changes = "Deletes the pod; its controller creates a replacement."

    def describe(self, target: Target, params: BaseModel) -> str:
        return f"Delete pod {target.ref()} so that its controller recreates it."

    def precheck(self, ctx: ActionContext, target: Target, params: BaseModel, seen: dict[str, object]) -> Obj:
        current = super().precheck(ctx, target, params, seen)
        if controller_of(current) is None and "pod-without-controller" not in ctx.waived:
            raise PreconditionFailed(
                "pod-without-controller",
                f"pod {target.ref()} has no controller: nothing would recreate it after deletion",
            )
        return current

    def apply(self, ctx: ActionContext, target: Target, params: BaseModel, current: Obj, *, dry_run: bool) -> Applied:
        uid = current["metadata"].get("uid")
        ctx.kube().delete("Pod", target.name, target.namespace, uid=uid, dry_run=dry_run)
        owner = controller_of(current)
        by = f"; {owner['kind']} {owner['name']} will recreate it" if owner else ""
        verb = "would be deleted" if dry_run else "deleted"
        return Applied(f"pod {target.ref()} {verb}{by}", [f"deleted pod {target.ref()} (uid {uid})"])


ACTION = DeletePod()

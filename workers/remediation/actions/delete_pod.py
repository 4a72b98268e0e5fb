"""``delete_pod``: delete a pod so its controller recreates it — or, for a pod stuck Terminating on a
lost node, force-delete it.

Refused for a pod without a controller (nothing would recreate it) unless the approval policy
waives the ``pod-without-controller`` rule. The DELETE carries ``preconditions.uid`` so a pod
recreated under the same name since diagnosis is never the one deleted.

A pod that already has a ``deletionTimestamp`` is not affected by another normal DELETE: its
kubelet must confirm the containers stopped, and the kubelet of a NotReady node never does. For
that case the offer sets ``force``: the DELETE carries ``gracePeriodSeconds: 0`` (what ``kubectl
delete --force --grace-period=0`` sends) and the API server forgets the pod without the kubelet's
confirmation. That is high risk — if the node comes back with the containers still running, the
pod runs twice (for a StatefulSet: two pods with one identity and one volume) — so the precheck
refuses a force delete unless the pod is still terminating and its node is still not Ready.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clusterdoc.report import Target
from clusterdoc.workers.cluster.base import NotFound, Obj
from clusterdoc.workers.remediation.base import Access, Action, ActionContext, Applied, Risk, controller_of
from clusterdoc.workers.remediation.errors import PreconditionFailed


class DeletePodParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    force: bool = Field(False, description="force-delete (gracePeriodSeconds 0) a pod stuck Terminating on a "
                                           "lost node, without its kubelet's confirmation")


def _ready(node: Obj) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class DeletePod(Action):
    name = "delete_pod"
    risk = "medium"
    kinds = ("Pod",)
    changes = "Deletes the pod; its controller creates a replacement."
    Params = DeletePodParams

    def access(self, target: Target, params: BaseModel) -> list[Access]:
        assert isinstance(params, DeletePodParams)
        force = [Access("get", "Node")] if params.force else []  # the precheck reads the pod's node
        return [Access("get", "Pod"), *force, Access("delete", "Pod")]

    def risk_for(self, params: BaseModel) -> Risk:
        assert isinstance(params, DeletePodParams)
        return "high" if params.force else self.risk

    def changes_for(self, params: BaseModel) -> str:
        assert isinstance(params, DeletePodParams)
        if params.force:
            return ("Removes the pod from the API server at once (grace period 0), without its kubelet confirming "
                    "the containers stopped; its controller creates a replacement.")
        return self.changes

    def describe(self, target: Target, params: BaseModel) -> str:
        assert isinstance(params, DeletePodParams)
        if params.force:
            return (
                f"Force-delete pod {target.ref()} (grace period 0, like kubectl delete --force --grace-period=0): "
                "its node's kubelet cannot confirm the containers stopped; if the node comes back they may still "
                "run, so the pod can run twice (for a StatefulSet, two pods with one identity)."
            )
        return f"Delete pod {target.ref()} so that its controller recreates it."

    def precheck(self, ctx: ActionContext, target: Target, params: BaseModel, seen: dict[str, Any]) -> Obj:
        assert isinstance(params, DeletePodParams)
        current = super().precheck(ctx, target, params, seen)
        if controller_of(current) is None and "pod-without-controller" not in ctx.waived:
            raise PreconditionFailed(
                "pod-without-controller",
                f"pod {target.ref()} has no controller: nothing would recreate it after deletion",
            )
        metadata, spec = current.get("metadata") or {}, current.get("spec") or {}
        deleting = metadata.get("deletionTimestamp")
        if not params.force:
            if deleting:
                raise PreconditionFailed(
                    "already-terminating",
                    f"pod {target.ref()} is already being deleted (since {deleting}); another normal delete does "
                    "nothing, only a force delete (offered when its node is lost) would",
                )
            return current
        if not deleting:
            raise PreconditionFailed(
                "not-terminating",
                f"pod {target.ref()} is not stuck terminating any more (no deletionTimestamp), so a force delete "
                "is not warranted",
            )
        node_name = str(spec.get("nodeName") or "")
        if node_name:
            try:
                node = ctx.kube().get("Node", node_name, None)
            except NotFound:
                node = {}  # the node object is gone: nothing will ever confirm
            if node and _ready(node):
                raise PreconditionFailed(
                    "node-back",
                    f"node {node_name} is Ready again: its kubelet will finish deleting pod {target.ref()} itself, "
                    "so a force delete is not needed",
                )
        return current

    def apply(self, ctx: ActionContext, target: Target, params: BaseModel, current: Obj, *, dry_run: bool) -> Applied:
        assert isinstance(params, DeletePodParams)
        uid = current["metadata"].get("uid")
        owner = controller_of(current)
        if params.force:
            node = (current.get("spec") or {}).get("nodeName") or "its node"
            ctx.kube().delete("Pod", target.name, target.namespace, uid=uid, dry_run=dry_run, grace_period_seconds=0)
            by = f"; {owner['kind']} {owner['name']} can now replace it" if owner else ""
            verb = "would be force-deleted" if dry_run else "force-deleted"
            return Applied(
                f"pod {target.ref()} {verb} (grace period 0, without {node}'s confirmation){by}",
                [f"force-deleted pod {target.ref()} (uid {uid}, grace period 0) stuck on {node}"],
            )
        ctx.kube().delete("Pod", target.name, target.namespace, uid=uid, dry_run=dry_run)
        by = f"; {owner['kind']} {owner['name']} will recreate it" if owner else ""
        verb = "would be deleted" if dry_run else "deleted"
        return Applied(f"pod {target.ref()} {verb}{by}", [f"deleted pod {target.ref()} (uid {uid})"])


ACTION = DeletePod()

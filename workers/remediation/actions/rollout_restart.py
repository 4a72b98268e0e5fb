"""``rollout_restart``: restart a workload's pods as ``kubectl rollout restart`` does.

Sets the ``kubectl.kubernetes.io/restartedAt`` annotation on the pod template (strategic merge
patch), so the controller rolls the pods according to the workload's update strategy.
Refused when the workload's spec changed since diagnosis (generation moved).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from clusterdoc.report import Target
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.remediation.base import Action, ActionContext, Applied, same_generation

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


class RolloutRestart(Action):
    name = "rollout_restart"
    risk = "medium"
    kinds = ("Deployment", "StatefulSet", "DaemonSet")
    changes = f"Sets the {RESTARTED_AT} annotation on the pod template; the controller replaces every pod."

    def describe(self, target: Target, params: BaseModel) -> str:
        return (
            f"Restart every pod of {target.kind.lower()} {target.ref()} (rolling, following its update strategy)."
        )

    def precheck(self, ctx: ActionContext, target: Target, params: BaseModel, seen: dict[str, object]) -> Obj:
        current = super().precheck(ctx, target, params, seen)
        same_generation(target, current, seen)
        return current

    def apply(self, ctx: ActionContext, target: Target, params: BaseModel, current: Obj, *, dry_run: bool) -> Applied:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        result = ctx.kube().patch(target.kind, target.name, target.namespace, patch, strategic=True, dry_run=dry_run)
        generation = (result.get("metadata") or {}).get("generation")
        verb = "would restart" if dry_run else "restarting"
        return Applied(
            f"{target.kind.lower()} {target.ref()} {verb} its pods ({RESTARTED_AT}={stamp})",
            [f"set {RESTARTED_AT}={stamp} on {target.kind.lower()} {target.ref()}"],
            {"generation": generation},
        )


ACTION = RolloutRestart()

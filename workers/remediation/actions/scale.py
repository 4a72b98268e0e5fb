"""``scale``: set the replica count of a Deployment or StatefulSet (current count shown).

Refused when the workload's spec changed since diagnosis, which includes someone else scaling
it (``spec.replicas`` is part of the spec, so the generation moves).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from clusterdoc.report import Target
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.remediation.base import Action, ActionContext, Applied, same_generation


class ScaleParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    replicas: int = Field(ge=0, le=1000, description="the desired replica count")
    current: int | None = Field(default=None, description="the count seen at diagnosis, for the description")


class Scale(Action):
    name = "scale"
    risk = "medium"
    kinds = ("Deployment", "StatefulSet")
    changes = "Sets spec.replicas; the controller adds or removes pods."
    Params = ScaleParams

    def describe(self, target: Target, params: BaseModel) -> str:
        assert isinstance(params, ScaleParams)
        now = f" (now {params.current})" if params.current is not None else ""
        return f"Scale {target.kind.lower()} {target.ref()} to {params.replicas} replicas{now}."

    def observe(self, obj: Obj) -> dict[str, object]:
        seen = super().observe(obj)
        seen["replicas"] = (obj.get("spec") or {}).get("replicas", 1)
        return seen

    def precheck(self, ctx: ActionContext, target: Target, params: BaseModel, seen: dict[str, object]) -> Obj:
        current = super().precheck(ctx, target, params, seen)
        same_generation(target, current, seen)
        return current

    def apply(self, ctx: ActionContext, target: Target, params: BaseModel, current: Obj, *, dry_run: bool) -> Applied:
        assert isinstance(params, ScaleParams)
        before = (current.get("spec") or {}).get("replicas", 1)
        patch = {"spec": {"replicas": params.replicas}}
        ctx.kube().patch(target.kind, target.name, target.namespace, patch, dry_run=dry_run)
        verb = "would scale" if dry_run else "scaled"
        return Applied(
            f"{target.kind.lower()} {target.ref()} {verb} from {before} to {params.replicas} replicas",
            [f"spec.replicas {before} -> {params.replicas} on {target.kind.lower()} {target.ref()}"],
            {"before": before},
        )


ACTION = Scale()

"""``rollback_deployment``: put back the pod template of the Deployment's previous revision.

Like ``kubectl rollout undo``: the ReplicaSets the Deployment controls carry
``deployment.kubernetes.io/revision``; the previous revision is the highest one below the
current. Its template (minus the ``pod-template-hash`` label) becomes the Deployment's template,
sent as a JSON merge patch computed against the current template, so removed fields are
removed. Refused when the Deployment's spec changed since diagnosis or no earlier revision exists.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from clusterdoc.report import Target
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.remediation.base import Access, Action, ActionContext, Applied, controller_of, same_generation
from clusterdoc.workers.remediation.errors import PreconditionFailed

REVISION = "deployment.kubernetes.io/revision"
TEMPLATE_HASH = "pod-template-hash"


def merge_patch(current: Any, desired: Any) -> Any:
    """The RFC 7386 merge patch turning ``current`` into ``desired`` (None deletes a key)."""
    if not isinstance(current, dict) or not isinstance(desired, dict):
        return copy.deepcopy(desired)
    patch: dict[str, Any] = {}
    for key in current:
        if key not in desired:
            patch[key] = None
    for key, value in desired.items():
        if key not in current:
            patch[key] = copy.deepcopy(value)
        elif current[key] != value:
            patch[key] = merge_patch(current[key], value)
    return patch


def _revision(obj: Obj) -> int:
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _images(template: Obj) -> str:
    return ", ".join(c.get("image", "?") for c in (template.get("spec") or {}).get("containers") or [])


class RollbackDeployment(Action):
    name = "rollback_deployment"
    risk = "high"
    kinds = ("Deployment",)
    changes = "Replaces the Deployment's pod template with the previous revision's; pods are rolled."

    def access(self, target: Target, params: BaseModel) -> list[Access]:
        return [Access("get", "Deployment"), Access("list", "ReplicaSet"), Access("patch", "Deployment")]

    def describe(self, target: Target, params: BaseModel) -> str:
        return f"Roll back deployment {target.ref()} to its previous revision's pod template."

    def previous(self, ctx: ActionContext, deployment: Obj) -> Obj:
        uid = deployment["metadata"].get("uid")
        namespace = deployment["metadata"].get("namespace")
        owned = [
            rs for rs in ctx.kube().list("ReplicaSet", namespace)
            if (controller_of(rs) or {}).get("uid") == uid
        ]
        current = _revision(deployment)
        older = [rs for rs in owned if 0 < _revision(rs) < current] if current else []
        if not older:
            raise PreconditionFailed(
                "no-previous-revision",
                f"deployment {namespace}/{deployment['metadata']['name']} has no earlier revision to roll back to",
            )
        return max(older, key=_revision)

    def precheck(self, ctx: ActionContext, target: Target, params: BaseModel, seen: dict[str, Any]) -> Obj:
        current = super().precheck(ctx, target, params, seen)
        same_generation(target, current, seen)
        self.previous(ctx, current)
        return current

    def apply(self, ctx: ActionContext, target: Target, params: BaseModel, current: Obj, *, dry_run: bool) -> Applied:
        previous = self.previous(ctx, current)
        template = copy.deepcopy((previous.get("spec") or {}).get("template") or {})
        labels = (template.get("metadata") or {}).get("labels") or {}
        labels.pop(TEMPLATE_HASH, None)
        now = (current.get("spec") or {}).get("template") or {}
        patch = {"spec": {"template": merge_patch(now, template)}}
        ctx.kube().patch("Deployment", target.name, target.namespace, patch, dry_run=dry_run)
        revision = _revision(previous)
        verb = "would roll back" if dry_run else "rolled back"
        return Applied(
            f"deployment {target.ref()} {verb} to revision {revision} ({_images(now)} -> {_images(template)})",
            [f"deployment {target.ref()}: pod template of revision {revision} ({previous['metadata']['name']})"],
            {"revision": revision},
        )


ACTION = RollbackDeployment()

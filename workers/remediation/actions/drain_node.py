"""``drain_node``: cordon a node, then evict its pods through the Eviction API.

Like ``kubectl drain``: DaemonSet pods and mirror (static) pods are skipped, every other pod is
evicted with ``POST pods/{name}/eviction`` so the API server enforces PodDisruptionBudgets; an
eviction a budget refuses (429) is retried until the timeout, and the budget is named. Pods
without a controller are refused unless the policy waives ``drain-uncontrolled-pods`` (nothing
would recreate them). The dry run cordons and evicts with ``dryRun=All``: a budget that blocks
already then refuses the drain before anything changes. If the API fails halfway, the action
raises :class:`ActionIncomplete` saying exactly what was done (the node stays cordoned).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clusterdoc.report import Target
from clusterdoc.workers.cluster.base import ClusterError, NotFound, Obj
from clusterdoc.workers.remediation.actions.cordon_node import is_cordoned, set_unschedulable
from clusterdoc.workers.remediation.base import Access, Action, ActionContext, ActionIncomplete, Applied, controller_of
from clusterdoc.workers.remediation.errors import Conflict, DisruptionBlocked, PreconditionFailed
from clusterdoc.workers.remediation.pdb import budgets_for, describe_budget

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


class DrainParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout_seconds: int = Field(default=300, ge=1, le=3600, description="give up evicting after this long")


def classify(pods: list[Obj]) -> tuple[list[Obj], list[str], list[str], list[str]]:
    """(pods to evict, DaemonSet pods, mirror pods, pods without a controller) — the last three as names."""
    evict: list[Obj] = []
    daemons: list[str] = []
    mirrors: list[str] = []
    uncontrolled: list[str] = []
    for pod in pods:
        metadata = pod.get("metadata") or {}
        ref = f"{metadata.get('namespace')}/{metadata.get('name')}"
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        if MIRROR_ANNOTATION in (metadata.get("annotations") or {}):
            mirrors.append(ref)
            continue
        owner = controller_of(pod)
        if owner and owner.get("kind") == "DaemonSet":
            daemons.append(ref)
            continue
        if owner is None:
            uncontrolled.append(ref)
        evict.append(pod)
    return evict, daemons, mirrors, uncontrolled


def _ref(pod: Obj) -> str:
    return f"{pod['metadata'].get('namespace')}/{pod['metadata']['name']}"


class DrainNode(Action):
    name = "drain_node"
    risk = "high"
    kinds = ("Node",)
    changes = "Cordons the node and evicts its pods (PodDisruptionBudgets respected); DaemonSet and mirror pods stay."
    Params = DrainParams

    def describe(self, target: Target, params: BaseModel) -> str:
        assert isinstance(params, DrainParams)
        return (
            f"Drain node {target.name}: cordon it, then evict its pods through the Eviction API "
            f"(PodDisruptionBudgets respected, DaemonSet and mirror pods skipped, give up after "
            f"{params.timeout_seconds}s)."
        )

    def access(self, target: Target, params: BaseModel) -> list[Access]:
        return [Access("get", "Node"), Access("patch", "Node"), Access("list", "Pod", all_namespaces=True),
                Access("create", "Pod", "eviction", all_namespaces=True)]

    def observe(self, obj: Obj) -> dict[str, Any]:
        return {**super().observe(obj), "unschedulable": is_cordoned(obj)}

    def _pods(self, ctx: ActionContext, node: str) -> list[Obj]:
        return ctx.kube().list("Pod", None, field_selector=f"spec.nodeName={node}")

    def precheck(self, ctx: ActionContext, target: Target, params: BaseModel, seen: dict[str, Any]) -> Obj:
        current = super().precheck(ctx, target, params, seen)
        _, _, _, uncontrolled = classify(self._pods(ctx, target.name))
        if uncontrolled and "drain-uncontrolled-pods" not in ctx.waived:
            raise PreconditionFailed(
                "drain-uncontrolled-pods",
                f"node {target.name} runs pods without a controller, which nothing would recreate: "
                f"{', '.join(uncontrolled[:10])}",
            )
        return current

    def _blocked_by(self, ctx: ActionContext, pod: Obj, blocked: DisruptionBlocked) -> str:
        """The blocking budget, named from the 429 answer or found by selector."""
        try:
            budgets = budgets_for(pod, ctx.kube().list("PodDisruptionBudget", pod["metadata"].get("namespace")))
        except ClusterError:
            budgets = []
        if blocked.budget:
            for budget in budgets:
                if budget["metadata"].get("name") == blocked.budget:
                    return describe_budget(budget)
            return f"{blocked.namespace}/{blocked.budget}"
        return ", ".join(describe_budget(budget) for budget in budgets) or "an unnamed PodDisruptionBudget"

    def apply(self, ctx: ActionContext, target: Target, params: BaseModel, current: Obj, *, dry_run: bool) -> Applied:
        assert isinstance(params, DrainParams)
        node = target.name
        pods, daemons, mirrors, _ = classify(self._pods(ctx, node))
        skipped = [f"skipped {len(daemons)} DaemonSet pod(s)", f"skipped {len(mirrors)} mirror pod(s)"]
        if dry_run:
            return self._dry_run(ctx, node, current, pods, skipped)
        state: dict[str, Any] = {
            "cordoned": False, "evicted": [], "blocked": {}, "failed": {}, "pending": [_ref(p) for p in pods],
            "skipped_daemonset": daemons, "skipped_mirror": mirrors,
        }
        applied = Applied("", [], state)
        if not is_cordoned(current):
            set_unschedulable(ctx, node, True, dry_run=False)
            applied.changes.append(f"node {node}: spec.unschedulable=true")
        state["cordoned"] = True
        ctx.progress(f"Cordoned node {node}; evicting {len(pods)} pod(s) ({'; '.join(skipped)}).")
        deadline = ctx.clock() + params.timeout_seconds
        pending = list(pods)
        while pending:
            for pod in list(pending):
                ref = _ref(pod)
                try:
                    ctx.kube().evict(pod["metadata"]["name"], pod["metadata"]["namespace"],
                                     uid=pod["metadata"].get("uid"))
                except DisruptionBlocked as blocked:
                    state["blocked"][ref] = self._blocked_by(ctx, pod, blocked)
                    continue
                except (NotFound, Conflict):
                    pass  # already gone, or replaced by a new pod: nothing to evict
                except ClusterError as exc:
                    state["failed"][ref] = str(exc)
                    pending.remove(pod)
                    state["pending"] = [_ref(p) for p in pending]
                    applied.summary = _incomplete_summary(node, state)
                    raise ActionIncomplete(applied.summary, applied) from exc
                pending.remove(pod)
                state["blocked"].pop(ref, None)
                state["evicted"].append(ref)
                state["pending"] = [_ref(p) for p in pending]
                applied.changes.append(f"evicted pod {ref}")
                ctx.progress(f"Evicted {ref} ({len(state['evicted'])}/{len(pods)}).")
            if pending:
                if ctx.clock() >= deadline:
                    applied.summary = _incomplete_summary(node, state, timed_out=params.timeout_seconds)
                    raise ActionIncomplete(applied.summary, applied)
                ctx.sleep(ctx.poll_interval)
        applied.summary = (
            f"node {node} drained: cordoned, {len(state['evicted'])} pod(s) evicted; {', '.join(skipped)}"
        )
        return applied

    def _dry_run(self, ctx: ActionContext, node: str, current: Obj, pods: list[Obj], skipped: list[str]) -> Applied:
        if not is_cordoned(current):
            set_unschedulable(ctx, node, True, dry_run=True)
        for pod in pods:
            try:
                ctx.kube().evict(pod["metadata"]["name"], pod["metadata"]["namespace"],
                                 uid=pod["metadata"].get("uid"), dry_run=True)
            except DisruptionBlocked as blocked:
                raise DisruptionBlocked(
                    blocked.pod, blocked.namespace, str(blocked).split(": ", 1)[-1],
                    self._blocked_by(ctx, pod, blocked),
                ) from blocked
        names = ", ".join(_ref(p) for p in pods[:10]) + (" ..." if len(pods) > 10 else "")
        listed = f": {names}" if pods else ""
        return Applied(f"would cordon node {node} and evict {len(pods)} pod(s){listed}; {', '.join(skipped)}")


def _incomplete_summary(node: str, state: dict[str, Any], timed_out: int | None = None) -> str:
    parts = [f"drain of node {node} did not finish"]
    if timed_out is not None:
        parts[0] += f" within {timed_out}s"
    parts.append(f"node {node} left cordoned" if state["cordoned"] else f"node {node} not cordoned")
    parts.append(f"evicted {len(state['evicted'])}: {', '.join(state['evicted']) or 'none'}")
    for ref, reason in state["failed"].items():
        parts.append(f"failed on {ref}: {reason}")
    for ref, budget in state["blocked"].items():
        parts.append(f"{ref} blocked by PodDisruptionBudget {budget}")
    remaining = [ref for ref in state["pending"] if ref not in state["blocked"]]
    if remaining:
        parts.append(f"not attempted: {', '.join(remaining)}")
    parts.append("uncordon the node or retry the drain once the cause is fixed")
    return "; ".join(parts)


ACTION = DrainNode()

"""Describing any other kind: metadata and conditions only, never spec or data (a Secret stays secret)."""

from __future__ import annotations

from clusterdoc.humanize import one_line
from clusterdoc.report import Facts, Severity
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.runbook.registry import StepContext
from clusterdoc.workers.steps.common import age, short_ref
from clusterdoc.workers.steps.describe.parts import Described, chain_facts, condition_bad, conditions_table


def describe_other(ctx: StepContext, obj: Obj) -> Described:
    """Metadata and conditions only: spec and data are never shown (a Secret stays secret)."""
    meta = obj.get("metadata") or {}
    out = Described(f"{obj.get('kind', '?')} {short_ref(obj.get('kind', '?'), meta.get('name', '?'))}")
    facts = [("Kind", obj.get("kind", "?")), ("Age", age(meta.get("creationTimestamp"), ctx.now))]
    if meta.get("namespace"):
        facts.append(("Namespace", meta["namespace"]))
    facts.extend(chain_facts(ctx, obj))
    out.blocks.append(Facts(tuple(facts)))
    conditions = (obj.get("status") or {}).get("conditions") or []
    if isinstance(conditions, list) and conditions:
        out.blocks.append(conditions_table(conditions, ctx.now))
        for condition in conditions:
            if condition_bad(condition):
                out.flag(Severity.WARNING, f"Condition {condition.get('type')}={condition.get('status')}: "
                                           f"{one_line(condition.get('message') or '', 200)}")
    out.detail.append(f"clusterdoc describes {obj.get('kind')} objects by metadata and conditions only.")
    return out


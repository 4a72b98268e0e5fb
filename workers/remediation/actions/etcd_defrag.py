"""``etcd_defrag``: defragment ONE etcd member, to give back space freed by compaction.

Never all members at once: the action names one endpoint of ``ETCD_ENDPOINTS``, and is refused
when another member does not answer (defragmenting now would leave the cluster with fewer
healthy members than it needs). The member blocks reads and writes while it runs. etcd has no
dry run: the "dry run" is a status read of every member, reporting the sizes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clusterdoc.report import Target
from clusterdoc.workers.cluster.base import ClusterError, Obj
from clusterdoc.workers.remediation.base import Action, ActionContext, Applied
from clusterdoc.workers.remediation.errors import PreconditionFailed
from clusterdoc.workers.remediation.etcd import EtcdMaintenance


class DefragParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(description="the client URL of the member, one of ETCD_ENDPOINTS")


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


class EtcdDefrag(Action):
    name = "etcd_defrag"
    risk = "high"
    kinds = ("EtcdMember",)
    changes = "Rewrites one etcd member's database file to release free pages; that member blocks while it runs."
    Params = DefragParams

    def describe(self, target: Target, params: BaseModel) -> str:
        assert isinstance(params, DefragParams)
        return (
            f"Defragment etcd member {target.name} ({params.endpoint}) — this member alone; it blocks reads "
            f"and writes while it runs (seconds to minutes for a large database)."
        )

    def observe(self, obj: Obj) -> dict[str, Any]:
        return {"member_id": obj.get("member_id", ""), "db_size": obj.get("db_size", 0)}

    def _etcd(self, ctx: ActionContext) -> EtcdMaintenance:
        if not isinstance(ctx.etcd, EtcdMaintenance):
            raise PreconditionFailed("no-etcd-access", "this worker has no ETCD_ENDPOINTS configured")
        return ctx.etcd

    def precheck(self, ctx: ActionContext, target: Target, params: BaseModel, seen: dict[str, Any]) -> Obj:
        assert isinstance(params, DefragParams)
        etcd = self._etcd(ctx)
        if params.endpoint.rstrip("/") not in etcd.endpoints:
            raise PreconditionFailed("unknown-etcd-member", f"{params.endpoint} is not one of ETCD_ENDPOINTS")
        try:
            status = etcd.status(params.endpoint)
        except ClusterError as exc:
            raise PreconditionFailed("etcd-member-unreachable", str(exc)) from exc
        if seen.get("member_id") and status["member_id"] != seen["member_id"]:
            raise PreconditionFailed(
                "target-replaced",
                f"{params.endpoint} is now member {status['member_id']}, not {seen['member_id']} as diagnosed",
            )
        unhealthy = []
        for other in etcd.endpoints:
            if other == params.endpoint.rstrip("/"):
                continue
            try:
                etcd.status(other)
            except ClusterError as exc:
                unhealthy.append(f"{other} ({exc})")
        if unhealthy:
            raise PreconditionFailed(
                "etcd-peers-unhealthy",
                "other etcd members do not answer, so blocking this one could cost quorum: " + "; ".join(unhealthy),
            )
        return status

    def apply(self, ctx: ActionContext, target: Target, params: BaseModel, current: Obj, *, dry_run: bool) -> Applied:
        assert isinstance(params, DefragParams)
        size, in_use = current["db_size"], current["db_size_in_use"]
        if dry_run:
            return Applied(
                f"member {target.name} is reachable: database {_mib(size)}, {_mib(in_use)} in use; "
                f"defragmenting would release up to {_mib(max(size - in_use, 0))}"
            )
        etcd = self._etcd(ctx)
        ctx.progress(f"Defragmenting etcd member {target.name} ({params.endpoint}); it blocks until done.")
        etcd.defragment(params.endpoint)
        after = etcd.status(params.endpoint)
        return Applied(
            f"etcd member {target.name} defragmented: database {_mib(size)} -> {_mib(after['db_size'])}",
            [f"defragmented etcd member {target.name} ({params.endpoint})"],
            {"db_size_before": size, "db_size_after": after["db_size"]},
        )


ACTION = EtcdDefrag()

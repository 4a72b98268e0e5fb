"""``etcd_defrag``: defragment ONE etcd member, to give back space freed by compaction.

Never all members at once: the action names one endpoint of ``ETCD_ENDPOINTS``. At diagnosis the
offer records the member behind that endpoint (its member ID, and whether it led) as the offer's
"seen" state; just before running, every configured member is read again and the action refuses
when the member behind the endpoint is another one (replaced), when it has become the leader while
followers are still fragmented (never the leader first), when the cluster has no quorum, or when
another member does not answer (blocking this one could cost quorum). The member blocks reads and
writes while it runs. etcd has no dry run: the "dry run" is that re-read, reporting the sizes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clusterdoc.report import Target
from clusterdoc.workers.cluster.base import Obj
from clusterdoc.workers.etcd_client import MemberStatus
from clusterdoc.workers.remediation.base import Access, Action, ActionContext, Applied
from clusterdoc.workers.remediation.errors import PreconditionFailed
from clusterdoc.workers.remediation.etcd import EtcdMaintenance
from clusterdoc.workers.triage.etcd import EtcdThresholds, view

DEFAULTS = EtcdThresholds()


class DefragParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(description="the client URL of the member, one of ETCD_ENDPOINTS")
    fragmentation: float = Field(DEFAULTS.fragmentation, gt=1.0,
                                 description="dbSize / dbSizeInUse above which a member counts as fragmented "
                                             "(the diagnosis' threshold)")
    min_defrag_bytes: int = Field(DEFAULTS.min_defrag_bytes, ge=0,
                                  description="below this database size a member does not count as fragmented")


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _who(status: MemberStatus) -> str:
    return f"{status.name or status.member_id} ({status.endpoint})"


class EtcdDefrag(Action):
    name = "etcd_defrag"
    risk = "high"
    kinds = ("EtcdMember",)
    changes = "Rewrites one etcd member's database file to release free pages; that member blocks while it runs."
    Params = DefragParams

    def access(self, target: Target, params: BaseModel) -> list[Access]:
        return []  # etcd's own TLS client certificate, not Kubernetes RBAC: nothing to ask the API server

    def describe(self, target: Target, params: BaseModel) -> str:
        assert isinstance(params, DefragParams)
        return (
            f"Defragment etcd member {target.name} ({params.endpoint}) — this member alone; it blocks reads "
            f"and writes while it runs (seconds to minutes for a large database)."
        )

    def observe(self, obj: Obj) -> dict[str, Any]:
        """The member behind the endpoint, from its own status (``EtcdClient.status``)."""
        member_id = str(obj.get("member_id") or "")
        return {
            "endpoint": str(obj.get("endpoint") or ""),
            "member_id": member_id,
            "was_leader": bool(member_id) and member_id == str(obj.get("leader") or ""),
            "db_size": obj.get("db_size", 0),
        }

    def _etcd(self, ctx: ActionContext) -> EtcdMaintenance:
        if not isinstance(ctx.etcd, EtcdMaintenance):
            raise PreconditionFailed("no-etcd-access", "this worker has no ETCD_ENDPOINTS configured")
        return ctx.etcd

    def precheck(self, ctx: ActionContext, target: Target, params: BaseModel, seen: dict[str, Any]) -> Obj:
        assert isinstance(params, DefragParams)
        etcd = self._etcd(ctx)
        endpoint = params.endpoint.rstrip("/")
        if endpoint not in etcd.endpoints:
            raise PreconditionFailed("unknown-etcd-member", f"{params.endpoint} is not one of ETCD_ENDPOINTS")
        if not seen.get("member_id"):
            raise PreconditionFailed(
                "no-identity",
                f"the offer recorded no etcd member ID for {endpoint}, so a replaced member could not be told "
                "apart; run the diagnosis again",
            )
        survey = etcd.survey()
        status = next(s for s in survey.statuses if s.endpoint == endpoint)
        if not status.answered:
            raise PreconditionFailed("etcd-member-unreachable", status.error)
        if status.member_id != seen["member_id"]:
            raise PreconditionFailed(
                "target-replaced",
                f"{endpoint} is now member {status.member_id}, not {seen['member_id']} as diagnosed",
            )
        cluster = view(survey, EtcdThresholds(fragmentation=params.fragmentation,
                                              min_defrag_bytes=params.min_defrag_bytes))
        if not cluster.has_quorum:
            with_leader = cluster.quorum + cluster.can_fail
            raise PreconditionFailed(
                "etcd-no-quorum",
                f"etcd has no quorum: {with_leader} of {cluster.members} members answer with a leader (needs "
                f"{cluster.quorum}); blocking a member now would only make it worse",
            )
        if status.is_leader:
            followers = [s for s, _ in cluster.fragmented if not s.is_leader and s.member_id != status.member_id]
            if followers:
                how = "is still" if seen.get("was_leader") else "has become"
                raise PreconditionFailed(
                    "etcd-leader-first",
                    f"{_who(status)} {how} the leader while followers {', '.join(_who(s) for s in followers)} "
                    "are still fragmented: defragment the followers first, never the leader first",
                )
        silent = [f"{s.endpoint} ({s.error})" for s in survey.statuses if not s.answered]
        if silent:
            raise PreconditionFailed(
                "etcd-peers-unhealthy",
                "other etcd members do not answer, so blocking this one could cost quorum: " + "; ".join(silent),
            )
        return {"endpoint": endpoint, "member_id": status.member_id, "leader": status.leader,
                "db_size": status.db_size, "db_size_in_use": status.db_size_in_use}

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

"""The etcd cluster view from every member's own status: quorum, leader, raft lag, fragmentation.

Input is what each configured endpoint answered (or the error it gave) plus the member list; the
output says how many members answer, how many more may fail before writes stop, who leads, which
members lag behind in the raft log, which carry alarms, and which member to defragment first
(the most fragmented follower — never the leader first).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clusterdoc.workers.etcd_client import MemberStatus, Survey

DEFAULT_QUOTA = 2 * 1024**3
"""etcd's default backend quota (``--quota-backend-bytes``): 2 GiB."""


@dataclass(frozen=True)
class EtcdThresholds:
    fragmentation: float = 1.5
    db_quota_ratio: float = 0.8
    raft_lag: int = 1000
    quota_bytes: int = DEFAULT_QUOTA
    min_defrag_bytes: int = 16 * 1024**2
    """Below this database size a defrag is not worth blocking a member for."""


@dataclass
class EtcdView:
    members: int
    answering: list[MemberStatus]
    silent: list[MemberStatus]
    leaders: set[str]
    quorum: int
    can_fail: int
    """How many more members may fail before writes stop (-1: quorum already lost)."""
    lagging: list[tuple[MemberStatus, int]] = field(default_factory=list)
    fragmented: list[tuple[MemberStatus, float]] = field(default_factory=list)
    near_quota: list[tuple[MemberStatus, float]] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)
    leader_name: str = ""

    @property
    def has_quorum(self) -> bool:
        return self.can_fail >= 0

    def defrag_candidate(self) -> MemberStatus | None:
        """The most fragmented member to defragment first: a follower when one is fragmented."""
        if not self.fragmented or not self.has_quorum:
            return None
        followers = [(m, r) for m, r in self.fragmented if not m.is_leader]
        pool = followers or self.fragmented
        return max(pool, key=lambda pair: pair[1])[0]


def fragmentation(member: MemberStatus) -> float:
    """dbSize / dbSizeInUse (1.0 when unknown)."""
    if member.db_size_in_use <= 0:
        return 1.0
    return member.db_size / member.db_size_in_use


def view(survey: Survey, thresholds: EtcdThresholds | None = None) -> EtcdView:
    limits = thresholds or EtcdThresholds()
    answering = [s for s in survey.statuses if s.answered]
    silent = [s for s in survey.statuses if not s.answered]
    voting = [m for m in survey.members if not m.is_learner]
    members = max(len(voting), len(survey.statuses))
    quorum = members // 2 + 1
    # a member that answers status but reports no leader cannot serve writes
    with_leader = [s for s in answering if s.leader and s.leader != "0"]
    leaders = {s.leader for s in with_leader}
    can_fail = len(with_leader) - quorum
    result = EtcdView(members, answering, silent, leaders, quorum, can_fail)
    top = max((s.raft_index for s in answering), default=0)
    for status in answering:
        lag = top - status.raft_index
        if lag > limits.raft_lag:
            result.lagging.append((status, lag))
        ratio = fragmentation(status)
        if ratio > limits.fragmentation and status.db_size >= limits.min_defrag_bytes:
            result.fragmented.append((status, ratio))
        used = status.db_size / limits.quota_bytes if limits.quota_bytes else 0.0
        if used > limits.db_quota_ratio:
            result.near_quota.append((status, used))
        result.alarms.extend(status.alarms)
    result.alarms = sorted(set(result.alarms))
    names = {m.member_id: m.name for m in survey.members}
    if len(leaders) == 1:
        leader = next(iter(leaders))
        result.leader_name = names.get(leader) or leader
    return result


def version_problem(etcd_version: str, kube_minor: int | None) -> str | None:
    """Why this etcd is too old for the API server (Kubernetes 1.22+ needs etcd 3.5+), or None."""
    if kube_minor is None or not etcd_version:
        return None
    try:
        major, minor = (int(part) for part in etcd_version.lstrip("v").split(".")[:2])
    except ValueError:
        return None
    if kube_minor >= 22 and (major, minor) < (3, 5):
        return (f"etcd {etcd_version} is older than Kubernetes 1.{kube_minor} needs (1.22+ needs etcd 3.5+): "
                "expect random create failures")
    return None

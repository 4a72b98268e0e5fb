"""One client for etcd's gRPC gateway (``/v3/...`` over HTTP(S)), shared by diagnosis and remediation.

Only members listed in ``ETCD_ENDPOINTS`` are ever contacted; TLS uses ``ETCD_CACERT``,
``ETCD_CERT`` and ``ETCD_KEY`` when given. Every read has a timeout and raises
:class:`~workers.cluster.base.ClusterError` (``Unavailable`` when the member cannot be reached),
so callers turn a silent member into a finding. :meth:`EtcdClient.survey` asks every member at
once (one thread each) and never raises: a member that does not answer is recorded with its error.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import urllib3

from clusterdoc.workers.cluster.base import ClusterError, Unavailable

DEFRAG_LOCK = threading.Lock()


@dataclass(frozen=True)
class MemberStatus:
    """What one endpoint said about itself (or why it said nothing: ``error``)."""

    endpoint: str
    member_id: str = ""
    name: str = ""
    version: str = ""
    db_size: int = 0
    db_size_in_use: int = 0
    leader: str = ""
    raft_term: int = 0
    raft_index: int = 0
    healthy: bool | None = None
    alarms: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    error: str = ""

    @property
    def answered(self) -> bool:
        return not self.error

    @property
    def is_leader(self) -> bool:
        return bool(self.member_id) and self.member_id == self.leader


@dataclass(frozen=True)
class Member:
    """A member as the cluster's member list names it."""

    member_id: str
    name: str
    client_urls: tuple[str, ...]
    is_learner: bool = False


@dataclass
class Survey:
    """Every configured endpoint's status plus the member list (from whichever member answered)."""

    statuses: list[MemberStatus] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    members_error: str = ""


def _uint(value: Any) -> str:
    """etcd's gateway writes uint64 ids as decimal strings; keep them as strings."""
    return str(value) if value not in (None, "") else ""


class EtcdClient:
    """The configured etcd members and how to reach them."""

    def __init__(
        self,
        endpoints: list[str],
        *,
        cacert: str | None = None,
        cert: str | None = None,
        key: str | None = None,
        timeout: float = 5.0,
        defrag_timeout: float = 300.0,
    ) -> None:
        self.endpoints = [endpoint.strip().rstrip("/") for endpoint in endpoints if endpoint.strip()]
        self.timeout, self.defrag_timeout = timeout, defrag_timeout
        options: dict[str, Any] = {}
        if cacert:
            options.update(cert_reqs="CERT_REQUIRED", ca_certs=cacert)
        if cert:
            options.update(cert_file=cert, key_file=key)
        import urllib3  # only when etcd is configured: `ask --snapshot` never loads an HTTP client

        self.http: urllib3.PoolManager = urllib3.PoolManager(retries=False, maxsize=4, **options)

    @classmethod
    def from_settings(cls, endpoints: str, cacert: str | None = None, cert: str | None = None,
                      key: str | None = None, **options: Any) -> EtcdClient:
        return cls(endpoints.split(","), cacert=cacert, cert=cert, key=key, **options)

    # -- transport -------------------------------------------------------------------------------

    def _check(self, endpoint: str) -> str:
        endpoint = endpoint.rstrip("/")
        if endpoint not in self.endpoints:
            raise ClusterError(f"etcd endpoint {endpoint} is not one of ETCD_ENDPOINTS")
        return endpoint

    def _call(self, method: str, endpoint: str, path: str, timeout: float, body: dict[str, Any] | None = None
              ) -> dict[str, Any]:
        import urllib3

        endpoint = self._check(endpoint)
        try:
            response = self.http.request(
                method, endpoint + path, body=json.dumps(body or {}).encode() if method == "POST" else None,
                headers={"Content-Type": "application/json"}, timeout=timeout,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise Unavailable(f"cannot reach etcd member {endpoint}: {_reason(exc)}") from exc
        if response.status != 200:
            raise ClusterError(f"etcd member {endpoint} answered {response.status} to {path}: {response.data[:200]!r}")
        try:
            data: dict[str, Any] = json.loads(response.data or b"{}")
        except ValueError as exc:
            raise ClusterError(f"etcd member {endpoint} answered {path} with something that is not JSON") from exc
        return data

    def _post(self, endpoint: str, path: str, timeout: float, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("POST", endpoint, path, timeout, body)

    # -- reads -----------------------------------------------------------------------------------

    def status(self, endpoint: str) -> dict[str, Any]:
        """``member_id``, ``version``, ``db_size``, ``db_size_in_use``, ``leader``, raft term/index of one member."""
        raw = self._post(endpoint, "/v3/maintenance/status", self.timeout)
        header = raw.get("header") or {}
        db_size = int(raw.get("dbSize") or 0)
        return {
            "endpoint": endpoint.rstrip("/"),
            "member_id": _uint(header.get("member_id")),
            "version": raw.get("version", ""),
            "db_size": db_size,
            "db_size_in_use": int(raw.get("dbSizeInUse") or db_size),
            "leader": _uint(raw.get("leader")),
            "raft_term": int(raw.get("raftTerm") or header.get("raft_term") or 0),
            "raft_index": int(raw.get("raftIndex") or 0),
            "errors": list(raw.get("errors") or []),
        }

    def health(self, endpoint: str) -> bool:
        """The member's ``/health`` answer (False when it answers unhealthy)."""
        data = self._call("GET", endpoint, "/health", self.timeout)
        return str(data.get("health", "")).lower() == "true"

    def alarms(self, endpoint: str) -> list[str]:
        """Active alarms (``NOSPACE``, ``CORRUPT``) as ``ALARM@member``."""
        data = self._post(endpoint, "/v3/maintenance/alarm", self.timeout, {"action": "GET", "memberID": 0})
        return [f"{alarm.get('alarm', '?')}@{_uint(alarm.get('memberID'))}" for alarm in data.get("alarms") or []]

    def members(self, endpoint: str) -> list[Member]:
        data = self._post(endpoint, "/v3/cluster/member/list", self.timeout)
        return [
            Member(_uint(raw.get("ID")), str(raw.get("name") or ""), tuple(raw.get("clientURLs") or ()),
                   bool(raw.get("isLearner")))
            for raw in data.get("members") or []
        ]

    def member_status(self, endpoint: str) -> MemberStatus:
        """Status, health and alarms of one member; never raises (the error is recorded)."""
        endpoint = endpoint.rstrip("/")
        try:
            status = self.status(endpoint)
        except ClusterError as exc:
            return MemberStatus(endpoint, error=str(exc))
        try:
            healthy: bool | None = self.health(endpoint)
        except ClusterError:
            healthy = None  # /health is optional (a proxy may hide it); status answered
        try:
            alarms = tuple(self.alarms(endpoint))
        except ClusterError:
            alarms = ()
        return MemberStatus(
            endpoint, status["member_id"], "", status["version"], status["db_size"], status["db_size_in_use"],
            status["leader"], status["raft_term"], status["raft_index"], healthy, alarms, tuple(status["errors"]),
        )

    def survey(self) -> Survey:
        """Every endpoint's status (concurrently) and the member list; never raises."""
        survey = Survey()
        if not self.endpoints:
            return survey
        with ThreadPoolExecutor(max_workers=min(8, len(self.endpoints)), thread_name_prefix="etcd") as pool:
            survey.statuses = list(pool.map(self.member_status, self.endpoints))
        names: dict[str, str] = {}
        for status in survey.statuses:
            if not status.answered:
                continue
            try:
                survey.members = self.members(status.endpoint)
                names = {member.member_id: member.name for member in survey.members}
                break
            except ClusterError as exc:
                survey.members_error = str(exc)
        else:
            survey.members_error = survey.members_error or "no member answered"
        survey.statuses = [
            MemberStatus(**{**s.__dict__, "name": names.get(s.member_id, "")}) if s.answered else s
            for s in survey.statuses
        ]
        return survey

    # -- maintenance -----------------------------------------------------------------------------

    def defragment(self, endpoint: str) -> None:
        """Defragment one member (it blocks reads and writes while running)."""
        if not DEFRAG_LOCK.acquire(blocking=False):
            raise ClusterError("another etcd defragmentation is running on this worker; one member at a time")
        try:
            self._post(endpoint, "/v3/maintenance/defragment", self.defrag_timeout)
        finally:
            DEFRAG_LOCK.release()


def _reason(exc: Exception) -> str:
    """The short cause of a failed request (``connection refused``, ``timed out``, a TLS problem)."""
    text = str(getattr(exc, "reason", None) or exc)
    for marker in ("Connection refused", "timed out", "Name or service not known", "No route to host",
                   "certificate verify failed", "CERTIFICATE_REQUIRED", "certificate required", "SSL", "EOF"):
        if marker.lower() in text.lower():
            return marker.lower() if marker not in ("SSL", "EOF") else f"TLS handshake failed ({text[-120:]})"
    return text[-200:]

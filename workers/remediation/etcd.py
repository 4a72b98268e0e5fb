"""etcd maintenance over the gRPC gateway (``POST /v3/maintenance/status`` and ``/defragment``).

Only members listed in ``ETCD_ENDPOINTS`` are ever contacted; TLS uses ``ETCD_CACERT``,
``ETCD_CERT`` and ``ETCD_KEY`` when given. A process-wide lock makes sure this worker never
defragments two members at once.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import urllib3

from clusterdoc.workers.cluster.base import ClusterError, Unavailable

DEFRAG_LOCK = threading.Lock()


class EtcdMaintenance:
    """The configured etcd members and how to reach them."""

    def __init__(
        self,
        endpoints: list[str],
        *,
        cacert: str | None = None,
        cert: str | None = None,
        key: str | None = None,
        timeout: float = 10.0,
        defrag_timeout: float = 300.0,
    ) -> None:
        self.endpoints = [endpoint.rstrip("/") for endpoint in endpoints if endpoint.strip()]
        self.timeout, self.defrag_timeout = timeout, defrag_timeout
        options: dict[str, Any] = {}
        if cacert:
            options.update(cert_reqs="CERT_REQUIRED", ca_certs=cacert)
        if cert:
            options.update(cert_file=cert, key_file=key)
        self.http = urllib3.PoolManager(retries=False, **options)

    @classmethod
    def from_settings(cls, endpoints: str, cacert: str | None = None, cert: str | None = None,
                      key: str | None = None) -> EtcdMaintenance:
        return cls(endpoints.split(","), cacert=cacert, cert=cert, key=key)

    def _post(self, endpoint: str, path: str, timeout: float) -> dict[str, Any]:
        if endpoint.rstrip("/") not in self.endpoints:
            raise ClusterError(f"etcd endpoint {endpoint} is not one of ETCD_ENDPOINTS")
        try:
            response = self.http.request("POST", endpoint.rstrip("/") + path, body=b"{}",
                                         headers={"Content-Type": "application/json"}, timeout=timeout)
        except urllib3.exceptions.HTTPError as exc:
            raise Unavailable(f"cannot reach etcd member {endpoint}: {exc}") from exc
        if response.status != 200:
            raise ClusterError(
                f"etcd member {endpoint} answered {response.status} to {path}: {response.data[:200]!r}"
            )
        data: dict[str, Any] = json.loads(response.data or b"{}")
        return data

    def status(self, endpoint: str) -> dict[str, Any]:
        """``member_id``, ``version``, ``db_size``, ``db_size_in_use``, ``leader`` of one member."""
        raw = self._post(endpoint, "/v3/maintenance/status", self.timeout)
        header = raw.get("header") or {}
        db_size = int(raw.get("dbSize") or 0)
        return {
            "endpoint": endpoint.rstrip("/"),
            "member_id": str(header.get("member_id", "")),
            "version": raw.get("version", ""),
            "db_size": db_size,
            "db_size_in_use": int(raw.get("dbSizeInUse") or db_size),
            "leader": str(raw.get("leader", "")),
        }

    def defragment(self, endpoint: str) -> None:
        """Defragment one member (it blocks reads and writes while running)."""
        if not DEFRAG_LOCK.acquire(blocking=False):
            raise ClusterError("another etcd defragmentation is running on this worker; one member at a time")
        try:
            self._post(endpoint, "/v3/maintenance/defragment", self.defrag_timeout)
        finally:
            DEFRAG_LOCK.release()

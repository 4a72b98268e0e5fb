"""The live backend: reads an API server through the official ``kubernetes`` client.

Requests go through the client's ``ApiClient`` (its configuration, TLS, auth and connection
pool) but responses are read as raw JSON, never deserialised into model objects: a LIST of
150,000 pods is affordable page by page as dicts and not as models. Every request has a
timeout, 429/5xx answers are retried with backoff (honouring ``Retry-After``), LISTs are paged
with ``limit``/``continue`` (a continue token etcd compaction expired, 410, is replaced by the
fresh one the API server sends with the refusal), and a client-side rate limit keeps the bot from ever being the
reason an API server is overloaded.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from clusterdoc import kinds
from clusterdoc.workers.cluster.base import ClusterError, Forbidden, Hung, NotFound, Obj, Unavailable
from clusterdoc.workers.cluster.list_page import ListPage, read_page
from clusterdoc.workers.gc_pause import gc_paused

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_EXPIRED_CONTINUES = 3
"""How many times one LIST may resume after its continue token expired before giving up."""


class ContinueExpired(ClusterError):
    """410 ``Expired`` for a LIST page: ``token`` is the server's fresh continue token ("" if none)."""

    def __init__(self, message: str, token: str) -> None:
        super().__init__(message)
        self.token = token


class RateLimiter:
    """A token bucket: at most ``qps`` requests a second on average, ``burst`` at once."""

    def __init__(self, qps: float, burst: int) -> None:
        self.qps, self.burst = qps, burst
        self._tokens = float(burst)
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.qps)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.qps
            time.sleep(wait)


def load_configuration(kubeconfig: str | None = None, context: str | None = None) -> k8s_client.Configuration:
    """In-cluster credentials when running in a pod, else the kubeconfig; ClusterError if neither."""
    configuration = k8s_client.Configuration()
    try:
        if kubeconfig is None:
            try:
                k8s_config.load_incluster_config(client_configuration=configuration)
                return configuration
            except ConfigException:
                pass
        k8s_config.load_kube_config(
            config_file=kubeconfig, context=context, client_configuration=configuration
        )
    except (ConfigException, OSError) as exc:
        raise ClusterError(f"no Kubernetes credentials: {exc}") from exc
    return configuration


class LiveCluster:
    """:class:`clusterdoc.workers.cluster.base.Cluster` over a real (or fake) API server."""

    def __init__(
        self,
        configuration: k8s_client.Configuration,
        name: str = "default",
        *,
        timeout: float = 15.0,
        max_attempts: int = 4,
        backoff: float = 0.5,
        qps: float = 20.0,
        burst: int = 40,
    ) -> None:
        self.name = name
        # connection-level only (status retries are ours, below); a read that times out is not
        # repeated behind our back: a hanging API server is named at once (see start_budget)
        configuration.retries = urllib3.Retry(total=1, connect=1, read=0, status=0, redirect=0,
                                              respect_retry_after_header=False)
        self.api = k8s_client.ApiClient(configuration)
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.limiter = RateLimiter(qps, burst)
        self._requests = 0
        self._count_lock = threading.Lock()
        self._deadline: float | None = None
        self._hung: str | None = None

    def start_budget(self, seconds: float | None) -> None:
        """Give the coming run ``seconds`` (None: no limit) and forget an earlier run's hung call.

        Each request then waits at most what is left of the budget; once one request hangs, the
        run's later requests fail at once naming it, so the report (layer: API server, the call
        that hung) is posted while the job still has time.
        """
        self._deadline = time.monotonic() + seconds if seconds is not None else None
        self._hung = None

    def _time_left(self, verb: str, resource: str) -> float:
        """The timeout for the next request; :class:`Hung` when nothing is left to wait with."""
        if self._hung is not None:
            raise Hung(f"{verb} {resource} not tried: the API server already did not answer {self._hung}")
        if self._deadline is None:
            return self.timeout
        left = self._deadline - time.monotonic()
        if left <= 0.5:
            raise Hung(f"{verb} {resource} not tried: the job's time budget is spent")
        return min(self.timeout, left)

    @classmethod
    def from_environment(cls, name: str = "default", **options: Any) -> LiveCluster:
        return cls(load_configuration(), name, **options)

    def request_count(self) -> int:
        return self._requests

    # -- transport -----------------------------------------------------------------------

    def _request(
        self,
        path: str,
        query: list[tuple[str, Any]],
        *,
        verb: str,
        resource: str,
        namespace: str | None,
        continuation: bool = False,
    ) -> bytes:
        """GET ``path`` and return the body, retrying transient failures; typed errors otherwise.

        A ``continuation`` page of a LIST already paid its token with the first page: the pages of
        one LIST are strictly sequential (one in flight) and each is bounded by ``limit``, so
        throttling them again would only slow a large read without sparing the API server anything.
        Retries always take a token.
        """
        last_problem = ""
        for attempt in range(1, self.max_attempts + 1):
            timeout = self._time_left(verb, resource)
            if attempt > 1 or not continuation:
                self.limiter.acquire()
            with self._count_lock:
                self._requests += 1
            method, url, headers, body, post = self.api.param_serialize(
                method="GET",
                resource_path=path,
                query_params=query,
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
            )
            try:
                response = self.api.call_api(method, url, headers, body, post, _request_timeout=timeout)
                data = response.read()
                status = response.status
                retry_after = response.getheader("Retry-After")
            except (urllib3.exceptions.HTTPError, OSError, ApiException) as exc:
                if _read_timeout(exc) and self._deadline is not None:  # in a budgeted run: name it, move on
                    raise self._hang(verb, resource, namespace, path, timeout) from exc
                status, data, retry_after = 0, b"", None
                last_problem = f"cannot reach the API server at {self.api.configuration.host}: {exc}"
            if 200 <= status < 300:
                return data
            if status == 404:
                raise NotFound(_kind_of(resource), path.rsplit("/", 1)[-1], namespace)
            if status == 403:
                raise Forbidden(verb, resource, namespace, status_message(data))
            if status == 401:
                raise ClusterError(f"the API server rejected the credentials (401): {status_message(data)}")
            if status == 410 and verb == "list":
                raise ContinueExpired(f"API server answered 410 for list {resource}: {status_message(data)}",
                                      _fresh_continue(data))
            if status and status not in RETRY_STATUSES:
                raise ClusterError(f"API server answered {status} for {verb} {resource}: {status_message(data)}")
            if status:
                last_problem = f"API server answered {status} for {verb} {resource}: {status_message(data)}"
            if attempt < self.max_attempts:
                delay = _retry_delay(retry_after, self.backoff * 2 ** (attempt - 1))
                if self._deadline is not None:
                    delay = max(0.0, min(delay, self._deadline - time.monotonic() - 1.0))
                log.warning("retrying %s %s in %.1fs: %s", verb, resource, delay, last_problem)
                time.sleep(delay)
        raise Unavailable(f"{last_problem} (gave up after {self.max_attempts} attempts)")

    def _hang(self, verb: str, resource: str, namespace: str | None, path: str, timeout: float) -> Hung:
        """Remember the call that hung (later requests of the run fail at once naming it) and say so."""
        where = f"{namespace}/" if namespace else ""
        self._hung = f"{verb} {resource} {where}{path.rsplit('/', 1)[-1]} within {_seconds(timeout)} s"
        log.warning("the API server did not answer %s", self._hung)
        return Hung(f"the API server at {self.api.configuration.host} accepted {verb} {resource} "
                    f"({path}) and did not answer within {_seconds(timeout)} s")

    # -- Cluster interface ---------------------------------------------------------------

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        known = kinds.by_kind(kind)
        namespace = namespace if known.namespaced else None
        try:
            body = self._request(
                known.object_path(name, namespace), [], verb="get", resource=known.plural, namespace=namespace
            )
        except NotFound as exc:
            raise NotFound(known.kind, name, namespace) from exc
        obj: Obj = json.loads(body)
        obj.setdefault("kind", known.kind)
        return obj

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = 500,
        allow_stale: bool = False,
    ) -> Iterator[Obj]:
        known = kinds.by_kind(kind)
        namespace = namespace if known.namespaced else None
        path = known.collection_path(namespace)
        token: str | None = None
        expired = 0
        while True:
            query = list_query(page_size, label_selector, field_selector, token, allow_stale=allow_stale)
            try:
                body = self._request(
                    path, query, verb="list", resource=known.plural, namespace=namespace, continuation=bool(token)
                )
            except ContinueExpired as exc:
                # etcd compacted past the list's revision between two pages. The 410 carries a token that
                # continues after the last key read, at the newest revision: no object twice, none skipped
                # that still exists; objects changed meanwhile are read as they are now (as kubectl does).
                expired += 1
                if not token or not exc.token or expired > MAX_EXPIRED_CONTINUES:
                    raise
                log.warning("list %s: continue token expired (etcd compaction); reading the rest at a newer "
                            "resourceVersion", known.plural)
                token = exc.token
                continue
            page = ListPage()
            try:
                with gc_paused():  # over the page, the caller's work included: none of it makes cycles
                    yield from read_page(body, page, known.kind)
            except ValueError as exc:
                raise ClusterError(f"the API server's answer to list {known.plural} is not valid JSON: {exc}") from exc
            del body
            token = page.continue_token
            if not token:
                return

    def version(self) -> Obj:
        """``GET /version``: the API server's build (``gitVersion`` like ``v1.31.2``)."""
        try:
            data = json.loads(self._request("/version", [], verb="get", resource="version", namespace=None))
        except ValueError as exc:
            raise ClusterError("the API server's /version is not JSON") from exc
        if not isinstance(data, dict):
            raise ClusterError("the API server's /version is not an object")
        return data

    def logs(
        self, namespace: str, pod: str, container: str, *, previous: bool = False, tail_lines: int = 20
    ) -> str:
        query: list[tuple[str, Any]] = [("container", container), ("tailLines", tail_lines)]
        if previous:
            query.append(("previous", "true"))
        path = kinds.by_kind("Pod").object_path(pod, namespace) + "/log"
        try:
            body = self._request(path, query, verb="get", resource="pods/log", namespace=namespace)
        except NotFound as exc:
            raise NotFound("Pod", pod, namespace) from exc
        return body.decode("utf-8", "replace")


def list_query(
    page_size: int,
    label_selector: str | None,
    field_selector: str | None,
    token: str | None,
    *,
    allow_stale: bool = False,
) -> list[tuple[str, Any]]:
    """Query parameters of one LIST page (``resourceVersion=0`` only on a stale-allowed first page)."""
    query: list[tuple[str, Any]] = [("limit", page_size)]
    if label_selector:
        query.append(("labelSelector", label_selector))
    if field_selector:
        query.append(("fieldSelector", field_selector))
    if token:
        query.append(("continue", token))
    elif allow_stale:
        query.append(("resourceVersion", "0"))
    return query


def _kind_of(resource: str) -> str:
    known = kinds.lookup(resource.split("/")[0])
    return known.kind if known else resource


def _fresh_continue(data: bytes) -> str:
    """``metadata.continue`` of a 410 ``Status`` (the API server's token to resume an expired list)."""
    try:
        body = json.loads(data)
    except ValueError:
        return ""
    metadata = body.get("metadata") if isinstance(body, dict) else None
    return str((metadata or {}).get("continue") or "")


def status_message(data: bytes) -> str:
    """The ``message`` of a Kubernetes ``Status`` body, or the start of the raw body."""
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or data[:200].decode("utf-8", "replace"))[:400]


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value >= 1 else f"{value:.1f}"


def _read_timeout(exc: BaseException) -> bool:
    """The request was sent and no answer came in time (urllib3 may wrap it in MaxRetryError)."""
    reason = getattr(exc, "reason", None)
    return isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError) or (
        isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(reason, urllib3.exceptions.ReadTimeoutError))


def _retry_delay(retry_after: str | None, fallback: float) -> float:
    """Seconds to wait: the server's ``Retry-After`` (capped at 30 s) or the backoff."""
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), 30.0)
        except ValueError:
            pass
    return fallback

"""The live backend: reads an API server through the official ``kubernetes`` client.

Requests go through the client's ``ApiClient`` (its configuration, TLS, auth and connection
pool) but responses are read as raw JSON, never deserialised into model objects: a LIST of
150,000 pods is affordable page by page as dicts and not as models. Every request has a
timeout, 429/5xx answers are retried with backoff (honouring ``Retry-After``), LISTs are paged
with ``limit``/``continue``, and a client-side rate limit keeps the bot from ever being the
reason an API server is overloaded.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from clusterdoc import kinds
from clusterdoc.workers.cluster.base import ClusterError, Forbidden, NotFound, Obj, Unavailable

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


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


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a LIST page is decoded.

    Decoding a 500-pod page allocates hundreds of thousands of containers, which triggers
    collections that walk every object the process holds (the kubernetes client alone is
    large): measured at about a third of a 150,000-pod read. JSON has no reference cycles, so
    pausing collection for the decode frees nothing later than it would have been freed.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
    """:class:`workers.cluster.base.Cluster` over a real (or fake) API server."""

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
        configuration.retries = 1  # connection-level only; status retries are ours, below
        self.api = k8s_client.ApiClient(configuration)
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.limiter = RateLimiter(qps, burst)
        self._requests = 0
        self._count_lock = threading.Lock()

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
        return self._answer(path, query, verb=verb, resource=resource, namespace=namespace,
                            continuation=continuation).read()

    def _answer(
        self,
        path: str,
        query: list[tuple[str, Any]],
        *,
        verb: str,
        resource: str,
        namespace: str | None,
        continuation: bool = False,
    ) -> Any:
        """Like :meth:`_request`, but return a successful response with its body not read yet (``.read()``)."""
        last_problem = ""
        for attempt in range(1, self.max_attempts + 1):
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
            data = b""
            try:
                response = self.api.call_api(method, url, headers, body, post, _request_timeout=self.timeout)
                status = response.status
                if 200 <= status < 300:
                    return response
                data = response.read()
                retry_after = response.getheader("Retry-After")
            except (urllib3.exceptions.HTTPError, OSError, ApiException) as exc:
                status, retry_after = 0, None
                last_problem = f"cannot reach the API server at {self.api.configuration.host}: {exc}"
            if status == 404:
                raise NotFound(_kind_of(resource), path.rsplit("/", 1)[-1], namespace)
            if status == 403:
                raise Forbidden(verb, resource, namespace, status_message(data))
            if status == 401:
                raise ClusterError(f"the API server rejected the credentials (401): {status_message(data)}")
            if status and status not in RETRY_STATUSES:
                raise ClusterError(f"API server answered {status} for {verb} {resource}: {status_message(data)}")
            if status:
                last_problem = f"API server answered {status} for {verb} {resource}: {status_message(data)}"
            if attempt < self.max_attempts:
                delay = _retry_delay(retry_after, self.backoff * 2 ** (attempt - 1))
                log.warning("retrying %s %s in %.1fs: %s", verb, resource, delay, last_problem)
                time.sleep(delay)
        raise Unavailable(f"{last_problem} (gave up after {self.max_attempts} attempts)")

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
        """Every object of a LIST, page by page; the next page is fetched while this one is decoded and used.

        The API server writes a list's ``metadata`` (with the ``continue`` token) before its items, so the
        token is read from the first bytes of a page and the next page requested at once, on a helper
        thread, while this one is decoded and consumed: the server's work and the transfer overlap with
        ours. Still one request in flight per LIST, in the same order with the same tokens as strictly
        sequential paging; a page whose decoded token differs from the early read is fetched again.
        """
        known = kinds.by_kind(kind)
        namespace = namespace if known.namespaced else None
        path = known.collection_path(namespace)

        def fetch(token: str | None) -> bytes:
            query = list_query(page_size, label_selector, field_selector, token, allow_stale=allow_stale)
            return self._request(path, query, verb="list", resource=known.plural, namespace=namespace,
                                 continuation=bool(token))

        def ask(token: str) -> Any:
            query = list_query(page_size, label_selector, field_selector, token, allow_stale=allow_stale)
            return self._answer(path, query, verb="list", resource=known.plural, namespace=namespace,
                                continuation=True)

        body = fetch(None)
        ahead: _Prefetch | None = None
        try:
            while True:
                early = _early_continue(body)
                ahead = _Prefetch(ask, early) if early else None
                with _gc_paused():
                    page = json.loads(body)
                del body
                token = (page.get("metadata") or {}).get("continue")
                items = page.get("items") or []
                del page
                for item in items:
                    item.setdefault("kind", known.kind)
                    yield item
                del items
                if not token:
                    return
                if ahead is not None and ahead.token == token:
                    body = ahead.body(fetch)
                    ahead = None
                else:
                    if ahead is not None:
                        ahead.discard()
                        ahead = None
                    body = fetch(token)
        finally:
            if ahead is not None:
                ahead.discard()

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


_CONTINUE = re.compile(rb'^.{0,400}?"metadata"\s*:\s*\{[^{}]*?"continue"\s*:\s*"([^"]+)"', re.DOTALL)


def _early_continue(body: bytes) -> str | None:
    """The ``continue`` token from the head of a LIST body, without decoding the page (None if not there)."""
    match = _CONTINUE.match(body[:2048])
    return match.group(1).decode("utf-8", "replace") if match else None


class _Prefetch:
    """The next page of a LIST, asked for on a helper thread while the current one is consumed.

    The helper only sends the request and waits for the answer's status line and headers (the API
    server's work); the body is read on the consumer's thread, in a few large reads, so the two
    threads do not trade the GIL for every chunk of it.
    """

    def __init__(self, ask: Callable[[str], Any], token: str) -> None:
        self.token = token
        self._response: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(ask,), name="clusterdoc-list-prefetch", daemon=True)
        self._thread.start()

    def _run(self, ask: Callable[[str], Any]) -> None:
        try:
            self._response = ask(self.token)
        except BaseException as exc:  # handed to the consumer by body()
            self._error = exc

    def body(self, fetch: Callable[[str], bytes]) -> bytes:
        """The page's bytes; a body cut off mid-read is fetched again the ordinary way (with its retries)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        try:
            data: bytes = self._response.read()
        except (urllib3.exceptions.HTTPError, OSError):
            data = fetch(self.token)
        self._response = None
        return data

    def discard(self) -> None:
        """Wait for the request to end (one LIST never has two in flight) and drop its answer."""
        self._thread.join()
        if self._response is not None:
            try:
                self._response.read()
            except (urllib3.exceptions.HTTPError, OSError):
                pass
        self._response = self._error = None


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


def status_message(data: bytes) -> str:
    """The ``message`` of a Kubernetes ``Status`` body, or the start of the raw body."""
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or data[:200].decode("utf-8", "replace"))[:400]


def _retry_delay(retry_after: str | None, fallback: float) -> float:
    """Seconds to wait: the server's ``Retry-After`` (capped at 30 s) or the backoff."""
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), 30.0)
        except ValueError:
            pass
    return fallback

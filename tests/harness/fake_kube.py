"""A fake Kubernetes API server that serves a snapshot over the real REST paths.

The real ``kubernetes`` client (and so :class:`clusterdoc.workers.cluster.live.LiveCluster`) talks to it
unmodified: core ``/api/v1/...`` and group ``/apis/<group>/<version>/...`` paths, namespaced
and cluster-wide LISTs with ``labelSelector``, ``fieldSelector`` (only the field labels the real
server supports for each kind), ``limit``/``continue`` paging with opaque tokens, GET of one
object with proper ``Status`` errors, and container logs. Tests inject faults (403/404/429/500,
slow answers) per path and count the requests the client made.

Built for scale: a benchmark serves 5,000 nodes and 150,000 pods from it. Every object is
serialised to JSON once, pages are joined from those bytes, objects are indexed by kind,
namespace, name, ``spec.nodeName`` (pods) and ``involvedObject`` (events) so field-selected
LISTs do not scan everything, and connections are HTTP/1.1 keep-alive.

Reads are served here; writes (PATCH, DELETE, eviction) go to :attr:`FakeKubeServer.write_handler`
when one is set (405 otherwise). The tables are kept sorted by key with bisect so that a write
handler can insert and remove entries in place.

Run it on its own (for benchmarks that must not count its memory):
``python -m tests.harness.fake_kube SNAPSHOT`` or ``--factory module:function`` (a function
returning a list of objects); it prints its URL on the first line and serves until killed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import bisect
import importlib
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kubernetes import client as k8s_client

from clusterdoc import kinds
from clusterdoc.workers.cluster.live import LiveCluster
from clusterdoc.workers.cluster.selectors import SelectorError, label_matcher
from clusterdoc.workers.cluster.snapshot import SnapshotStore
from tests.harness.http_fake import HTTPFake, QuietHandler, QuietHTTPServer

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace or "", name): the order etcd keys sort in

DEFAULT_USER = "system:serviceaccount:clusterdoc:clusterdoc"
DEFAULT_RESOURCE_VERSION = "1000"

# -- field selectors: what the real API server supports per kind ---------------------------------


def _path(obj: Obj, dotted: str) -> Any:
    current: Any = obj
    for part in dotted.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def _text(value: Any, default: str = "") -> str:
    if value is None:
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _getter(dotted: str, default: str = "") -> Callable[[Obj], str]:
    return lambda obj: _text(_path(obj, dotted), default)


def _pod_ips(obj: Obj) -> str:
    ips = _path(obj, "status.podIPs") or []
    return ",".join(str(ip.get("ip", "")) for ip in ips if isinstance(ip, dict)) or _text(_path(obj, "status.podIP"))


_META_FIELDS: dict[str, Callable[[Obj], str]] = {
    "metadata.name": _getter("metadata.name"),
    "metadata.namespace": _getter("metadata.namespace"),
}

# Field labels beyond metadata.name/namespace, as registered by each kind's strategy
# (kubernetes pkg/registry/*/strategy.go and pkg/apis/*/v1/conversion.go, v1.31).
_EXTRA_FIELDS: dict[str, dict[str, Callable[[Obj], str]]] = {
    "Pod": {
        "spec.nodeName": _getter("spec.nodeName"),
        "spec.restartPolicy": _getter("spec.restartPolicy"),
        "spec.schedulerName": _getter("spec.schedulerName"),
        "spec.serviceAccountName": _getter("spec.serviceAccountName"),
        "spec.hostNetwork": _getter("spec.hostNetwork", "false"),
        "status.phase": _getter("status.phase"),
        "status.podIP": _getter("status.podIP"),
        "status.podIPs": _pod_ips,
        "status.nominatedNodeName": _getter("status.nominatedNodeName"),
    },
    "Event": {
        "involvedObject.kind": _getter("involvedObject.kind"),
        "involvedObject.namespace": _getter("involvedObject.namespace"),
        "involvedObject.name": _getter("involvedObject.name"),
        "involvedObject.uid": _getter("involvedObject.uid"),
        "involvedObject.apiVersion": _getter("involvedObject.apiVersion"),
        "involvedObject.resourceVersion": _getter("involvedObject.resourceVersion"),
        "involvedObject.fieldPath": _getter("involvedObject.fieldPath"),
        "reason": _getter("reason"),
        "reportingComponent": _getter("reportingComponent"),
        "source": _getter("source.component"),
        "type": _getter("type"),
    },
    "Node": {"spec.unschedulable": _getter("spec.unschedulable", "false")},
    "Namespace": {"status.phase": _getter("status.phase")},
    "Secret": {"type": _getter("type")},
    "ReplicaSet": {"status.replicas": _getter("status.replicas", "0")},
    "Job": {"status.successful": _getter("status.successful", "0")},
}

# Field labels indexed for fast equality lookups (besides namespace and name).
_INDEXED_FIELDS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec.nodeName",),
    "Event": ("involvedObject.name", "involvedObject.uid"),
}


class ApiError(Exception):
    """An answer other than 200, carried as a Kubernetes ``Status``."""

    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def status_body(code: int, reason: str, message: str, details: Obj | None = None) -> bytes:
    """A ``Status`` object as the API server writes it for a failed request."""
    body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message}
    if reason:
        body["reason"] = reason
    if details:
        body["details"] = details
    body["code"] = code
    return json.dumps(body, separators=(",", ":")).encode()


_ENCODER = json.JSONEncoder(separators=(",", ":"))


def _dumps(obj: Any) -> bytes:
    """Compact JSON bytes (one shared encoder: this runs once per object of a 150,000-pod store)."""
    return _ENCODER.encode(obj).encode("ascii")


# -- the store as the server sees it ------------------------------------------------------------


class _Entry:
    """One object, with its list-item JSON (no kind/apiVersion, as in real LISTs) cached."""

    __slots__ = ("item", "key", "obj")

    def __init__(self, key: Key, obj: Obj) -> None:
        self.key = key
        self.obj = obj
        self.item = _dumps({k: v for k, v in obj.items() if k not in ("kind", "apiVersion")})


class _Bucket:
    """Entries kept sorted by key, with a parallel key list for bisect."""

    __slots__ = ("entries", "keys")

    def __init__(self) -> None:
        self.keys: list[Key] = []
        self.entries: list[_Entry] = []

    def add(self, entry: _Entry) -> None:
        at = bisect.bisect_left(self.keys, entry.key)
        self.keys.insert(at, entry.key)
        self.entries.insert(at, entry)

    def sort(self) -> None:
        pairs = sorted(zip(self.keys, self.entries, strict=True), key=lambda pair: pair[0])
        self.keys = [key for key, _ in pairs]
        self.entries = [entry for _, entry in pairs]


class _Table:
    """Every object of one kind: all of them, by key, and by indexed field value."""

    def __init__(self, kind: kinds.Kind) -> None:
        self.kind = kind
        self.all = _Bucket()
        self.by_key: dict[Key, _Entry] = {}
        self.indexes: dict[str, dict[str, _Bucket]] = {"metadata.namespace": {}}
        for label in _INDEXED_FIELDS.get(kind.kind, ()):
            self.indexes[label] = {}
        self.fields = {**_META_FIELDS, **_EXTRA_FIELDS.get(kind.kind, {})}

    def load(self, objects: Iterable[Obj]) -> None:
        """Bulk load (appends then sorts once; :meth:`_Bucket.add` is for single inserts later)."""
        for obj in objects:
            metadata = obj.get("metadata") or {}
            namespace = (metadata.get("namespace") or "") if self.kind.namespaced else ""
            entry = _Entry((namespace, str(metadata.get("name", ""))), obj)
            self.by_key[entry.key] = entry
            self.all.keys.append(entry.key)
            self.all.entries.append(entry)
            for label, index in self.indexes.items():
                value = self.fields[label](obj)
                bucket = index.get(value)
                if bucket is None:
                    bucket = index[value] = _Bucket()
                bucket.keys.append(entry.key)
                bucket.entries.append(entry)
        self.all.sort()
        for index in self.indexes.values():
            for bucket in index.values():
                bucket.sort()


@dataclass
class KubeRequest:
    """One request the fake API server received (``status`` is filled in when it answered)."""

    method: str
    path: str
    query: dict[str, str]
    time: float = field(default_factory=time.monotonic)
    status: int = 0


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    status: int
    remaining: int | None
    retry_after: float | None
    message: str | None


@dataclass
class _Delay:
    pattern: re.Pattern[str]
    seconds: float
    remaining: int | None


@dataclass(frozen=True)
class _Route:
    """What a path addresses: a kind, maybe a namespace, maybe an object and a subresource."""

    kind: kinds.Kind
    namespace: str | None
    name: str | None
    subresource: str | None

    @property
    def group(self) -> str:
        return self.kind.group_version.rpartition("/")[0]

    @property
    def qualified(self) -> str:
        """``pods``, ``deployments.apps``: how the API server names a resource in messages."""
        return f"{self.kind.plural}.{self.group}" if self.group else self.kind.plural

    @property
    def resource(self) -> str:
        return f"{self.kind.plural}/{self.subresource}" if self.subresource else self.kind.plural


def parse_path(path: str) -> _Route | None:
    """The route for a REST path, or None when no kind is served there."""
    parts = [part for part in path.split("/") if part]
    if parts[:2] == ["api", "v1"]:
        group_version, rest = "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        return None
    if len(rest) >= 3 and rest[0] == "namespaces":
        known = kinds.by_api(group_version, rest[2])
        if known is not None and known.namespaced and len(rest) <= 5:
            name = rest[3] if len(rest) >= 4 else None
            return _Route(known, rest[1], name, rest[4] if len(rest) == 5 else None)
    if not rest or len(rest) > 3:
        return None
    known = kinds.by_api(group_version, rest[0])
    if known is None or (known.namespaced and len(rest) > 1):
        return None
    return _Route(known, None, rest[1] if len(rest) >= 2 else None, rest[2] if len(rest) == 3 else None)


def _encode_continue(resource_version: str, key: Key) -> str:
    token = {"v": "meta.k8s.io/v1", "rv": resource_version, "start": list(key)}
    return base64.urlsafe_b64encode(_dumps(token)).decode("ascii").rstrip("=")


def _decode_continue(token: str) -> tuple[str, Key]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        namespace, name = raw["start"]
        return str(raw["rv"]), (str(namespace), str(name))
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ApiError(400, "BadRequest", f"continue key is not valid: {exc}") from exc


FieldTerm = tuple[str, bool, str]  # (label, equal?, value)


def _parse_field_selector(route: _Route, selector: str, label_selector: str, table: _Table) -> list[FieldTerm]:
    terms: list[FieldTerm] = []
    for raw in (part.strip() for part in selector.split(",")):
        if not raw:
            continue
        match = re.fullmatch(r"([^=!]+?)\s*(==|!=|=)\s*(.*)", raw)
        if not match:
            raise ApiError(400, "BadRequest", f"invalid selector: '{selector}'; can't understand '{raw}'")
        label, op, value = match.groups()
        if label not in table.fields:
            if route.kind.kind in _EXTRA_FIELDS:
                problem = f"field label not supported: {label}"
            else:
                problem = f'"{label}" is not a known field selector: only "metadata.name", "metadata.namespace"'
            resource = f"{route.kind.group_version}, Resource={route.kind.plural}"
            if "/" not in route.kind.group_version:
                resource = f"/{resource}"
            raise ApiError(
                400,
                "BadRequest",
                f'Unable to find "{resource}" that match label selector "{label_selector}", '
                f'field selector "{selector}": {problem}',
            )
        terms.append((label, op != "!=", value.strip()))
    return terms


# -- the HTTP side ------------------------------------------------------------------------------


class _HTTPServer(QuietHTTPServer):
    fake: FakeKubeServer
    request_queue_size = 128

    def __init__(self, fake: FakeKubeServer, address: tuple[str, int]) -> None:
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(fake, address, _Handler)


class _Handler(QuietHandler):
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)
            self.server.fake.connections_opened += 1

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def _handle(self) -> None:
        request_body = self._read_body()
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        record = KubeRequest(self.command, parts.path, query)
        self.server.fake._record(record)
        status, body, content_type, headers = self.server.fake.respond(
            self.command, parts.path, query, request_body, self.headers
        )
        record.status = status
        self._send_reply(status, body, content_type, [("Cache-Control", "no-cache, private"), *headers.items()])

    do_GET = _handle
    do_POST = _handle
    do_PUT = _handle
    do_PATCH = _handle
    do_DELETE = _handle


Response = tuple[int, bytes, str, dict[str, str]]
WriteHandler = Callable[[str, str, dict[str, str], bytes, Message], Response]
"""``(method, path, query, body, headers) -> Response`` for every non-GET request."""
JSON = "application/json"


class FakeKubeServer(HTTPFake):
    """The fake API server; serving from construction on, on a free 127.0.0.1 port.

    ``store`` is a :class:`SnapshotStore`, a path to a snapshot file/folder, or a list of
    objects. ``user`` is who the 403 messages say was refused. ``rv0_ignores_limit`` makes
    ``resourceVersion=0`` LISTs ignore ``limit`` the way older watch caches did.
    """

    thread_name = "fake-kube"

    def __init__(
        self,
        store: SnapshotStore | str | Path | list[Obj],
        *,
        user: str = DEFAULT_USER,
        resource_version: str = DEFAULT_RESOURCE_VERSION,
        rv0_ignores_limit: bool = False,
        port: int = 0,
    ) -> None:
        if isinstance(store, str | Path):
            store = SnapshotStore.load(store)
        elif isinstance(store, list):
            store = SnapshotStore(store)
        self.store = store
        self.user = user
        self.resource_version = resource_version
        self.rv0_ignores_limit = rv0_ignores_limit
        self.requests: list[KubeRequest] = []
        self.connections_opened = 0
        self.write_handler: WriteHandler | None = None
        """Answers PATCH/DELETE/POST (writes come in a later issue); None: 405 like a read-only API."""
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self.tables: dict[str, _Table] = {}
        for kind in kinds.KINDS:
            table = _Table(kind)
            table.load(store.by_kind.get(kind.kind, []))
            self.tables[kind.kind] = table
        self._bind(_HTTPServer(self, ("127.0.0.1", port)))

    # -- lifecycle (start/stop/port/base: HTTPFake) --------------------------------------------

    @property
    def url(self) -> str:
        return self.base

    def _after_shutdown(self) -> None:
        """Drop open keep-alive connections, then close the listening socket."""
        with self._server.connections_lock:
            for conn in list(self._server.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        super()._after_shutdown()

    # -- test controls -------------------------------------------------------------------------

    def fail(
        self,
        path_regex: str,
        status: int,
        times: int | None = 1,
        retry_after: float | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests whose path matches (``re.search``) with ``status``.

        ``times=None`` fails them forever. The body is a real ``Status``; for 403 the message
        is worded like the API server's RBAC denial, for 429 ``Retry-After`` is sent when given.
        """
        with self._lock:
            self._faults.append(_Fault(re.compile(path_regex), status, times, retry_after, message))

    def delay(self, path_regex: str, seconds: float, times: int | None = None) -> None:
        """Hold answers to matching paths for ``seconds`` (all of them unless ``times``)."""
        with self._lock:
            self._delays.append(_Delay(re.compile(path_regex), seconds, times))

    def clear_faults(self) -> None:
        """Forget every injected failure and delay."""
        with self._lock:
            self._faults.clear()
            self._delays.clear()

    def reset_log(self) -> None:
        """Empty :attr:`requests`."""
        with self._lock:
            self.requests.clear()

    def requests_to(self, path_regex: str = "", method: str | None = "GET") -> list[KubeRequest]:
        """Logged requests whose path matches ``path_regex`` (``re.search``)."""
        pattern = re.compile(path_regex)
        with self._lock:
            logged = list(self.requests)
        return [r for r in logged if pattern.search(r.path) and (method is None or r.method == method)]

    def request_count(self, path_regex: str = "", method: str | None = "GET") -> int:
        return len(self.requests_to(path_regex, method))

    def _record(self, record: KubeRequest) -> None:
        with self._lock:
            self.requests.append(record)

    # -- answering -----------------------------------------------------------------------------

    def respond(
        self, method: str, path: str, query: dict[str, str], body: bytes = b"", headers: Message | None = None
    ) -> Response:
        """Status, body, content type and extra headers for one request (faults apply to any method)."""
        route = parse_path(path)
        fault = self._take_fault(path)
        pause = self._take_delay(path)
        if pause:
            time.sleep(pause)
        try:
            if fault is not None:
                raise self._fault_error(fault, route, method, path, query)
            if method != "GET" and self.write_handler is not None:
                return self.write_handler(method, path, query, body, headers if headers is not None else Message())
            return self._dispatch(method, path, route, query)
        except ApiError as exc:
            headers: dict[str, str] = {}
            if exc.code == 429 and fault is not None and fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            return exc.code, status_body(exc.code, exc.reason, exc.message, exc.details), JSON, headers

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining != 0 and fault.pattern.search(path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None

    def _take_delay(self, path: str) -> float:
        with self._lock:
            for pause in self._delays:
                if pause.remaining != 0 and pause.pattern.search(path):
                    if pause.remaining is not None:
                        pause.remaining -= 1
                    return pause.seconds
        return 0.0

    def _fault_error(
        self, fault: _Fault, route: _Route | None, method: str, path: str, query: dict[str, str]
    ) -> ApiError:
        code, message = fault.status, fault.message
        details: Obj = {}
        if route is not None:
            details = {"kind": route.kind.plural}
            if route.name:
                details["name"] = route.name
            if route.group:
                details["group"] = route.group
        if code == 403:
            return ApiError(code, "Forbidden", message or self._forbidden_message(route, method, path, query), details)
        if code == 404:
            if message is None:
                message = (
                    f'{route.qualified} "{route.name}" not found'
                    if route and route.name
                    else "the server could not find the requested resource"
                )
            return ApiError(code, "NotFound", message, details)
        if code == 429:
            if fault.retry_after is not None:
                details["retryAfterSeconds"] = int(fault.retry_after)
            return ApiError(code, "TooManyRequests", message or "Too many requests, please try again later.", details)
        reasons = {
            400: ("BadRequest", "bad request"),
            401: ("Unauthorized", "Unauthorized"),
            409: ("Conflict", "the object has been modified; please apply your changes to the latest version"),
            410: ("Expired", "The provided continue parameter is too old to display a consistent list result."),
            500: ("InternalError", "Internal error occurred: injected fault"),
            503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
            504: ("Timeout", "the server was unable to return a response in the time allotted"),
        }
        reason, default = reasons.get(code, ("", f"injected failure {code}"))
        return ApiError(code, reason, message or default, details)

    def _forbidden_message(self, route: _Route | None, method: str, path: str, query: dict[str, str]) -> str:
        """Worded like the RBAC authorizer's denial."""
        if route is None:
            return f'forbidden: User "{self.user}" cannot {method.lower()} path "{path}"'
        verbs = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
        verb = verbs.get(method) or ("get" if route.name else ("watch" if query.get("watch") else "list"))
        subject = f'{route.qualified} "{route.name}"' if route.name else route.qualified
        scope = f'in the namespace "{route.namespace}"' if route.namespace else "at the cluster scope"
        return (
            f'{subject} is forbidden: User "{self.user}" cannot {verb} resource "{route.resource}" '
            f'in API group "{route.group}" {scope}'
        )

    def _dispatch(self, method: str, path: str, route: _Route | None, query: dict[str, str]) -> Response:
        if route is None:
            return self._non_resource(path)
        if method != "GET":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if route.subresource == "log" and route.kind.kind == "Pod" and route.name:
            return self._logs(route, query)
        if route.subresource is not None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if route.name is not None:
            return self._get(route)
        return self._list(route, query)

    def _non_resource(self, path: str) -> Response:
        if path in ("/healthz", "/readyz", "/livez"):
            return 200, b"ok", "text/plain; charset=utf-8", {}
        if path == "/version":
            version = {"major": "1", "minor": "31", "gitVersion": "v1.31.0", "platform": "linux/amd64"}
            return 200, _dumps(version), JSON, {}
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def _not_found(self, route: _Route, name: str) -> ApiError:
        details: Obj = {"name": name, "kind": route.kind.plural}
        if route.group:
            details["group"] = route.group
        return ApiError(404, "NotFound", f'{route.qualified} "{name}" not found', details)

    def _get(self, route: _Route) -> Response:
        assert route.name is not None
        entry = self.tables[route.kind.kind].by_key.get((route.namespace or "", route.name))
        if entry is None:
            raise self._not_found(route, route.name)
        obj = {"kind": route.kind.kind, "apiVersion": route.kind.group_version, **entry.obj}
        return 200, _dumps(obj), JSON, {}

    def _list(self, route: _Route, query: dict[str, str]) -> Response:
        if query.get("watch") in ("1", "true"):
            raise ApiError(400, "BadRequest", "watch is not supported by the fake API server")
        table = self.tables[route.kind.kind]
        label_selector = query.get("labelSelector", "")
        field_selector = query.get("fieldSelector", "")
        try:
            label_ok = label_matcher(label_selector)
        except SelectorError as exc:
            raise ApiError(
                400, "BadRequest", f'unable to parse requested label selector "{label_selector}": {exc}'
            ) from exc
        terms = _parse_field_selector(route, field_selector, label_selector, table)
        if route.namespace:
            terms.append(("metadata.namespace", True, route.namespace))
        bucket = self._candidates(table, terms)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError as exc:
            raise ApiError(400, "BadRequest", f"invalid limit: {query['limit']!r}") from exc
        resource_version = query.get("resourceVersion", "")
        if resource_version == "0" and self.rv0_ignores_limit:
            limit = 0
        start = 0
        token = query.get("continue", "")
        if token:
            if resource_version not in ("", "0"):
                raise ApiError(400, "BadRequest", "specifying resource version is not allowed when using continue")
            # Tokens stay valid across writes (etcd keeps old revisions for minutes); the rest of the
            # list is read at the current state, after the token's key.
            _token_rv, after = _decode_continue(token)
            start = bisect.bisect_right(bucket.keys, after)
        getters = [(table.fields[label], equal, value) for label, equal, value in terms]
        items: list[bytes] = []
        position = start
        entries = bucket.entries
        total = len(entries)
        while position < total and (not limit or len(items) < limit):
            entry = entries[position]
            position += 1
            obj = entry.obj
            if all((get(obj) == value) == equal for get, equal, value in getters) and label_ok(obj):
                items.append(entry.item)
        metadata: Obj = {"resourceVersion": self.resource_version}
        if position < total and limit:
            metadata["continue"] = _encode_continue(self.resource_version, entries[position - 1].key)
            if not label_selector and not field_selector:
                metadata["remainingItemCount"] = total - position
        head = _dumps(
            {"kind": f"{route.kind.kind}List", "apiVersion": route.kind.group_version, "metadata": metadata}
        )
        body = b"".join((head[:-1], b',"items":[', b",".join(items), b"]}"))
        return 200, body, JSON, {}

    def _candidates(self, table: _Table, terms: list[FieldTerm]) -> _Bucket:
        """The smallest sorted bucket that holds every match of the equality terms."""
        best = table.all
        for label, equal, value in terms:
            if not equal:
                continue
            if label == "metadata.name":
                bucket = self._by_name(table, value, terms)
            elif label in table.indexes:
                bucket = table.indexes[label].get(value) or _Bucket()
            else:
                continue
            if len(bucket.entries) < len(best.entries):
                best = bucket
        return best

    @staticmethod
    def _by_name(table: _Table, name: str, terms: list[FieldTerm]) -> _Bucket:
        bucket = _Bucket()
        namespaces = [value for label, equal, value in terms if label == "metadata.namespace" and equal]
        if namespaces or not table.kind.namespaced:
            entry = table.by_key.get((namespaces[0] if namespaces else "", name))
            if entry is not None:
                bucket.keys.append(entry.key)
                bucket.entries.append(entry)
            return bucket
        for entry in table.all.entries:
            if entry.key[1] == name:
                bucket.keys.append(entry.key)
                bucket.entries.append(entry)
        return bucket

    def _logs(self, route: _Route, query: dict[str, str]) -> Response:
        assert route.name is not None and route.namespace is not None
        entry = self.tables["Pod"].by_key.get((route.namespace, route.name))
        if entry is None:
            raise self._not_found(route, route.name)
        pod, name = entry.obj, route.name
        spec = pod.get("spec") or {}
        containers = [c.get("name", "") for c in spec.get("containers") or []]
        init_containers = [c.get("name", "") for c in spec.get("initContainers") or []]
        container = query.get("container", "")
        if not container:
            if len(containers) != 1:
                message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
                if init_containers:
                    message += f" or one of the init containers: [{' '.join(init_containers)}]"
                raise ApiError(400, "BadRequest", message)
            container = containers[0]
        if container not in containers and container not in init_containers:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
        previous = query.get("previous", "") in ("true", "1")
        text = self.store.log(route.namespace, name, container, previous)
        if text is None:
            if previous:
                raise ApiError(
                    400, "BadRequest", f'previous terminated container "{container}" in pod "{name}" not found'
                )
            waiting = _waiting_reason(pod, container)
            if waiting:
                raise ApiError(
                    400, "BadRequest", f'container "{container}" in pod "{name}" is waiting to start: {waiting}'
                )
            text = ""
        tail = query.get("tailLines")
        if tail:
            try:
                count = int(tail)
            except ValueError as exc:
                raise ApiError(400, "BadRequest", f"invalid tailLines: {tail!r}") from exc
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-count:]) if count > 0 else ""
        return 200, text.encode("utf-8"), "text/plain", {}


def _waiting_reason(pod: Obj, container: str) -> str:
    status = pod.get("status") or {}
    for entry in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if entry.get("name") == container:
            waiting = (entry.get("state") or {}).get("waiting")
            return str(waiting.get("reason") or "ContainerCreating") if isinstance(waiting, dict) else ""
    return "ContainerCreating" if status.get("phase") == "Pending" else ""


# -- client helpers -------------------------------------------------------------------------------


def kube_configuration(url: str) -> k8s_client.Configuration:
    """A client configuration for ``url``: no credentials, no TLS, no proxy."""
    configuration = k8s_client.Configuration()
    configuration.host = url
    configuration.verify_ssl = False
    configuration.proxy = None
    configuration.api_key = {}
    return configuration


def live_cluster(url: str, **options: Any) -> LiveCluster:
    """A :class:`LiveCluster` against ``url`` (options as LiveCluster takes them)."""
    return LiveCluster(kube_configuration(url), **options)


def write_kubeconfig(path: Path, server: str) -> Path:
    """A kubeconfig at ``path`` whose current context points at ``server`` with a bearer token."""
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: fake\n  cluster: {{server: '{server}'}}\n"
        "users:\n- name: fake\n  user: {token: test-token}\n"
        "contexts:\n- name: fake\n  context: {cluster: fake, user: fake}\n"
        "current-context: fake\n"
    )
    return path


def main(argv: list[str] | None = None) -> None:
    """Serve a snapshot (or generated objects) until killed; prints the URL first."""
    parser = argparse.ArgumentParser(prog="python -m tests.harness.fake_kube", description=main.__doc__)
    parser.add_argument("snapshot", nargs="?", help="snapshot file or folder")
    parser.add_argument("--factory", help="module:function returning a list of objects")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rv0-ignores-limit", action="store_true")
    args = parser.parse_args(argv)
    if bool(args.snapshot) == bool(args.factory):
        parser.error("give a snapshot path or --factory, not both")
    if args.factory:
        module_name, _, function_name = args.factory.partition(":")
        source: SnapshotStore | str = SnapshotStore(getattr(importlib.import_module(module_name), function_name)())
    else:
        source = args.snapshot
    server = FakeKubeServer(source, port=args.port, rv0_ignores_limit=args.rv0_ignores_limit)
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())

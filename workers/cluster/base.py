"""The interface every step uses to read a cluster, and the typed errors it raises.

Objects are plain JSON dicts exactly as the API server returns them (``metadata``, ``spec``,
``status``), never client model objects: that keeps large lists cheap to read page by page,
and makes the snapshot and live backends interchangeable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

Obj = dict[str, Any]


class ClusterError(Exception):
    """Base of every error a backend raises; ``str()`` is fit to show a user."""


class NotFound(ClusterError):
    """The object does not exist."""

    def __init__(self, kind: str, name: str, namespace: str | None = None) -> None:
        self.kind, self.name, self.namespace = kind, name, namespace
        where = f" in namespace {namespace}" if namespace else ""
        super().__init__(f"{kind.lower()} {name} not found{where}")


class Forbidden(ClusterError):
    """The credentials lack a permission; names who was refused and the verb and resource it needs.

    ``who`` is the diagnostic role for reads; a remediation names the identity it ran as.
    """

    def __init__(self, verb: str, resource: str, namespace: str | None = None, message: str = "",
                 who: str = "the diagnostic role") -> None:
        self.verb, self.resource, self.namespace, self.who = verb, resource, namespace, who
        scope = f" in namespace {namespace}" if namespace else " cluster-wide"
        text = f"forbidden: {who} cannot {verb} {resource}{scope}"
        if message:
            text += f" (API server said: {message})"
        super().__init__(text)


class Unavailable(ClusterError):
    """The API server could not be reached or kept failing after retries."""


class Hung(Unavailable):
    """The API server accepted a request and did not answer it in time (or the job's budget ran out)."""


class Cluster(Protocol):
    """Read-only access to one cluster."""

    name: str

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        """One object by ``Kind`` name (``Pod``); raises :class:`NotFound`."""
        ...

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
        """Objects of ``kind``, across namespaces when ``namespace`` is None, fetched page by page.

        ``allow_stale`` lets the live backend read from the API server's watch cache
        (``resourceVersion=0``) where slightly old data is acceptable.
        """
        ...

    def logs(
        self, namespace: str, pod: str, container: str, *, previous: bool = False, tail_lines: int = 20
    ) -> str:
        """The last lines of a container's log (``previous`` for the last terminated instance)."""
        ...

    def request_count(self) -> int:
        """How many API requests this backend has made (0 for snapshots)."""
        ...

    def version(self) -> Obj:
        """The API server's ``/version`` (``gitVersion``, ``major``, ``minor``); ClusterError if unknown."""
        ...

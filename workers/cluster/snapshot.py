"""The snapshot backend: answers reads from files instead of an API server.

A snapshot is what ``kubectl get nodes,pods,events,... -A -o yaml`` prints — a ``v1/List`` of
ordinary API objects, in YAML or JSON — or a folder of such files. Container logs, which
``kubectl get`` cannot capture, may sit beside them as
``logs/<namespace>/<pod>/<container>.log`` (``<container>.previous.log`` for the last
terminated instance). The API server's ``/version`` (what ``kubectl version -o json`` prints as
``serverVersion``, or ``/version`` itself) may sit beside them as ``version.json``/``version.yaml``.
The fake API server in the tests serves the same store over HTTP.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from clusterdoc import kinds
from clusterdoc.workers.cluster.base import ClusterError, NotFound, Obj
from clusterdoc.workers.cluster.selectors import field_matcher, label_matcher

_SUFFIXES = (".yaml", ".yml", ".json")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
VERSION_FILES = ("version.json", "version.yaml", "version.yml")


class SnapshotError(ClusterError):
    """A snapshot that cannot be read; the message names the file and the problem."""


def _load_documents(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SnapshotError(f"{path}: not a UTF-8 text file: {exc}") from exc
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        if path.suffix == ".json":
            return [json.loads(text)]
        return [doc for doc in yaml.load_all(text, Loader=_LOADER) if doc is not None]
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise SnapshotError(f"{path}: not valid YAML/JSON: {exc}") from exc


def _flatten(document: Any, source: Path) -> Iterator[Obj]:
    if not isinstance(document, dict):
        raise SnapshotError(f"{source}: expected a Kubernetes object or List, got {type(document).__name__}")
    kind = document.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise SnapshotError(f"{source}: kind must be a string, got {kind!r}")
    if (kind or "").endswith("List") and "items" in document:
        list_kind = str(kind)[: -len("List")]
        items = document.get("items") or []
        if not isinstance(items, list):
            raise SnapshotError(f"{source}: a {kind}'s items must be a list, got {type(items).__name__}")
        for item in items:
            if isinstance(item, dict) and "kind" not in item and list_kind:
                item = {**item, "kind": list_kind}
            yield from _flatten(item, source)
        return
    if not kind or not isinstance(document.get("metadata"), dict) or not document["metadata"].get("name"):
        raise SnapshotError(f"{source}: object without kind/metadata.name")
    yield document


class SnapshotStore:
    """Objects of a snapshot indexed by kind, plus the container logs found beside them."""

    def __init__(self, objects: list[Obj], logs: dict[tuple[str, str, str, bool], str] | None = None,
                 version: Obj | None = None) -> None:
        self.version = version
        self.by_kind: dict[str, list[Obj]] = defaultdict(list)
        self._index: dict[tuple[str, str | None, str], Obj] = {}
        for obj in objects:
            kind = obj["kind"]
            known = kinds.lookup(kind)
            namespaced = known.namespaced if known else bool(obj["metadata"].get("namespace"))
            namespace = obj["metadata"].get("namespace") if namespaced else None
            self.by_kind[kind].append(obj)
            self._index[(kind, namespace, obj["metadata"]["name"])] = obj
        self.logs = logs or {}

    @classmethod
    def load(cls, path: str | Path) -> SnapshotStore:
        """Read a snapshot file or folder; raises :class:`SnapshotError` naming the bad file."""
        root = Path(path)
        if not root.exists():
            raise SnapshotError(f"{root}: snapshot not found")
        files = [root] if root.is_file() else sorted(
            p for p in root.rglob("*") if p.suffix in _SUFFIXES and "logs" not in p.relative_to(root).parts
            and p.relative_to(root).as_posix() not in VERSION_FILES
        )
        version: Obj | None = None
        for name in VERSION_FILES if root.is_dir() else ():
            if (root / name).is_file():
                documents = _load_documents(root / name)
                found = documents[0] if documents and isinstance(documents[0], dict) else {}
                version = found.get("serverVersion") or found
                break
        objects: list[Obj] = []
        for file in files:
            for document in _load_documents(file):
                objects.extend(_flatten(document, file))
        logs: dict[tuple[str, str, str, bool], str] = {}
        log_root = root / "logs" if root.is_dir() else None
        if log_root and log_root.is_dir():
            for log_file in log_root.glob("*/*/*.log"):
                namespace, pod = log_file.parent.parent.name, log_file.parent.name
                container, previous = log_file.name[: -len(".log")], False
                if container.endswith(".previous"):
                    container, previous = container[: -len(".previous")], True
                logs[(namespace, pod, container, previous)] = log_file.read_text(encoding="utf-8")
        return cls(objects, logs, version)

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        known = kinds.by_kind(kind)
        found = self._index.get((known.kind, namespace if known.namespaced else None, name))
        if found is None:
            raise NotFound(known.kind, name, namespace if known.namespaced else None)
        return found

    def select(
        self,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        """All objects of ``kind`` matching the namespace and selectors, in a stable order."""
        known = kinds.by_kind(kind)
        label_ok, field_ok = label_matcher(label_selector), field_matcher(field_selector)
        return [
            obj
            for obj in self.by_kind.get(known.kind, [])
            if (not namespace or not known.namespaced or obj["metadata"].get("namespace") == namespace)
            and label_ok(obj)
            and field_ok(obj)
        ]

    def log(self, namespace: str, pod: str, container: str, previous: bool) -> str | None:
        return self.logs.get((namespace, pod, container, previous))

    def taken_at(self) -> datetime | None:
        """When the snapshot was taken, as well as the objects tell: their newest timestamp.

        Ages ("Pending for 28m") are computed against this, not the wall clock, so an old
        snapshot reads as it did when it was taken.
        """
        newest: datetime | None = None
        for objects in self.by_kind.values():
            for obj in objects:
                for value in _timestamps(obj):
                    try:
                        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
                    except ValueError:
                        continue
                    if stamp.tzinfo is not None and (newest is None or stamp > newest):
                        newest = stamp
        return newest


_TIME_KEYS = frozenset({
    "creationTimestamp", "lastTimestamp", "firstTimestamp", "eventTime", "lastObservedTime", "lastHeartbeatTime",
    "lastTransitionTime", "lastProbeTime", "lastUpdateTime", "renewTime", "acquireTime", "startedAt", "finishedAt",
    "startTime",
})


def _timestamps(value: Any) -> Iterator[str]:
    """Every string under a timestamp-named key, anywhere in ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _TIME_KEYS and isinstance(item, str):
                yield item
            elif isinstance(item, dict | list):
                yield from _timestamps(item)
    elif isinstance(value, list):
        for item in value:
            yield from _timestamps(item)


class SnapshotCluster:
    """:class:`clusterdoc.workers.cluster.base.Cluster` over a :class:`SnapshotStore`."""

    def __init__(self, store: SnapshotStore, name: str = "snapshot") -> None:
        self.store = store
        self.name = name

    @classmethod
    def from_path(cls, path: str | Path, name: str = "snapshot") -> SnapshotCluster:
        return cls(SnapshotStore.load(path), name)

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        return self.store.get(kind, name, namespace)

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
        yield from self.store.select(kind, namespace, label_selector, field_selector)

    def logs(
        self, namespace: str, pod: str, container: str, *, previous: bool = False, tail_lines: int = 20
    ) -> str:
        self.store.get("Pod", pod, namespace)
        text = self.store.log(namespace, pod, container, previous)
        if text is None:
            return ""
        return "\n".join(text.splitlines()[-tail_lines:])

    def request_count(self) -> int:
        return 0

    def version(self) -> Obj:
        if not self.store.version:
            raise ClusterError("the snapshot has no version.json (the API server's /version)")
        return self.store.version

"""Writes for the fake Kubernetes API server: PATCH, DELETE, Eviction, dry runs, access reviews.

What the remediation tests need from an API server, at the protocol level:

- ``PATCH`` with ``application/merge-patch+json`` (RFC 7386) and
  ``application/strategic-merge-patch+json`` (maps merge; lists such as ``containers`` merge
  by their merge key; ``$patch: delete``/``replace``); other patch types answer 415.
- ``DELETE`` honouring ``DeleteOptions.preconditions`` (``uid``, ``resourceVersion``: 409) and, for
  pods, graceful deletion: ``deletionTimestamp``, ``gracePeriodSeconds`` (0 = force delete), a
  second DELETE of a terminating pod changing nothing, and a kubelet that confirms only on a Ready
  node (see :meth:`MutationEngine._delete_pod`).
- ``POST .../pods/{name}/eviction`` (policy/v1): PodDisruptionBudgets of the namespace whose
  selector matches the pod are checked; one with ``status.disruptionsAllowed`` < 1 answers 429
  with the ``DisruptionBudget`` cause the real server sends; otherwise the budget's allowance is
  decremented and the pod deleted.
- ``dryRun=All`` (query, or ``deleteOptions.dryRun`` on evictions): everything is checked,
  nothing stored. A DELETE with a body takes ``dryRun`` from the body only (``DeleteOptions.dryRun``),
  as kube-apiserver does: the query's ``dryRun`` is then ignored and the delete is real.
- ``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews``, answered from deny rules
  the test sets; the same rules make real writes by that (impersonated) user answer 403.
- ``resourceVersion`` bumps on every write; ``metadata.generation`` bumps when a workload's
  ``spec`` changes.
- :attr:`MutationEngine.log`: every write request with its outcome, dry-run flag, content
  type and impersonation headers, so tests count real mutations exactly.

Injected write refusals (:meth:`MutationEngine.reject`) let tests model an admission webhook
saying no, or the API failing halfway through a drain (``dry_run=False``: real calls only).
"""

from __future__ import annotations

import bisect
import copy
import json
import re
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from tests.harness import fake_kube as fk

Obj = dict[str, Any]
Response = tuple[int, bytes, str, dict[str, str]]

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"

# Merge keys of the lists a strategic merge patch merges instead of replacing (k8s.io/api core/v1 tags).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "conditions": "type",
}
GENERATION_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
                              "PodDisruptionBudget"})
VERBS = {"PATCH": "patch", "DELETE": "delete", "POST": "create", "PUT": "update"}


@dataclass
class Mutation:
    """One write request the fake received."""

    method: str
    kind: str
    namespace: str | None
    name: str
    subresource: str | None
    dry_run: bool
    content_type: str
    impersonate_user: str | None
    impersonate_groups: tuple[str, ...]
    status: int = 0
    body: Obj = field(default_factory=dict)
    time: float = field(default_factory=time.monotonic)

    @property
    def applied(self) -> bool:
        """A real (not dry-run) write that succeeded."""
        return not self.dry_run and 200 <= self.status < 300


@dataclass
class _Rejection:
    method: str | None
    pattern: re.Pattern[str]
    status: int
    message: str
    remaining: int | None
    dry_run: bool | None


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 (null deletes, objects merge, everything else replaces)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """The subset of Kubernetes' strategic merge patch that built-in objects use most."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return _strip_directives(copy.deepcopy(patch))
    if patch.get("$patch") == "replace":
        return _strip_directives(copy.deepcopy(patch))
    result = copy.deepcopy(target)
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = strategic_merge_patch(result.get(key), value)
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, MERGE_KEYS[key])
        else:
            result[key] = _strip_directives(copy.deepcopy(value))
    return result


def _merge_list(current: list[Any], patch: list[Any], key: str) -> list[Any]:
    merged = copy.deepcopy(current)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            merged.append(item)
            continue
        at = next((i for i, old in enumerate(merged) if isinstance(old, dict) and old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if at is not None:
                merged.pop(at)
        elif at is None:
            merged.append(_strip_directives(copy.deepcopy(item)))
        else:
            merged[at] = strategic_merge_patch(merged[at], item)
    return merged


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A ``metav1.LabelSelector`` (matchLabels, matchExpressions) against labels."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for term in selector.get("matchExpressions") or []:
        key, op, values = term.get("key"), term.get("operator"), term.get("values") or []
        present = key in labels
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and present and labels[key] in values):
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


class MutationEngine:
    """Applies writes to a :class:`FakeKubeServer`'s tables, under one lock."""

    def __init__(self, server: fk.FakeKubeServer) -> None:
        self.server = server
        self.lock = threading.RLock()
        self.log: list[Mutation] = []
        self.denied: list[tuple[str | None, str, str, str | None]] = []  # user, verb, resource, namespace
        self._rejections: list[_Rejection] = []

    # -- test controls ------------------------------------------------------------------------

    def reject(
        self, path_regex: str, status: int = 422, message: str = "", *, method: str | None = None,
        times: int | None = 1, dry_run: bool | None = None,
    ) -> None:
        """Refuse matching writes with ``status`` (``dry_run``: only dry runs / only real calls / both)."""
        with self.lock:
            self._rejections.append(
                _Rejection(method, re.compile(path_regex), status, message, times, dry_run)
            )

    def deny(self, verb: str, resource: str, *, user: str | None = None, namespace: str | None = None) -> None:
        """RBAC says no to ``verb`` on ``resource`` (``pods/eviction`` style) for ``user`` (None: everyone)."""
        with self.lock:
            self.denied.append((user, verb, resource, namespace))

    def applied(self, kind: str | None = None, name: str | None = None) -> list[Mutation]:
        """Real writes that succeeded, optionally for one kind/name."""
        with self.lock:
            return [
                m for m in self.log
                if m.applied and (kind is None or m.kind == kind) and (name is None or m.name == name)
            ]

    def dry_runs(self) -> list[Mutation]:
        with self.lock:
            return [m for m in self.log if m.dry_run]

    # -- answering ----------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: bytes, headers: Message) -> Response:
        """Answer one write request (the server calls this for every non-GET method)."""
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
        user = headers.get("Impersonate-User")
        groups = tuple(headers.get_all("Impersonate-Group") or ())
        try:
            payload: Any = json.loads(body) if body else {}
        except ValueError:
            return _error(400, "BadRequest", "the request body is not valid JSON")
        options: Obj = payload if isinstance(payload, dict) else {}
        if path == SSAR_PATH and method == "POST":
            return self._access_review(options, user)
        route = fk.parse_path(path)
        if route is None or route.name is None:
            return _error(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if method == "DELETE" and body:
            # kube-apiserver decodes a DELETE's options from its body when there is one, and then
            # ignores the query string (dryRun included), as endpoints/handlers/delete.go does
            dry_run = "All" in (options.get("dryRun") or [])
        else:
            dry_run = query.get("dryRun") == "All" or "All" in ((options.get("deleteOptions") or {}).get("dryRun")
                                                                or [])
        if query.get("dryRun") not in (None, "All"):
            return _error(400, "BadRequest", f"unsupported dryRun value {query['dryRun']!r}: only All")
        record = Mutation(method, route.kind.kind, route.namespace, route.name, route.subresource, dry_run,
                          content_type, user, groups, body=options)
        with self.lock:
            self.log.append(record)
            response = self._write(method, path, route, payload, content_type, dry_run, user)
            record.status = response[0]
        return response

    def _write(
        self, method: str, path: str, route: fk._Route, payload: Any, content_type: str, dry_run: bool,
        user: str | None,
    ) -> Response:
        for rejection in self._rejections:
            if (
                rejection.remaining != 0
                and (rejection.method is None or rejection.method == method)
                and (rejection.dry_run is None or rejection.dry_run == dry_run)
                and rejection.pattern.search(path)
            ):
                if rejection.remaining is not None:
                    rejection.remaining -= 1
                reason = {403: "Forbidden", 409: "Conflict", 422: "Invalid", 500: "InternalError"}.get(
                    rejection.status, ""
                )
                return _error(rejection.status, reason, rejection.message or f"injected refusal {rejection.status}")
        verb = VERBS.get(method, method.lower())
        resource = route.resource
        if self._is_denied(user, verb, resource, route.namespace):
            who = user or self.server.user
            return _error(403, "Forbidden", f'{route.qualified} "{route.name}" is forbidden: User "{who}" cannot '
                                            f'{verb} resource "{resource}" in API group "{route.group}"')
        table = self.server.tables[route.kind.kind]
        key = (route.namespace or "", route.name or "")
        entry = table.by_key.get(key)
        if entry is None:
            return _error(404, "NotFound", f'{route.qualified} "{route.name}" not found')
        if method == "PATCH" and route.subresource is None:
            return self._patch(table, entry, payload, content_type, dry_run)
        if method == "DELETE" and route.subresource is None:
            return self._delete(table, entry, payload if isinstance(payload, dict) else {}, dry_run)
        if method == "POST" and route.subresource == "eviction" and route.kind.kind == "Pod":
            return self._evict(table, entry, payload if isinstance(payload, dict) else {}, dry_run)
        return _error(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _is_denied(self, user: str | None, verb: str, resource: str, namespace: str | None) -> bool:
        return any(
            (rule_user is None or rule_user == user)
            and rule_verb in (verb, "*")
            and rule_resource == resource
            and (rule_ns is None or rule_ns == namespace)
            for rule_user, rule_verb, rule_resource, rule_ns in self.denied
        )

    def _access_review(self, payload: Obj, user: str | None) -> Response:
        attributes = (payload.get("spec") or {}).get("resourceAttributes") or {}
        resource = attributes.get("resource", "")
        if attributes.get("subresource"):
            resource += "/" + attributes["subresource"]
        denied = self._is_denied(user, attributes.get("verb", ""), resource, attributes.get("namespace"))
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": payload.get("spec") or {},
            "status": {"allowed": not denied, **({"reason": "denied by test RBAC rule"} if denied else {})},
        }
        return 201, fk._dumps(review), fk.JSON, {}

    # -- the writes ---------------------------------------------------------------------------

    def _next_version(self) -> str:
        self.server.resource_version = str(int(self.server.resource_version) + 1)
        return self.server.resource_version

    def _patch(self, table: fk._Table, entry: fk._Entry, payload: Any, content_type: str, dry_run: bool) -> Response:
        if content_type == MERGE_PATCH:
            updated = json_merge_patch(entry.obj, payload)
        elif content_type == STRATEGIC_MERGE_PATCH:
            updated = strategic_merge_patch(entry.obj, payload)
        else:
            return _error(415, "UnsupportedMediaType", f"the body of the request was in an unknown format: "
                                                       f"accepted media types: {MERGE_PATCH}, {STRATEGIC_MERGE_PATCH}")
        replicas = (updated.get("spec") or {}).get("replicas")
        if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
            return _error(422, "Invalid", f'{table.kind.kind} "{entry.key[1]}" is invalid: spec.replicas: '
                                          f"Invalid value: {replicas}: must be greater than or equal to 0")
        metadata = updated.setdefault("metadata", {})
        for immutable in ("name", "namespace", "uid"):
            if (entry.obj.get("metadata") or {}).get(immutable) != metadata.get(immutable):
                return _error(422, "Invalid", f"metadata.{immutable}: field is immutable")
        if table.kind.kind in GENERATION_KINDS and updated.get("spec") != entry.obj.get("spec"):
            metadata["generation"] = int(metadata.get("generation") or 1) + 1
        if not dry_run:
            metadata["resourceVersion"] = self._next_version()
            _replace(table, entry, updated)
        return 200, fk._dumps({"kind": table.kind.kind, "apiVersion": table.kind.group_version, **updated}), fk.JSON, {}

    def _preconditions(self, table: fk._Table, entry: fk._Entry, options: Obj) -> Response | None:
        wanted = options.get("preconditions") or {}
        metadata = entry.obj.get("metadata") or {}
        # worded as kube-apiserver 1.37 words it (checked against the real one in test_real_remediations)
        for name, field_name, why in (("uid", "UID", "deleted and then recreated"),
                                      ("resourceVersion", "ResourceVersion", "modified")):
            if wanted.get(name) and wanted[name] != metadata.get(name):
                return _error(409, "Conflict", f'Operation cannot be fulfilled on {table.kind.kind} "{entry.key[1]}": '
                                               f"the {field_name} in the precondition ({wanted[name]}) does not match "
                                               f"the {field_name} in record ({metadata.get(name)}). The object might "
                                               f"have been {why}")
        return None

    def _delete(self, table: fk._Table, entry: fk._Entry, payload: Obj, dry_run: bool) -> Response:
        conflict = self._preconditions(table, entry, payload)
        if conflict:
            return conflict
        grace = payload.get("gracePeriodSeconds")
        if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool)):
            return _error(400, "BadRequest", f"gracePeriodSeconds must be an integer, not {grace!r}")
        if table.kind.kind == "Pod":
            return self._delete_pod(table, entry, grace, dry_run)
        if not dry_run:
            self._next_version()
            _remove(table, entry)
        obj = {"kind": table.kind.kind, "apiVersion": table.kind.group_version, **entry.obj}
        return 200, fk._dumps(obj), fk.JSON, {}

    def _delete_pod(self, table: fk._Table, entry: fk._Entry, grace: int | None, dry_run: bool) -> Response:
        """Graceful pod deletion as kube-apiserver does it (pkg/registry/core/pod strategy + generic store).

        - A pod not yet terminating gets ``deletionTimestamp`` = now + grace and
          ``deletionGracePeriodSeconds`` (grace: ``gracePeriodSeconds``, else the pod's
          ``terminationGracePeriodSeconds``, else 30). An unscheduled or finished pod, or grace 0
          (``kubectl delete --force --grace-period=0``), is removed at once.
        - A pod already terminating: a DELETE without a shorter grace period changes nothing (200,
          the object as it is); a shorter one moves ``deletionTimestamp`` nearer; 0 removes it now
          without waiting for its kubelet (a force delete).
        - Then the pod's kubelet: on a node that is Ready, it stops the containers and confirms
          at once (this fake skips the wait), so the pod disappears; on a NotReady node, or with
          ``metadata.finalizers``, the pod stays, Terminating, until forced.
        """
        pod = copy.deepcopy(entry.obj)
        metadata, spec = pod.setdefault("metadata", {}), pod.get("spec") or {}
        phase = (pod.get("status") or {}).get("phase")
        current = metadata.get("deletionGracePeriodSeconds")
        changed = True
        if metadata.get("deletionTimestamp"):
            if grace is None or (current is not None and grace >= int(current)):
                changed = False
            else:
                period = max(grace, 0)
        else:
            period = max(grace if grace is not None else int(spec.get("terminationGracePeriodSeconds", 30)), 0)
            if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
                period = 0
        body = {"kind": "Pod", "apiVersion": "v1", **(pod if changed else entry.obj)}
        if not changed:
            return 200, fk._dumps(body), fk.JSON, {}
        when = time.time() + period
        metadata["deletionTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
        metadata["deletionGracePeriodSeconds"] = period
        remove = not metadata.get("finalizers") and (period == 0 or self._node_ready(spec.get("nodeName")))
        body = {"kind": "Pod", "apiVersion": "v1", **pod}
        if not dry_run:
            metadata["resourceVersion"] = self._next_version()
            if remove:
                _remove(table, entry)
            else:
                _replace(table, entry, pod)
            body = {"kind": "Pod", "apiVersion": "v1", **pod}
        return 200, fk._dumps(body), fk.JSON, {}

    def _node_ready(self, name: str | None) -> bool:
        """Whether the node's kubelet is there to confirm a graceful deletion (Ready=True)."""
        node = self.server.tables["Node"].by_key.get(("", name or ""))
        if node is None:
            return False
        conditions = (node.obj.get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    def _evict(self, table: fk._Table, entry: fk._Entry, payload: Obj, dry_run: bool) -> Response:
        conflict = self._preconditions(table, entry, payload.get("deleteOptions") or {})
        if conflict:
            return conflict
        pod = entry.obj
        metadata = pod.get("metadata") or {}
        budgets_table = self.server.tables["PodDisruptionBudget"]
        matching = [
            budget for budget in budgets_table.all.entries
            if budget.key[0] == metadata.get("namespace")
            and selector_matches((budget.obj.get("spec") or {}).get("selector"), metadata.get("labels") or {})
        ]
        if len(matching) > 1:
            return _error(500, "InternalError", "This pod has more than one PodDisruptionBudget, which the eviction "
                                                "subresource does not support.")
        for budget in matching:
            status = budget.obj.get("status") or {}
            if int(status.get("disruptionsAllowed") or 0) < 1:
                spec = budget.obj.get("spec") or {}
                needs = status.get("desiredHealthy", spec.get("minAvailable", 0))
                cause = {
                    "reason": "DisruptionBudget",
                    "message": f"The disruption budget {budget.key[1]} needs {needs} healthy pods and has "
                               f"{status.get('currentHealthy', 0)} currently",
                }
                return _error(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption "
                                                      "budget.", {"causes": [cause]})
        if not dry_run:
            for budget in matching:
                updated = copy.deepcopy(budget.obj)
                status = updated.setdefault("status", {})
                status["disruptionsAllowed"] = int(status.get("disruptionsAllowed") or 0) - 1
                updated["metadata"]["resourceVersion"] = self._next_version()
                _replace(budgets_table, budget, updated)
            self._next_version()
            _remove(table, entry)
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
        return 201, fk._dumps(body), fk.JSON, {}


def _error(code: int, reason: str, message: str, details: Obj | None = None) -> Response:
    return code, fk.status_body(code, reason, message, details), fk.JSON, {}


def _index_values(table: fk._Table, obj: Obj) -> dict[str, str]:
    return {label: table.fields[label](obj) for label in table.indexes}


def _bucket_remove(bucket: fk._Bucket, key: fk.Key) -> None:
    at = bisect.bisect_left(bucket.keys, key)
    if at < len(bucket.keys) and bucket.keys[at] == key:
        bucket.keys.pop(at)
        bucket.entries.pop(at)


def _remove(table: fk._Table, entry: fk._Entry) -> None:
    table.by_key.pop(entry.key, None)
    _bucket_remove(table.all, entry.key)
    for label, value in _index_values(table, entry.obj).items():
        bucket = table.indexes[label].get(value)
        if bucket is not None:
            _bucket_remove(bucket, entry.key)


def _replace(table: fk._Table, entry: fk._Entry, obj: Obj) -> None:
    _remove(table, entry)
    fresh = fk._Entry(entry.key, obj)
    table.by_key[fresh.key] = fresh
    table.all.add(fresh)
    for label, value in _index_values(table, obj).items():
        table.indexes[label].setdefault(value, fk._Bucket()).add(fresh)


def install(server: fk.FakeKubeServer) -> MutationEngine:
    """Make ``server`` accept writes through a new engine (its ``write_handler``); returns the engine."""
    engine = MutationEngine(server)
    server.write_handler = engine.handle
    return engine

"""The mutating cluster client remediations use: GET, PATCH, DELETE, Eviction, access reviews.

Built on the official ``kubernetes`` client's ``ApiClient`` (configuration, TLS, auth, pool),
reading raw JSON like :mod:`clusterdoc.workers.cluster.live`. Every write takes ``dry_run``: the request
then carries ``dryRun=All`` so the API server runs validation and admission without persisting
anything. Writes are never retried (a second DELETE or eviction is not harmless); reads retry
429/5xx a few times. With ``impersonate_user`` set, every request carries ``Impersonate-User``
and one ``Impersonate-Group`` header per group, so the cluster's RBAC judges the approver.
"""

from __future__ import annotations

import builtins
import json
import logging
import time
from typing import Any

import urllib3
from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException

from clusterdoc import kinds
from clusterdoc.workers.cluster.base import ClusterError, Forbidden, NotFound, Obj, Unavailable
from clusterdoc.workers.cluster.live import list_query, status_message
from clusterdoc.workers.remediation.errors import Conflict, DisruptionBlocked, Invalid, Refused

log = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
_READ_RETRY = frozenset({429, 500, 502, 503, 504})


class RemediationClient:
    """Writes to one cluster (as the worker's service account, or impersonating someone)."""

    def __init__(
        self,
        configuration: k8s_client.Configuration,
        *,
        timeout: float = 15.0,
        read_attempts: int = 3,
        backoff: float = 0.2,
        impersonate_user: str | None = None,
        impersonate_groups: tuple[str, ...] = (),
    ) -> None:
        configuration.retries = 1
        self.configuration = configuration
        self.api = k8s_client.ApiClient(configuration)
        self.timeout = timeout
        self.read_attempts = read_attempts
        self.backoff = backoff
        self.impersonate_user = impersonate_user
        self.impersonate_groups = impersonate_groups

    def as_identity(self, user: str, groups: tuple[str, ...] = ()) -> RemediationClient:
        """A client sharing this configuration that impersonates ``user`` and ``groups``."""
        return RemediationClient(
            self.configuration,
            timeout=self.timeout,
            read_attempts=self.read_attempts,
            backoff=self.backoff,
            impersonate_user=user,
            impersonate_groups=groups,
        )

    # -- transport -----------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> tuple[int, bytes]:
        """One HTTP exchange; (0, b"") with a logged reason when the server cannot be reached."""
        header_params = {"Accept": "application/json"}
        if body is not None:
            header_params["Content-Type"] = content_type
        _method, url, headers, _body, post = self.api.param_serialize(
            method=method,
            resource_path=path,
            query_params=query or [],
            header_params=header_params,
            auth_settings=["BearerToken"],
        )
        merged = urllib3.HTTPHeaderDict(headers)
        if self.impersonate_user:
            merged["Impersonate-User"] = self.impersonate_user
            for group in self.impersonate_groups:
                merged.add("Impersonate-Group", group)
        try:
            response = self.api.call_api(method, url, merged, body, post, _request_timeout=self.timeout)
            return response.status, response.read()
        except (urllib3.exceptions.HTTPError, OSError, ApiException) as exc:
            raise Unavailable(f"cannot reach the API server at {self.configuration.host}: {exc}") from exc

    def _raise_for(
        self, status: int, data: bytes, *, verb: str, resource: str, name: str, namespace: str | None
    ) -> None:
        if 200 <= status < 300:
            return
        status_body = _status_body(data)
        message = str(status_body.get("message") or data[:200].decode("utf-8", "replace"))[:400]
        if status == 404:
            raise NotFound(_kind_name(resource), name, namespace)
        if status == 403:
            who = self.impersonate_user or "the worker's own identity"
            raise Forbidden(verb, resource, namespace, message, who=who)
        if status == 409:
            raise Conflict(f"conflict on {verb} {resource} {name}: {message}")
        if status in (400, 422):
            raise Invalid(f"{verb} {resource} {name} rejected as invalid: {message}")
        if status == 401:
            raise ClusterError(f"the API server rejected the credentials (401): {message}")
        raise Refused(status, message, status_body.get("details"))

    def _write(
        self,
        method: str,
        path: str,
        *,
        verb: str,
        resource: str,
        name: str,
        namespace: str | None,
        dry_run: bool,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Obj:
        query: list[tuple[str, Any]] = [("dryRun", "All")] if dry_run else []
        status, data = self._call(method, path, query=query, body=body, content_type=content_type)
        log.info(
            "remediation %s %s %s/%s dry_run=%s -> %s", verb, resource, namespace or "-", name, dry_run, status
        )
        if status == 429 and resource == "pods/eviction":
            raise DisruptionBlocked(name, namespace or "", status_message(data), _budget_name(data))
        self._raise_for(status, data, verb=verb, resource=resource, name=name, namespace=namespace)
        result: Obj = json.loads(data) if data else {}
        return result

    # -- reads ---------------------------------------------------------------------------

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        """The current object (never cached: preconditions need the latest version)."""
        known = kinds.by_kind(kind)
        namespace = namespace if known.namespaced else None
        return self._read(known.object_path(name, namespace), [], known.plural, name, namespace, known.kind)

    def list(
        self, kind: str, namespace: str | None = None, *, label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        """All objects matching (paged)."""
        known = kinds.by_kind(kind)
        namespace = namespace if known.namespaced else None
        items: list[Obj] = []
        token: str | None = None
        while True:
            query = list_query(500, label_selector, field_selector, token)
            page = self._read(known.collection_path(namespace), query, known.plural, "", namespace, known.kind)
            for item in page.get("items") or []:
                item.setdefault("kind", known.kind)
                items.append(item)
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    def _read(
        self, path: str, query: builtins.list[tuple[str, Any]], resource: str, name: str, namespace: str | None,
        kind: str,
    ) -> Obj:
        status, data = 0, b""
        for attempt in range(1, self.read_attempts + 1):
            status, data = self._call("GET", path, query=query)
            if status not in _READ_RETRY or attempt == self.read_attempts:
                break
            time.sleep(self.backoff * 2 ** (attempt - 1))
        if status in _READ_RETRY:
            raise Unavailable(f"API server answered {status} for get {resource}: {status_message(data)}")
        self._raise_for(status, data, verb="get" if name else "list", resource=resource, name=name,
                        namespace=namespace)
        obj: Obj = json.loads(data)
        if name:
            obj.setdefault("kind", kind)
        return obj

    # -- writes --------------------------------------------------------------------------

    def patch(
        self, kind: str, name: str, namespace: str | None, body: Obj, *, strategic: bool = False,
        dry_run: bool = False,
    ) -> Obj:
        """PATCH with a JSON merge patch (default) or a strategic merge patch."""
        known = kinds.by_kind(kind)
        namespace = namespace if known.namespaced else None
        return self._write(
            "PATCH", known.object_path(name, namespace), verb="patch", resource=known.plural, name=name,
            namespace=namespace, dry_run=dry_run, body=body,
            content_type=STRATEGIC_MERGE_PATCH if strategic else MERGE_PATCH,
        )

    def delete(
        self, kind: str, name: str, namespace: str | None, *, uid: str | None = None, dry_run: bool = False,
        grace_period_seconds: int | None = None,
    ) -> Obj:
        """DELETE, with ``preconditions.uid`` so a recreated object of the same name is never hit.

        ``grace_period_seconds=0`` on a pod is a force delete (``kubectl delete --force
        --grace-period=0``): the API server removes it without waiting for its kubelet.
        """
        known = kinds.by_kind(kind)
        namespace = namespace if known.namespaced else None
        body: Obj = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if uid:
            body["preconditions"] = {"uid": uid}
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        if dry_run:
            # kube-apiserver reads a DELETE's options from its body when it has one and then ignores
            # the query string: without this, the "dry run" would delete for real
            body["dryRun"] = ["All"]
        return self._write(
            "DELETE", known.object_path(name, namespace), verb="delete", resource=known.plural, name=name,
            namespace=namespace, dry_run=dry_run, body=body,
        )

    def evict(self, name: str, namespace: str, *, uid: str | None = None, dry_run: bool = False) -> Obj:
        """POST an ``Eviction`` (policy/v1): the API server enforces PodDisruptionBudgets (429)."""
        body: Obj = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": namespace},
        }
        if uid:
            body["deleteOptions"] = {"preconditions": {"uid": uid}}
        if dry_run:
            body.setdefault("deleteOptions", {})["dryRun"] = ["All"]
        path = kinds.by_kind("Pod").object_path(name, namespace) + "/eviction"
        return self._write(
            "POST", path, verb="create", resource="pods/eviction", name=name, namespace=namespace,
            dry_run=dry_run, body=body,
        )

    def can_i(
        self, verb: str, resource: str, *, group: str = "", namespace: str | None = None, name: str | None = None,
        subresource: str | None = None,
    ) -> tuple[bool, str]:
        """A ``SelfSubjectAccessReview`` as this client's identity: (allowed, reason)."""
        attributes: Obj = {"verb": verb, "resource": resource, "group": group}
        if namespace:
            attributes["namespace"] = namespace
        if name:
            attributes["name"] = name
        if subresource:
            attributes["subresource"] = subresource
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        status, data = self._call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=body)
        self._raise_for(status, data, verb="create", resource="selfsubjectaccessreviews", name="",
                        namespace=None)
        review = json.loads(data).get("status") or {}
        return bool(review.get("allowed")), str(review.get("reason") or review.get("evaluationError") or "")


def _status_body(data: bytes) -> dict[str, Any]:
    try:
        body = json.loads(data)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _budget_name(data: bytes) -> str | None:
    """The PodDisruptionBudget a 429 eviction answer names in ``details.causes`` (if any)."""
    causes = (_status_body(data).get("details") or {}).get("causes") or []
    for cause in causes:
        if cause.get("reason") == "DisruptionBudget":
            words = str(cause.get("message", "")).split()
            if len(words) >= 4 and words[:3] == ["The", "disruption", "budget"]:
                return words[3]
    return None


def _kind_name(resource: str) -> str:
    known = kinds.lookup(resource.split("/")[0])
    return known.kind if known else resource

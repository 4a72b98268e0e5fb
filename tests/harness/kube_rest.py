"""A small dict-in, dict-out REST client for the real API server, for test setup and assertions.

Tests create their scenarios as plain API objects (the same dicts the snapshots hold) and need
the API's own answers, status codes and 403 messages unchanged; this client does exactly that and
nothing more. Kinds are mapped to resources through the server's discovery documents, so any
kind the server serves (including the chart's) works. The product's own clients are never used
here: tests exercise those separately.
"""

from __future__ import annotations

import builtins
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx

Obj = dict[str, Any]


class ApiError(RuntimeError):
    """A non-2xx answer: ``status`` (HTTP code), ``reason`` and ``message`` from the API's Status."""

    def __init__(self, status: int, body: Obj | str, what: str) -> None:
        self.status = status
        self.body = body if isinstance(body, dict) else {}
        self.reason = str(self.body.get("reason", ""))
        self.message = str(self.body.get("message", body if isinstance(body, str) else ""))
        super().__init__(f"{what}: {status} {self.reason}: {self.message}")


@dataclass(frozen=True)
class Resource:
    """Where a kind lives: ``/api/v1`` or ``/apis/<group>/<version>``, its plural, whether namespaced."""

    prefix: str
    plural: str
    namespaced: bool


class KubeRest:
    """Bearer-token JSON client for one API server (``url``, ``ca_cert``, ``token``)."""

    def __init__(self, url: str, ca_cert: str, token: str, *, timeout: float = 15.0,
                 headers: dict[str, str] | None = None) -> None:
        self.http = httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=ca_cert), timeout=timeout,
                                 headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                                          **(headers or {})})
        self._resources: dict[tuple[str, str], Resource] = {}

    def close(self) -> None:
        self.http.close()

    # -- discovery -------------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> Resource:
        """The resource of ``kind`` in ``api_version`` (from the server's discovery; cached)."""
        key = (api_version, kind)
        if key not in self._resources:
            prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            listing = self.request("GET", prefix)
            for entry in listing.get("resources", []):
                if "/" not in entry["name"]:
                    self._resources[(api_version, entry["kind"])] = Resource(prefix, entry["name"],
                                                                             entry["namespaced"])
            if key not in self._resources:
                raise KeyError(f"the API server serves no kind {kind} in {api_version}")
        return self._resources[key]

    def path(self, api_version: str, kind: str, name: str | None = None, namespace: str | None = None,
             subresource: str | None = None) -> str:
        resource = self.resource(api_version, kind)
        parts = [resource.prefix]
        if resource.namespaced and namespace:
            parts += ["namespaces", namespace]
        parts.append(resource.plural)
        if name:
            parts.append(name)
        if subresource:
            parts.append(subresource)
        return "/".join(parts)

    # -- verbs -----------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
                content_type: str = "application/json") -> Obj:
        """One call; the decoded JSON answer, or :class:`ApiError` for a non-2xx status."""
        headers = {"Content-Type": content_type} if json is not None else {}
        response = self.http.request(method, path, params=params, json=json, headers=headers)
        try:
            body: Obj | str = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 300:
            raise ApiError(response.status_code, body, f"{method} {path}")
        return body if isinstance(body, dict) else {"raw": body}

    def create(self, obj: Obj, *, dry_run: bool = False, subresource: str | None = None) -> Obj:
        meta = obj.get("metadata", {})
        path = self.path(obj["apiVersion"], obj["kind"], None, meta.get("namespace"))
        if subresource:
            path = f"{self.path(obj['apiVersion'], obj['kind'], meta['name'], meta.get('namespace'))}/{subresource}"
        return self.request("POST", path, params={"dryRun": "All"} if dry_run else None, json=obj)

    def apply(self, obj: Obj, *, field_manager: str = "clusterdoc-tests", dry_run: bool = False,
              force: bool = True) -> Obj:
        """Server-side apply (``dryRun=All`` when asked): unknown fields are errors (strict)."""
        meta = obj["metadata"]
        params: dict[str, Any] = {"fieldManager": field_manager, "fieldValidation": "Strict"}
        if force:
            params["force"] = "true"
        if dry_run:
            params["dryRun"] = "All"
        path = self.path(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        return self.request("PATCH", path, params=params, json=obj, content_type="application/apply-patch+yaml")

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None,
            subresource: str | None = None) -> Obj:
        return self.request("GET", self.path(api_version, kind, name, namespace, subresource))

    def list(self, api_version: str, kind: str, namespace: str | None = None, **params: Any) -> Obj:
        return self.request("GET", self.path(api_version, kind, None, namespace), params=params or None)

    def patch(self, api_version: str, kind: str, name: str, body: Obj, namespace: str | None = None, *,
              subresource: str | None = None, patch_type: str = "merge") -> Obj:
        content = {"merge": "application/merge-patch+json", "strategic": "application/strategic-merge-patch+json",
                   "json": "application/json-patch+json"}[patch_type]
        return self.request("PATCH", self.path(api_version, kind, name, namespace, subresource), json=body,
                            content_type=content)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None,
               body: Obj | None = None) -> Obj:
        return self.request("DELETE", self.path(api_version, kind, name, namespace), json=body)

    def exists(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        try:
            self.get(api_version, kind, name, namespace)
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # -- conveniences ------------------------------------------------------------------------

    def create_namespace(self, name: str, labels: dict[str, str] | None = None, timeout: float = 20.0) -> Obj:
        """Create a Namespace and wait for its ``default`` ServiceAccount (pods need it to be admitted)."""
        namespace = self.create({"apiVersion": "v1", "kind": "Namespace",
                                 "metadata": {"name": name, "labels": labels or {}}})
        deadline = time.monotonic() + timeout
        while not self.exists("v1", "ServiceAccount", "default", name):
            if time.monotonic() > deadline:
                raise AssertionError(f"no default ServiceAccount in namespace {name} after {timeout} s")
            time.sleep(0.1)
        return namespace

    def service_account_token(self, namespace: str, name: str, expiration: int = 3600,
                              audiences: builtins.list[str] | None = None) -> str:
        """A bound token for the ServiceAccount (TokenRequest, what a projected volume would hold)."""
        spec: Obj = {"expirationSeconds": expiration}
        if audiences:
            spec["audiences"] = audiences
        answer = self.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                              json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})
        return str(answer["status"]["token"])

    def events_for(self, namespace: str, name: str, reason: str | None = None) -> builtins.list[Obj]:
        """Events about the object ``name`` in ``namespace`` (core/v1), optionally of one ``reason``."""
        selector = f"involvedObject.name={name}" + (f",reason={reason}" if reason else "")
        return self.list("v1", "Event", namespace, fieldSelector=selector)["items"]

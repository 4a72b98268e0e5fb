"""Prometheus access for the steps: range queries through prometheus-api-client, typed failures.

``PROMETHEUS_URL`` with a bearer token (``PROMETHEUS_TOKEN``) or basic auth
(``PROMETHEUS_USERNAME``/``PROMETHEUS_PASSWORD``), a custom CA (``PROMETHEUS_CACERT``) and a
per-query timeout (``PROMETHEUS_TIMEOUT``, sent to the server as the query's ``timeout`` too).
No retries: an incident is no time to wait on a Prometheus that is down; the step says what it
could not see and the runbook goes on. The client library (and pandas behind it) is imported only
when a query runs, so the serve process, which loads step modules to validate runbooks, never pays for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clusterdoc.workers.triage.signals import Series


class PrometheusProblem(Exception):
    """A query that gave no answer; ``str()`` says what could not be seen and why, in one line."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind  # "unconfigured" | "unreachable" | "timeout" | "error"
        super().__init__(message)


@dataclass(frozen=True)
class PromSettings:
    url: str | None
    token: str | None = None
    username: str | None = None
    password: str | None = None
    cacert: str | None = None
    timeout: float = 10.0
    jobs: tuple[tuple[str, str], ...] = ()


class Prometheus:
    """A small façade over ``PrometheusConnect`` returning :class:`Series`."""

    def __init__(self, settings: PromSettings) -> None:
        self.settings = settings
        self._client: Any = None

    @property
    def configured(self) -> bool:
        return bool(self.settings.url)

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        if not self.settings.url:
            raise PrometheusProblem("unconfigured", "Prometheus is not configured (PROMETHEUS_URL is not set)")
        import requests
        from prometheus_api_client import PrometheusConnect
        from urllib3.util.retry import Retry

        session = requests.Session()
        session.verify = self.settings.cacert or True
        headers = {"Authorization": f"Bearer {self.settings.token}"} if self.settings.token else None
        auth = (self.settings.username, self.settings.password or "") if self.settings.username else None
        self._client = PrometheusConnect(url=self.settings.url.rstrip("/"), headers=headers, auth=auth,
                                         session=session, retry=Retry(total=0), timeout=self.settings.timeout)
        return self._client

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[Series]:
        """Every series of ``promql`` over [start, end]; :class:`PrometheusProblem` when not answered."""
        import requests
        from prometheus_api_client.exceptions import PrometheusApiClientException

        client = self._connect()
        timeout = self.settings.timeout
        try:
            raw = client.custom_query_range(
                promql, start_time=datetime.fromtimestamp(start, UTC), end_time=datetime.fromtimestamp(end, UTC),
                step=f"{max(int(step), 1)}s", params={"timeout": f"{timeout:g}s"},
            )
        except requests.exceptions.Timeout as exc:
            raise PrometheusProblem("timeout", f"Prometheus did not answer within {timeout:g} s") from exc
        except requests.exceptions.RequestException as exc:
            if "timed out" in str(exc).lower() or "timeout" in type(getattr(exc.args[0] if exc.args else None,
                                                                           "reason", None)).__name__.lower():
                raise PrometheusProblem("timeout", f"Prometheus did not answer within {timeout:g} s") from exc
            raise PrometheusProblem("unreachable", f"Prometheus at {self.settings.url} is unreachable: "
                                    f"{_reason(exc)}") from exc
        except PrometheusApiClientException as exc:
            text = str(exc)
            kind = "timeout" if "timeout" in text.lower() or "503" in text else "error"
            raise PrometheusProblem(kind, f"Prometheus refused the query: {text[:200]}") from exc
        return [
            Series({k: str(v) for k, v in (item.get("metric") or {}).items()},
                   tuple((float(t), _float(v)) for t, v in item.get("values") or []))
            for item in raw
        ]


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "certificate verify failed",
                   "timed out", "No route to host"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


def now() -> float:
    return time.time()

"""``POST /alerts``: Alertmanager's webhook, answered in milliseconds.

Checks, in order: the ``Authorization`` header (401), the body size (413, before reading more
than the limit), JSON and the payload shape (400 naming the field). Then every alert is
recorded in Redis and the delivery queued (:mod:`clusterdoc.bot.alerts.intake`); only then 200. Redis
down → 503, so Alertmanager retries the notification and nothing is lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clusterdoc.alert_config import AlertSettings
from clusterdoc.bot.alerts.auth import authorized
from clusterdoc.bot.alerts.intake import record_delivery
from clusterdoc.bot.alerts.payload import PayloadError, parse_payload

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertsEndpoint:
    """The webhook handler with what it needs; :meth:`route` mounts it at ``POST /alerts``."""

    redis: Redis
    token: str | None
    settings: AlertSettings

    def route(self, path: str = "/alerts") -> Route:
        return Route(path, self.handle, methods=["POST"])

    async def handle(self, request: Request) -> JSONResponse:
        if not self.token:
            return _error(503, "alerts are not enabled: ALERTS_TOKEN is not set")
        if not authorized(request.headers.get("authorization"), self.token, self.settings.basic_auth_user):
            return _error(401, "missing or wrong credentials: send Authorization: Bearer <ALERTS_TOKEN>",
                          {"WWW-Authenticate": 'Bearer realm="clusterdoc"'})
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.strip().isascii() and declared.strip().isdigit() and len(declared) < 19 \
                and int(declared) > limit:
            return _error(413, f"body of {declared} bytes is over the limit of {limit} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                return _error(413, f"body is over the limit of {limit} bytes")
        try:
            payload = parse_payload(bytes(body))
        except PayloadError as exc:
            return _error(400, f"not an Alertmanager webhook payload: {exc}")
        ttl = int(self.settings.incident_ttl_hours * 3600)
        try:
            delivery = await run_in_threadpool(record_delivery, self.redis, payload, ttl)
        except RedisError as exc:
            log.error("cannot record %d alerts in Redis: %s", len(payload.alerts), type(exc).__name__)
            return _error(503, "cannot record the alerts right now (Redis unavailable); Alertmanager will retry")
        return JSONResponse({"ok": True, "alerts": len(payload.alerts), "delivery": delivery})


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status, headers=headers)

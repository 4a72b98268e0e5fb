"""``clusterdoc serve``: the HTTP server (Starlette on uvicorn) around the Bolt app.

Routes: ``POST /slack/events`` (signed Slack requests, dispatched to Bolt off the event loop),
``GET /healthz`` (the process is up), ``GET /readyz`` (503 with the reason when Redis is
unreachable, or Socket Mode is not connected), ``GET /metrics`` (``bot/metrics.py``, Prometheus'
text format). With ``SLACK_APP_TOKEN`` set, Slack traffic comes over Socket Mode instead and
``/slack/events`` is not served; the probes stay on HTTP. Run as ``python -m bot.server``.
"""

from __future__ import annotations

import argparse
import gc
import logging
import re
import sys
from collections.abc import Callable, Sequence

import uvicorn
from redis import Redis
from redis.exceptions import RedisError
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError, SlackClientError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from clusterdoc import redis_connection
from clusterdoc.bot import messages
from clusterdoc.bot.alerts.service import build_alert_service
from clusterdoc.bot.alerts.stats import alert_metrics
from clusterdoc.bot.app import BotContext, create_app
from clusterdoc.bot.socket_mode import SocketModeRunner
from clusterdoc.config import ConfigError, Settings, load_settings
from clusterdoc.logs import LogSettingError, announce, setup_logging
from clusterdoc.metrics import CONTENT_TYPE
from clusterdoc.slack.client import build_web_client
from clusterdoc.workers.runbook.loader import Catalogue, RunbookError

log = logging.getLogger(__name__)

SLACK_LIBRARY_LOGGERS = ("slack_sdk", "slack_bolt")
MAX_BODY_BYTES = 1024 * 1024
REDIS_TIMEOUT_SECONDS = 2.0


def redis_client(settings: Settings) -> Redis:
    """The bot's Redis connection (AUTH, TLS, Sentinel as configured): short timeouts, so a dead Redis fails fast."""
    return redis_connection.connect(settings, socket_timeout=REDIS_TIMEOUT_SECONDS)


def redis_problem(redis: Redis) -> str | None:
    """None when Redis answers PING, else a one-line reason."""
    try:
        redis.ping()
    except RedisError as exc:
        return f"redis unreachable: {exc}"
    return None


def _shape_problem(body: object) -> str | None:
    """Why a (signed) body cannot be a Slack request Bolt handles, else None (Bolt's matchers would 500)."""
    if not isinstance(body, dict):
        return "request body is not a Slack payload"
    if body.get("type") == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not all(
                isinstance(action, dict) and isinstance(action.get("action_id"), str) for action in actions):
            return "block_actions payload without well-formed actions"
    return None


def _small_number(value: str) -> bool:
    """True for a plain ASCII decimal of at most 18 digits (header values int() reads safely)."""
    value = value.strip()
    return value.isascii() and value.isdigit() and len(value) <= 18


def create_http_app(
    bot: BotContext,
    bolt_app: App | None,
    *,
    socket_connected: Callable[[], bool] | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    ready_checks: Sequence[Callable[[], str | None]] = (),
    live_checks: Sequence[Callable[[], str | None]] = (),
) -> Starlette:
    """The Starlette app; ``bolt_app`` None means Socket Mode carries the Slack traffic.

    ``ready_checks``/``live_checks`` each return a one-line problem or None; any problem makes
    ``/readyz`` (respectively ``/healthz``) answer 503 with it.
    """

    async def slack_events(request: Request) -> Response:
        assert bolt_app is not None
        length = request.headers.get("content-length")
        if length is not None and (not _small_number(length) or int(length) > MAX_BODY_BYTES):
            return PlainTextResponse("request body too large", status_code=413)
        stamp = request.headers.get("x-slack-request-timestamp")
        if stamp is not None and not _small_number(stamp):
            return PlainTextResponse("X-Slack-Request-Timestamp is not a number", status_code=400)
        body = bytearray()
        async for chunk in request.stream():  # chunked bodies too: stop reading at the limit
            body.extend(chunk)
            if len(body) > MAX_BODY_BYTES:
                return PlainTextResponse("request body too large", status_code=413)
        try:
            bolt_request = to_bolt_request(request, bytes(body))
        except UnicodeDecodeError:
            return PlainTextResponse("request body is not UTF-8", status_code=400)
        except (AttributeError, TypeError, ValueError, KeyError, IndexError):  # Bolt reads the payload's shape
            return PlainTextResponse("request body is not a Slack payload", status_code=400)
        problem = _shape_problem(bolt_request.body)
        if problem is not None:
            return PlainTextResponse(problem, status_code=400)
        bolt_response = await run_in_threadpool(bolt_app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    async def healthz(request: Request) -> Response:
        problem = next((found for check in live_checks if (found := check())), None)
        if problem is not None:
            return PlainTextResponse(f"not alive: {problem}\n", status_code=503)
        return PlainTextResponse("ok\n")

    async def readyz(request: Request) -> Response:
        problem = await run_in_threadpool(redis_problem, bot.redis)
        if problem is None and socket_connected is not None and not socket_connected():
            problem = "socket mode not connected to Slack"
        if problem is None:
            problem = next((found for check in ready_checks if (found := check())), None)
        if problem is not None:
            return PlainTextResponse(f"not ready: {problem}\n", status_code=503)
        return PlainTextResponse("ready\n")

    async def metrics(request: Request) -> Response:
        body = await run_in_threadpool(bot.counters.render, bot.redis, alert_metrics)
        return Response(body, media_type=CONTENT_TYPE)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *extra_routes,
    ]
    if bolt_app is not None:
        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    return Starlette(routes=routes)


def build(
    settings: Settings, *, extra_routes: Sequence[BaseRoute] = (),
    ready_checks: Sequence[Callable[[], str | None]] = (), live_checks: Sequence[Callable[[], str | None]] = (),
) -> tuple[Starlette, BotContext, Callable[[], None]]:
    """Everything ``serve`` runs: the HTTP app, the bot context and a function starting Socket Mode.

    ``extra_routes`` mounts more endpoints (the Alertmanager webhook ``/alerts``) beside the probes.

    Raises :class:`ConfigError` naming the setting when Slack credentials are missing or rejected.
    """
    settings.require("SLACK_BOT_TOKEN", why="to run the Slack app")
    socket_mode = bool(settings.SLACK_APP_TOKEN)
    if not socket_mode:
        settings.require(
            "SLACK_SIGNING_SECRET", why="to verify requests from Slack; Socket Mode, with SLACK_APP_TOKEN, does without"
        )
    bot = BotContext(
        settings=settings,
        file_config=settings.file_config(),
        catalogue=Catalogue.load(settings.runbook_folders()),
        redis=redis_client(settings),
    )
    client = build_web_client(settings)
    try:
        with messages.quiet_loggers(*SLACK_LIBRARY_LOGGERS):  # our one line below says it all
            bolt_app = create_app(bot, client)
    except BoltError as exc:  # auth.test answered, but not ok
        problem = f"Slack did not accept the token: auth.test failed ({_slack_error(exc)})"
        raise ConfigError(f"SLACK_BOT_TOKEN: {problem}") from exc
    except (SlackClientError, OSError) as exc:  # no answer at all (DNS, refused, TLS, timeout)
        reason = " ".join(str(getattr(exc, "reason", exc)).split()) or type(exc).__name__
        raise ConfigError(messages.slack_unreachable(client.base_url, reason, bool(settings.SLACK_API_URL))) from exc

    if not socket_mode:
        app = create_http_app(bot, bolt_app, extra_routes=extra_routes, ready_checks=ready_checks,
                              live_checks=live_checks)
        return app, bot, lambda: None
    assert settings.SLACK_APP_TOKEN is not None
    runner = SocketModeRunner(bolt_app, settings.SLACK_APP_TOKEN)
    http_app = create_http_app(bot, None, socket_connected=runner.connected, extra_routes=extra_routes,
                               ready_checks=ready_checks, live_checks=live_checks)
    return http_app, bot, runner.start


def _slack_error(exc: BoltError) -> str:
    """The Slack error code inside Bolt's multi-line auth.test failure (``invalid_auth``), else its first line."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, SlackApiError) and cause.response is not None:
        return str(cause.response.get("error") or "unknown_error")
    found = re.search(r"'error': '([a-z_]+)'", str(exc))
    return found.group(1) if found else (str(exc).strip().splitlines() or ["unknown error"])[0]


def serve(settings: Settings, host: str = "0.0.0.0", port: int | None = None) -> int:
    """Run the server until interrupted; returns the exit status."""
    alerts = build_alert_service(settings, redis_client(settings))
    http_app, _bot, start_socket_mode = build(settings, extra_routes=alerts.routes, ready_checks=[alerts.ready_problem],
                                              live_checks=[alerts.liveness_problem])
    start_socket_mode()
    alerts.start()
    port = port or settings.PORT
    # Everything loaded so far (the Slack SDK, Bolt, runbooks, the kubernetes client's models)
    # lives as long as the process: keep it out of the collector's full passes, which would
    # otherwise walk it on every gen-2 collection and show up as ack latency spikes.
    gc.freeze()
    announce(messages.serve_started(host, port, socket_mode=bool(settings.SLACK_APP_TOKEN),
                                    redis=settings.redis_location(), cluster=settings.CLUSTERDOC_CLUSTER))
    uvicorn.run(http_app, host=host, port=port, log_level="warning", access_log=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.server", description="Run the clusterdoc Slack app.")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=None, help="default $PORT or 3000")
    args = parser.parse_args(argv)
    try:
        setup_logging()
    except LogSettingError as exc:
        print(f"clusterdoc: {exc}", file=sys.stderr)
        return 2
    try:
        return serve(load_settings(), args.host, args.port)
    except ConfigError as exc:
        print(f"clusterdoc: {exc}", file=sys.stderr)
        return 2
    except RunbookError as exc:
        for line in exc.problems:
            print(f"clusterdoc: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

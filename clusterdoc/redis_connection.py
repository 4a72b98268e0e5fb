"""The one place both processes open Redis: URL, AUTH/ACL user, TLS and Sentinel from the settings.

``REDIS_URL`` stays the address (``redis://`` or ``rediss://``; a password in it still works).
``REDIS_USERNAME``/``REDIS_PASSWORD`` add an ACL user or a ``requirepass`` password and win over
the URL's (so a chart can keep the password in a Secret and the URL in plain config).
``REDIS_CACERT`` (CA bundle), ``REDIS_CERT``/``REDIS_KEY`` (client certificate, optional) switch
the connection to TLS even for a ``redis://`` URL. ``REDIS_SENTINELS`` (``host:port,host:port``)
with ``REDIS_SENTINEL_MASTER`` asks those Sentinels for the current master instead of using the
URL's host (the URL still gives the database number); ``REDIS_SENTINEL_PASSWORD`` when the
Sentinels themselves require one. Every connection gets timeouts, so a dead Redis fails a
command in seconds instead of hanging a thread.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from redis import Redis, SSLConnection
from redis.sentinel import Sentinel

from clusterdoc.config import ConfigError, Settings

CONNECT_TIMEOUT_SECONDS = 2.0
DEFAULT_SOCKET_TIMEOUT_SECONDS = 10.0
HEALTH_CHECK_INTERVAL_SECONDS = 30


def parse_sentinels(value: str) -> list[tuple[str, int]]:
    """``"h1:26379, h2:26379"`` as ``[("h1", 26379), ("h2", 26379)]``; :class:`ConfigError` when malformed."""
    nodes: list[tuple[str, int]] = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"REDIS_SENTINELS: {item!r} is not host:port")
        nodes.append((host.strip("[]"), int(port)))
    if not nodes:
        raise ConfigError("REDIS_SENTINELS: no host:port given")
    return nodes


def _tls_options(settings: Settings) -> dict[str, Any]:
    if not (settings.REDIS_CACERT or settings.REDIS_CERT or urlparse(settings.REDIS_URL).scheme == "rediss"):
        return {}
    if bool(settings.REDIS_CERT) != bool(settings.REDIS_KEY):
        raise ConfigError("REDIS_CERT: a client certificate needs both REDIS_CERT and REDIS_KEY")
    options: dict[str, Any] = {"ssl": True, "ssl_cert_reqs": "required"}
    if settings.REDIS_CACERT:
        options["ssl_ca_certs"] = settings.REDIS_CACERT
    if settings.REDIS_CERT:
        options["ssl_certfile"] = settings.REDIS_CERT
        options["ssl_keyfile"] = settings.REDIS_KEY
    return options


def _auth_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if settings.REDIS_USERNAME:
        options["username"] = settings.REDIS_USERNAME
    if settings.REDIS_PASSWORD:
        options["password"] = settings.REDIS_PASSWORD
    return options


def _database(url: str) -> int:
    path = urlparse(url).path.strip("/")
    return int(path) if path.isdigit() else 0


def connect(settings: Settings, *, socket_timeout: float | None = DEFAULT_SOCKET_TIMEOUT_SECONDS) -> Redis:
    """A Redis client as the settings say (not yet connected: redis-py connects on first command).

    ``socket_timeout`` bounds each command (None: wait forever, which RQ's blocking dequeue needs
    in a worker: it passes its own timeout to BLPOP and redis-py adds it to this one).
    Raises :class:`ConfigError` for a malformed setting; connection errors come on first use.
    """
    common: dict[str, Any] = {
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "socket_timeout": socket_timeout,
        "health_check_interval": HEALTH_CHECK_INTERVAL_SECONDS,
        **_auth_options(settings),
        **_tls_options(settings),
    }
    if settings.REDIS_SENTINELS:
        return _sentinel_master(settings, common)
    if common.pop("ssl", False) and urlparse(settings.REDIS_URL).scheme == "redis":
        common["connection_class"] = SSLConnection  # REDIS_CACERT given with a redis:// URL: TLS all the same
    return Redis.from_url(settings.REDIS_URL, **common)


def _sentinel_master(settings: Settings, common: dict[str, Any]) -> Redis:
    if not settings.REDIS_SENTINEL_MASTER:
        raise ConfigError("REDIS_SENTINEL_MASTER is not set (needed with REDIS_SENTINELS: the master's name)")
    assert settings.REDIS_SENTINELS is not None
    sentinel_kwargs: dict[str, Any] = {
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "socket_timeout": CONNECT_TIMEOUT_SECONDS,
        **_tls_options(settings),
    }
    if settings.REDIS_SENTINEL_PASSWORD:
        sentinel_kwargs["password"] = settings.REDIS_SENTINEL_PASSWORD
    common = {key: value for key, value in common.items() if key != "health_check_interval"}
    sentinel = Sentinel(parse_sentinels(settings.REDIS_SENTINELS), sentinel_kwargs=sentinel_kwargs, **common)
    return sentinel.master_for(settings.REDIS_SENTINEL_MASTER, db=_database(settings.REDIS_URL))


def describe(settings: Settings) -> str:
    """Where Redis is, for one-line messages (never the password)."""
    if settings.REDIS_SENTINELS:
        return settings.redis_location()
    return f"{urlparse(settings.REDIS_URL).scheme}://{settings.redis_location()}"

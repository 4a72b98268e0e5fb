"""Shared fixtures: a real Redis per session, fake Kubernetes and Slack servers per test.

The logic lives in :mod:`tests.harness`; these are thin wrappers that start and stop it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from clusterdoc.workers.cluster.snapshot import SnapshotStore
from tests.harness.fake_kube import FakeKubeServer
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.redis_server import RedisServer, RedisServerError

REPO_ROOT = Path(__file__).resolve().parent.parent

FakeKubeFactory = Callable[..., FakeKubeServer]
"""``fake_kube(path_or_store, **options)``; options as :class:`FakeKubeServer` takes them."""


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server for the whole session (fails, never skips, when it is not installed)."""
    try:
        server = RedisServer()
    except RedisServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    with server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The session's Redis URL, its database flushed before the test."""
    connection = redis.Redis.from_url(redis_server.url)
    connection.flushdb()
    connection.close()
    yield redis_server.url


@pytest.fixture
def fake_slack() -> Iterator[FakeSlackServer]:
    """A fake Slack Web API; point ``WebClient(base_url=fake_slack.url)`` or SLACK_API_URL at it."""
    with FakeSlackServer() as server:
        yield server


@pytest.fixture
def fake_kube() -> Iterator[FakeKubeFactory]:
    """``fake_kube(path_or_store)`` starts a fake API server for it; all are stopped afterwards."""
    servers: list[FakeKubeServer] = []

    def start(source: str | Path | SnapshotStore | list[dict[str, Any]], **options: Any) -> FakeKubeServer:
        server = FakeKubeServer(source, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def examples_dir() -> Path:
    """The repository's ``examples/`` folder (the demo scenarios)."""
    return REPO_ROOT / "examples"


@pytest.fixture
def data_dir() -> Path:
    """``tests/data/``: the small snapshots the harness and backend tests use."""
    return REPO_ROOT / "tests" / "data"

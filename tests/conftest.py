"""Shared fixtures: a real Redis and a real Kubernetes control plane per session, fake Kubernetes
and Slack servers per test.

The logic lives in :mod:`tests.harness`; these are thin wrappers that start and stop it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from clusterdoc.workers.cluster.snapshot import SnapshotStore
from tests.harness.control_plane import ControlPlane, ControlPlaneError
from tests.harness.fake_kube import FakeKubeServer
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.k8s_binaries import BinariesMissing
from tests.harness.kube_rest import KubeRest
from tests.harness.pki import PkiError
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


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    """etcd + kube-apiserver + kube-scheduler + kube-controller-manager for the whole session.

    Fails (never skips) when the binaries are not built: the message names
    ``bash scripts/build-binaries.sh``.
    """
    try:
        plane = ControlPlane()
    except (BinariesMissing, ControlPlaneError, PkiError) as exc:
        pytest.fail(str(exc), pytrace=False)
    print(f"\nreal control plane {plane.versions.get('kubernetes')} up in {plane.started_in:.1f} s at {plane.url}")
    with plane:
        yield plane


@pytest.fixture(scope="session")
def kube_admin(control_plane: ControlPlane) -> Iterator[KubeRest]:
    """A REST client with the control plane's admin (system:masters) token."""
    client = KubeRest(control_plane.url, str(control_plane.pki.ca_cert), control_plane.admin_token)
    yield client
    client.close()


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

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


# -- the Slack scopes the suite needed (tests/harness/slack_scopes.py) ------------------------------

def _whole_suite_ran(session: pytest.Session) -> bool:
    """Every test file was collected, nothing deselected, and every collected test ran to the end."""
    config = session.config
    if config.option.keyword or config.option.markexpr or session.shouldstop or session.shouldfail:
        return False
    if getattr(config, "_clusterdoc_deselected", 0):
        return False
    files = {item.path.name for item in session.items}
    wanted = {path.name for path in (REPO_ROOT / "tests").glob("test_*.py")}
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    ran = sum(len(reporter.stats.get(key, [])) for key in ("passed", "failed", "skipped", "xfailed", "xpassed")) \
        if reporter is not None else 0
    return wanted <= files and ran >= len(session.items)


def pytest_deselected(items: list[pytest.Item]) -> None:
    if items:
        config = items[0].config
        config._clusterdoc_deselected = getattr(config, "_clusterdoc_deselected", 0) + len(items)  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write down the Slack methods the suite called, and fail the session when slack/scopes.yaml (and so
    the manifests' scopes) disagrees with them: a called method missing always, an unneeded one after a
    complete run."""
    from tests.harness import fake_slack, slack_scopes

    called = set(fake_slack.SESSION_METHODS)
    if not called:
        return
    complete = _whole_suite_ran(session)
    slack_scopes.RESULT_FILE.parent.mkdir(exist_ok=True)
    slack_scopes.RESULT_FILE.write_text("\n".join(sorted(called)) + "\n", encoding="utf-8")
    problems = slack_scopes.session_problems(called, complete=complete)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        scopes = sorted(slack_scopes.needed_bot_scopes(called))
        reporter.write_line(f"slack: {len(called)} Web API methods called, needing bot scopes {scopes}"
                            f"{'' if complete else ' (partial run: only missing methods are checked)'}")
        for problem in problems:
            reporter.write_line(f"slack scopes: {problem}", red=True)
    if problems and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

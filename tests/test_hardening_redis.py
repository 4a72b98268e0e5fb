"""Issue 10 item 2: Redis with a password, an ACL user, TLS and Sentinel, through the one connection factory.

Every test runs real ``redis-server`` processes (``--requirepass``, ``--tls-port`` with
certificates made here, ``--sentinel``) and drives both sides: the serve side's client
(:func:`clusterdoc.bot.server.redis_client`) enqueues, the worker (:func:`run_worker`) runs
the job and answers in the fake Slack thread.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import AuthenticationError, ConnectionError, ResponseError
from rq.job import JobStatus

from clusterdoc.bot.server import redis_client
from clusterdoc.config import ConfigError, Settings, load_settings
from clusterdoc.queue import enqueue_diagnosis
from clusterdoc.redis_connection import connect, describe, parse_sentinels
from clusterdoc.workers.process import run_worker
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.processes import wait_until
from tests.harness.redis_sentinel import Sentinels
from tests.harness.redis_server import RedisServer
from tests.harness.tls import make_tls_files
from tests.test_queue_worker import QUICK_JOBS, pod_request, post_root, thread_text

PASSWORD = "s3cret-redis-pw"


def settings_for(fake_slack: FakeSlackServer, examples_dir: Path, **redis: str) -> Settings:
    return load_settings({
        "SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_API_URL": fake_slack.url,
        "CLUSTERDOC_SNAPSHOT": str(examples_dir / "taint-pending"), **redis,
    })


def round_trip(settings: Settings, fake_slack: FakeSlackServer) -> None:
    """Serve's client enqueues, the worker runs the job through the same settings; the thread gets the answer."""
    thread = post_root(fake_slack)
    job = enqueue_diagnosis(redis_client(settings), pod_request(), thread, QUICK_JOBS)
    assert run_worker(settings, None, burst=True) == 0
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert "untolerated taint {dedicated: gpu}" in thread_text(fake_slack, thread)


@pytest.fixture(scope="module")
def password_redis() -> Iterator[RedisServer]:
    with RedisServer(password=PASSWORD) as server:
        yield server


def test_requirepass_password_from_its_own_variable(
    password_redis: RedisServer, fake_slack: FakeSlackServer, examples_dir: Path
) -> None:
    with pytest.raises(AuthenticationError):
        connect(settings_for(fake_slack, examples_dir, REDIS_URL=password_redis.url)).ping()
    settings = settings_for(fake_slack, examples_dir, REDIS_URL=password_redis.url, REDIS_PASSWORD=PASSWORD)
    connect(settings).flushdb()
    round_trip(settings, fake_slack)
    assert PASSWORD not in describe(settings)


def test_worker_refuses_to_start_with_a_wrong_password_in_one_line(
    password_redis: RedisServer, fake_slack: FakeSlackServer, examples_dir: Path
) -> None:
    settings = settings_for(fake_slack, examples_dir, REDIS_URL=password_redis.url, REDIS_PASSWORD="wrong")
    with pytest.raises(ConfigError) as refused:
        run_worker(settings, None, burst=True)
    assert str(refused.value).startswith(f"REDIS_URL: cannot reach Redis at redis://127.0.0.1:{password_redis.port}/0")
    assert "wrong" not in str(refused.value) and "\n" not in str(refused.value)


def test_acl_user(password_redis: RedisServer, fake_slack: FakeSlackServer, examples_dir: Path) -> None:
    admin = Redis.from_url(password_redis.url, password=PASSWORD)
    admin.execute_command("ACL", "SETUSER", "clusterdoc", "on", ">acl-pw", "~*", "&*", "+@all")
    settings = settings_for(fake_slack, examples_dir, REDIS_URL=password_redis.url,
                            REDIS_USERNAME="clusterdoc", REDIS_PASSWORD="acl-pw")
    connect(settings).flushdb()
    round_trip(settings, fake_slack)
    admin.execute_command("ACL", "SETUSER", "clusterdoc", "off")
    with pytest.raises((AuthenticationError, ResponseError)):
        connect(settings).ping()


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    files = make_tls_files(tmp_path_factory.mktemp("tls"))
    with RedisServer(tls=files) as server:
        yield server


def test_tls_with_a_ca(tls_redis: RedisServer, fake_slack: FakeSlackServer, examples_dir: Path) -> None:
    assert tls_redis.tls is not None
    settings = settings_for(fake_slack, examples_dir, REDIS_URL=tls_redis.url, REDIS_CACERT=str(tls_redis.tls.ca))
    connect(settings).flushdb()
    round_trip(settings, fake_slack)


def test_tls_with_a_client_certificate(tls_redis: RedisServer, fake_slack: FakeSlackServer,
                                       examples_dir: Path) -> None:
    tls = tls_redis.tls
    assert tls is not None and tls.client_cert and tls.client_key
    settings = settings_for(fake_slack, examples_dir, REDIS_URL=tls_redis.url, REDIS_CACERT=str(tls.ca),
                            REDIS_CERT=str(tls.client_cert), REDIS_KEY=str(tls.client_key))
    assert connect(settings).ping()
    with pytest.raises(ConfigError, match="needs both REDIS_CERT and REDIS_KEY"):
        connect(settings_for(fake_slack, examples_dir, REDIS_URL=tls_redis.url, REDIS_CERT=str(tls.client_cert)))


def test_tls_server_not_signed_by_the_ca_is_refused(
    tls_redis: RedisServer, fake_slack: FakeSlackServer, examples_dir: Path, tmp_path: Path
) -> None:
    other_ca = make_tls_files(tmp_path / "other", ca_name="someone else").ca
    settings = settings_for(fake_slack, examples_dir, REDIS_URL=tls_redis.url, REDIS_CACERT=str(other_ca))
    with pytest.raises(ConnectionError, match="certificate verify failed"):
        connect(settings).ping()
    plain = settings_for(fake_slack, examples_dir, REDIS_URL=tls_redis.url.replace("rediss://", "redis://"))
    with pytest.raises(ConnectionError):
        connect(plain).ping()


def test_sentinel_list_is_validated() -> None:
    assert parse_sentinels("a:26379, [::1]:26380") == [("a", 26379), ("::1", 26380)]
    for bad in ("a", "a:x", ":1", ""):
        with pytest.raises(ConfigError, match="REDIS_SENTINELS"):
            parse_sentinels(bad)


# -- Sentinel: a master, a replica and a sentinel, all real processes ---------------------------------
def test_sentinel_finds_the_master_and_follows_a_failover(
    tmp_path: Path, fake_slack: FakeSlackServer, examples_dir: Path
) -> None:
    setup = Sentinels(tmp_path, down_after_ms=1000)
    try:
        settings = settings_for(fake_slack, examples_dir, REDIS_URL="redis://ignored:1/0",
                                REDIS_SENTINELS=f"127.0.0.1:{setup.port}", REDIS_SENTINEL_MASTER="main")
        assert "Sentinel master main" in describe(settings)
        round_trip(settings, fake_slack)
        # a job queued before the failover is run by a worker after it, on the promoted replica
        thread = post_root(fake_slack)
        serve_side = redis_client(settings)
        job = enqueue_diagnosis(serve_side, pod_request(), thread, QUICK_JOBS)
        wait_until(lambda: Redis(port=setup.replica.port).exists(f"rq:job:{job.id}") == 1, "replicated", 10)
        setup.failover()
        wait_until(lambda: setup.master_port() == setup.replica.port, "the replica promoted", 30)
        wait_until(lambda: _writable(serve_side), "the serve-side client writes to the new master", 30)
        assert run_worker(settings, None, burst=True) == 0
        assert "untolerated taint {dedicated: gpu}" in thread_text(fake_slack, thread)
    finally:
        setup.stop()


def _writable(client: Redis) -> bool:
    try:
        client.set("clusterdoc:probe", str(time.time()))
        return True
    except (ConnectionError, ResponseError):
        return False


def test_sentinel_needs_the_master_name(fake_slack: FakeSlackServer, examples_dir: Path) -> None:
    settings = settings_for(fake_slack, examples_dir, REDIS_SENTINELS="127.0.0.1:26379")
    with pytest.raises(ConfigError, match="REDIS_SENTINEL_MASTER is not set"):
        connect(settings)

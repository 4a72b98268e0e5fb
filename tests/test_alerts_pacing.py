"""Per-channel pacing in real Redis: burst, then about one message a second, shared by every process."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from redis import Redis
from slack_sdk import WebClient

from clusterdoc.alert_config import PacingSettings
from clusterdoc.slack.pacing import RETRY_LIST, ChannelBusy, ChannelPacer, PacedWebClient, deliver, replay_failed
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.ports import free_port


class Clock:
    """A clock the pacer reads and its sleeps advance (so the test measures waits, not wall time)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    connection = Redis.from_url(redis_url)
    yield connection
    connection.close()


def pacer(redis: Redis, clock: Clock, rate: float = 1.0, burst: int = 3) -> ChannelPacer:
    return ChannelPacer(redis, PacingSettings(rate=rate, burst=burst), clock=clock.time, sleep=clock.sleep)


def test_burst_then_one_per_second_per_channel(redis: Redis) -> None:
    clock = Clock()
    first = pacer(redis, clock)
    waits = [first.acquire("C1") for _ in range(6)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:] == pytest.approx([1.0, 1.0, 1.0], abs=0.01)
    assert first.acquire("C2") == 0  # another channel has its own budget


def test_two_processes_share_one_budget(redis: Redis) -> None:
    clock = Clock()
    bot, worker = pacer(redis, clock), pacer(redis, clock)
    assert [bot.acquire("C1"), worker.acquire("C1"), bot.acquire("C1")] == [0, 0, 0]
    assert worker.acquire("C1") == pytest.approx(1.0, abs=0.01)


def test_a_429_blocks_the_channel_for_everyone_for_retry_after(redis: Redis) -> None:
    clock = Clock()
    bot, worker = pacer(redis, clock), pacer(redis, clock)
    bot.block("C1", 7)
    assert worker.acquire("C1") == pytest.approx(7.0, abs=0.01)


def test_with_max_wait_a_blocked_channel_raises_instead_of_sleeping(redis: Redis) -> None:
    clock = Clock()
    bot = pacer(redis, clock, burst=1)
    assert bot.acquire("C1", max_wait=5) == 0
    assert bot.acquire("C1", max_wait=5) == pytest.approx(1.0, abs=0.01)  # ordinary pacing still waits
    bot.block("C1", 30)
    with pytest.raises(ChannelBusy, match="C1"):
        bot.acquire("C1", max_wait=5)
    assert clock.slept == [pytest.approx(1.0, abs=0.01)]
    assert bot.acquire("C2", max_wait=5) == 0


def test_paced_client_retries_429_after_retry_after(redis: Redis, fake_slack: FakeSlackServer) -> None:
    fake_slack.rate_limit("chat.postMessage", times=2, retry_after=3)
    clock = Clock()
    client = PacedWebClient(pacer=pacer(redis, clock, rate=100, burst=10), token="xoxb-t", base_url=fake_slack.url)
    answer = client.chat_postMessage(channel="C1", text="hello")
    assert answer["ok"]
    assert sum(clock.slept) == pytest.approx(6.0, abs=0.1)  # two Retry-After: 3 waits
    assert len(fake_slack.calls_to("chat.postMessage", include_rate_limited=True)) == 3


def test_transient_errors_are_retried_with_backoff_then_kept_for_retry(redis: Redis) -> None:
    clock = Clock()
    settings = PacingSettings(rate=100, burst=10, max_attempts=3)
    dead = f"http://127.0.0.1:{free_port()}/api/"
    client = PacedWebClient(pacer=ChannelPacer(redis, settings, clock=clock.time, sleep=clock.sleep),
                            token="xoxb-t", base_url=dead, retry_handlers=[])
    payload = {"channel": "C1", "text": "hello"}
    assert deliver(redis, "chat.postMessage", "C1", payload, lambda: client.chat_postMessage(**payload)) is None
    assert clock.slept == [0.5, 1.0]  # two backoffs between three attempts
    kept = [json.loads(raw) for raw in redis.lrange(RETRY_LIST, 0, -1)]
    assert [(k["method"], k["channel"], k["payload"]) for k in kept] == [("chat.postMessage", "C1", payload)]


def test_server_errors_are_retried_with_backoff(redis: Redis, fake_slack: FakeSlackServer) -> None:
    fake_slack.server_error("chat.update", times=2)
    posted = fake_slack_post(fake_slack)
    clock = Clock()
    client = PacedWebClient(pacer=pacer(redis, clock, rate=100, burst=10), token="xoxb-t", base_url=fake_slack.url)
    assert client.chat_update(channel="C1", ts=posted, text="edited")["ok"]
    assert clock.slept == [0.5, 1.0]
    assert [call.status for call in fake_slack.calls if call.method == "chat.update"] == [500, 500, 200]


def test_a_kept_edit_is_not_replayed_over_a_newer_one(redis: Redis, fake_slack: FakeSlackServer) -> None:
    posted = fake_slack_post(fake_slack)
    clock = Clock()
    client = PacedWebClient(pacer=ChannelPacer(redis, PacingSettings(rate=100, burst=10, max_attempts=1),
                                               clock=clock.time, sleep=clock.sleep),
                            token="xoxb-t", base_url=fake_slack.url)
    old = {"channel": "C1", "ts": posted, "text": "1 firing"}
    new = {"channel": "C1", "ts": posted, "text": "2 firing"}
    fake_slack.rate_limit("chat.update", times=1, retry_after=0.1)
    assert deliver(redis, "chat.update", "C1", old, lambda: client.chat_update(**old)) is None
    assert redis.llen(RETRY_LIST) == 1
    assert deliver(redis, "chat.update", "C1", new, lambda: client.chat_update(**new)) is not None
    assert replay_failed(redis, client) == 0
    assert fake_slack.messages[("C1", posted)]["text"] == "2 firing"
    assert redis.llen(RETRY_LIST) == 0
    # a kept edit with nothing newer is replayed
    fake_slack.rate_limit("chat.update", times=1, retry_after=0.1)
    third = {"channel": "C1", "ts": posted, "text": "3 firing"}
    assert deliver(redis, "chat.update", "C1", third, lambda: client.chat_update(**third)) is None
    assert replay_failed(redis, client) == 1
    assert fake_slack.messages[("C1", posted)]["text"] == "3 firing"


def fake_slack_post(fake_slack: FakeSlackServer) -> str:
    return str(WebClient(token="xoxb-t", base_url=fake_slack.url).chat_postMessage(channel="C1", text="x")["ts"])

"""An alert storm against ``clusterdoc serve``: 10,000 distinct alerts in 200 webhook posts.

Starts its own redis-server, a fake Slack Web API (in a child process) and
``python -m bot.cli serve`` with ``ALERTS_TOKEN`` on free loopback ports, then posts 200
Alertmanager webhook payloads of 50 distinct alerts each (each post its own alert group, so 200
incidents in one channel: a storm) from C concurrent keep-alive clients as fast as the server
takes them. Prints alerts accepted per second, p50/p99/max webhook response time, how long the
dispatcher took to apply everything, the Slack API calls made (by method), incidents created,
triage items queued, and checks that every alert is recorded in Redis (zero lost).

    .venv/bin/python bench/alert_storm.py [--posts 200] [--alerts-per-post 50] [--clients 10]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis import Redis

from bench._serve import FakeSlackChild, percentile, running_serve, serve_env
from clusterdoc.bot.alerts.intake import INBOX, PROCESSING, recorded_count
from clusterdoc.bot.alerts.storm import ITEMS_KEY
from clusterdoc.workers.alert_jobs import INFLIGHT_KEY
from tests.harness.alertmanager import alert, webhook_payload
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.redis_server import RedisServer

TOKEN = "bench-alerts-token"
CHANNEL = "C0STORM"


def _calls_by_method(server: FakeSlackServer) -> dict[str, int]:
    return dict(Counter(call.method for call in server.calls))


def _bodies(posts: int, per_post: int) -> list[bytes]:
    bodies = []
    severities = ("critical", "warning", "info")
    for group in range(posts):
        alerts = [alert(f"StormAlert{group % 20}", namespace=f"ns-{group}", pod=f"pod-{group}-{i}",
                        severity=severities[(group + i) % 3]) for i in range(per_post)]
        labels = {"alertname": f"StormAlert{group % 20}", "namespace": f"ns-{group}"}
        payload = webhook_payload(alerts, group_labels=labels)
        bodies.append(json.dumps(payload).encode())
    return bodies


def _client(port: int, bodies: list[bytes], latencies: list[float], errors: list[str], rejected: list[str]) -> None:
    """Post ``bodies``; a connection error goes to ``errors`` (no answer, no latency), a non-200 answer to
    ``rejected`` (answered, so its latency counts), a 200 is accepted."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    for body in bodies:
        started = time.perf_counter()
        try:
            connection.request("POST", "/alerts", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except OSError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            rejected.append(f"HTTP {response.status}")
    connection.close()


def answer_lines(latencies: list[float], rejected: int, errors: int, posts: int, recorded: int,
                 wall: float) -> list[str]:
    """What the posts got: accepted = answered minus non-200 (a connection error is never answered); alerts/s
    counts the alerts recorded in Redis, not those sent; latencies of every answered post (200 or not)."""
    accepted = len(latencies) - rejected
    lines = [f"  accepted {accepted}/{posts} posts in {wall:.2f} s = {recorded / wall if wall else 0:.0f} alerts/s "
             f"recorded ({rejected} rejected, {errors} connection errors)"]
    if not latencies:
        lines.append("  response time: no post was answered")
        return lines
    ms = [value * 1000 for value in latencies]
    lines.append(f"  response time p50 {percentile(ms, 0.5):.1f} ms   p99 {percentile(ms, 0.99):.1f} ms   "
                 f"max {max(ms):.1f} ms")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--alerts-per-post", type=int, default=50)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    args = parser.parse_args()
    total = args.posts * args.alerts_per_post
    bodies = _bodies(args.posts, args.alerts_per_post)

    slack = FakeSlackChild(_calls_by_method)
    with RedisServer() as redis_server, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "clusterdoc.yaml"
        config.write_text("alerts:\n  storm: {threshold: 10, window_seconds: 60, update_seconds: 2}\n")
        env = serve_env(("SLACK_", "CLUSTERDOC_", "REDIS", "ALERTS"),
                        SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET="bench-secret-0123",
                        SLACK_API_URL=slack.url, REDIS_URL=redis_server.url, ALERTS_TOKEN=TOKEN,
                        CLUSTERDOC_ALERT_CHANNEL=CHANNEL, CLUSTERDOC_CONFIG=str(config))
        with running_serve(env) as port:
            redis = Redis.from_url(redis_server.url)
            latencies: list[float] = []
            errors: list[str] = []
            rejected: list[str] = []
            shares = [bodies[i :: args.clients] for i in range(args.clients)]
            threads = [threading.Thread(target=_client, args=(port, share, latencies, errors, rejected))
                       for share in shares]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
            recorded = recorded_count(redis)
            deadline = time.monotonic() + args.drain_timeout
            while (redis.llen(INBOX) or redis.llen(PROCESSING)) and time.monotonic() < deadline:
                time.sleep(0.1)
            applied = time.perf_counter() - started
            time.sleep(3)  # let the last throttled storm-root update go out before counting Slack calls
            left = redis.llen(INBOX) + redis.llen(PROCESSING)
            incidents = sum(1 for key in redis.scan_iter(match="clusterdoc:incident:*", count=1000)
                            if not key.endswith(b":lock"))
            triage_waiting = redis.hlen(ITEMS_KEY)
            triage_enqueued = redis.llen("rq:queue:clusterdoc:default")
            in_flight = redis.zcard(INFLIGHT_KEY)
    slack_calls: dict[str, int] = slack.finish()

    print(f"alert storm: {total} distinct alerts in {args.posts} webhook posts, {args.clients} concurrent clients, "
          f"{os.cpu_count()} CPUs")
    for line in answer_lines(latencies, len(rejected), len(errors), args.posts, recorded, wall):
        print(line)
    print(f"  recorded in Redis when the last answer came: {recorded}/{total} "
          f"({'zero lost' if recorded == total else f'{total - recorded} LOST'})")
    print(f"  dispatcher applied all deliveries {applied:.2f} s after the first post ({left} left; roots are paced "
          "at about 1 message/s per channel)")
    print(f"  incidents {incidents}; triage: {triage_enqueued} enqueued, {in_flight} in flight (limit), "
          f"{triage_waiting} waiting most-severe-first (no worker runs here; a storm's items beyond its "
          "max_triage are skipped when their turn comes)")
    print(f"  Slack API calls {sum(slack_calls.values())}: {dict(sorted(slack_calls.items()))}")
    if errors or rejected:
        print(f"  errors {len(errors) + len(rejected)}; first: {(errors + rejected)[:3]}")
    return 0 if not errors and not rejected and recorded == total and left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

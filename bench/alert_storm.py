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
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from redis import Redis  # noqa: E402

from bot.alerts.intake import INBOX, PROCESSING, recorded_count  # noqa: E402
from bot.alerts.storm import ITEMS_KEY  # noqa: E402
from tests.harness.alertmanager import alert, webhook_payload  # noqa: E402
from tests.harness.ports import free_port  # noqa: E402
from tests.harness.redis_server import RedisServer  # noqa: E402
from workers.alert_jobs import INFLIGHT_KEY  # noqa: E402

TOKEN = "bench-alerts-token"
CHANNEL = "C0STORM"


def _run_fake_slack(pipe: Connection) -> None:
    from tests.harness.fake_slack import FakeSlackServer

    with FakeSlackServer() as server:
        pipe.send(server.url)
        pipe.recv()
        pipe.send(dict(Counter(call.method for call in server.calls)))


def _start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=REPO_ROOT, env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"clusterdoc serve exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("clusterdoc serve did not come up within 30 s")


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


def _client(port: int, bodies: list[bytes], latencies: list[float], errors: list[str]) -> None:
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
            errors.append(f"HTTP {response.status}")
    connection.close()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--alerts-per-post", type=int, default=50)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    args = parser.parse_args()
    total = args.posts * args.alerts_per_post
    bodies = _bodies(args.posts, args.alerts_per_post)

    parent, child = multiprocessing.Pipe()
    slack = multiprocessing.Process(target=_run_fake_slack, args=(child,), daemon=True)
    slack.start()
    slack_url = parent.recv()
    with RedisServer() as redis_server, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "clusterdoc.yaml"
        config.write_text("alerts:\n  storm: {threshold: 10, window_seconds: 60, update_seconds: 2}\n")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CLUSTERDOC_", "REDIS", "ALERTS"))}
        env.update(PYTHONPATH=str(REPO_ROOT), SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET="bench-secret-0123",
                   SLACK_API_URL=slack_url, REDIS_URL=redis_server.url, ALERTS_TOKEN=TOKEN,
                   CLUSTERDOC_ALERT_CHANNEL=CHANNEL, CLUSTERDOC_CONFIG=str(config))
        server = _start_server(env, port)
        redis = Redis.from_url(redis_server.url)
        try:
            latencies: list[float] = []
            errors: list[str] = []
            shares = [bodies[i :: args.clients] for i in range(args.clients)]
            threads = [threading.Thread(target=_client, args=(port, share, latencies, errors)) for share in shares]
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
        finally:
            server.terminate()
            server.wait(timeout=10)
    parent.send("stop")
    slack_calls: dict[str, int] = parent.recv()
    slack.join(timeout=5)

    ms = [value * 1000 for value in latencies]
    print(f"alert storm: {total} distinct alerts in {args.posts} webhook posts, {args.clients} concurrent clients, "
          f"{os.cpu_count()} CPUs")
    print(f"  accepted {len(ms) - len(errors)}/{args.posts} posts in {wall:.2f} s = {total / wall:.0f} alerts/s")
    print(f"  response time p50 {_percentile(ms, 0.5):.1f} ms   p99 {_percentile(ms, 0.99):.1f} ms   "
          f"max {max(ms):.1f} ms")
    print(f"  recorded in Redis when the last answer came: {recorded}/{total} "
          f"({'zero lost' if recorded == total else f'{total - recorded} LOST'})")
    print(f"  dispatcher applied all deliveries {applied:.2f} s after the first post ({left} left; roots are paced "
          "at about 1 message/s per channel)")
    print(f"  incidents {incidents}; triage: {triage_enqueued} enqueued, {in_flight} in flight (limit), "
          f"{triage_waiting} waiting most-severe-first (no worker runs here; a storm's items beyond its "
          "max_triage are skipped when their turn comes)")
    print(f"  Slack API calls {sum(slack_calls.values())}: {dict(sorted(slack_calls.items()))}")
    if errors:
        print(f"  errors {len(errors)}; first: {errors[:3]}")
    return 0 if not errors and recorded == total and left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

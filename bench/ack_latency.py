"""Acknowledgement latency of ``clusterdoc serve`` under load: signed slash commands, real Redis.

Starts its own redis-server, a fake Slack Web API (in a child process, so it does not share this
process's interpreter lock with the load generator) and ``python -m bot.cli serve`` on free
loopback ports; then sends N signed ``/k8s describe`` commands from C concurrent keep-alive
clients and prints p50/p90/p99/max acknowledgement latency and throughput. Each command is a
full one: after the ack the server posts the root message to the fake Slack and enqueues the job
on Redis, so that work competes for the same CPUs. Everything runs on 127.0.0.1 and stops by
itself.

    .venv/bin/python bench/ack_latency.py [--requests 1000] [--clients 20]
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis import Redis

from bench._serve import FakeSlackChild, percentile, running_serve, serve_env
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.redis_server import RedisServer
from tests.harness.signing import signed_headers, slash_command_body

SECRET = "bench-signing-secret-0123456789abcdef"
TARGET_P99_MS = 100.0


def _root_messages(server: FakeSlackServer) -> int:
    return len(server.calls_to("chat.postMessage"))


def _client(port: int, count: int, results: list[float], errors: list[str], response_url: str, text: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    for index in range(count):
        body = slash_command_body(text=text.format(index=index), response_url=response_url)
        headers = signed_headers(SECRET, body)
        started = time.perf_counter()
        try:
            connection.request("POST", "/slack/events", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
        except OSError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
            continue
        if response.status != 200:  # an error answer is not an acknowledgement: keep it out of the percentiles
            errors.append(f"HTTP {response.status}")
            continue
        results.append(elapsed)
    connection.close()


def _load(
    port: int, requests: int, clients: int, response_url: str, text: str
) -> tuple[list[float], list[str], float]:
    results: list[float] = []
    errors: list[str] = []
    shares = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
    threads = [
        threading.Thread(target=_client, args=(port, share, results, errors, response_url, text)) for share in shares
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--text", default="describe web-{index} -n shop",
                        help="the command text ({index} is the request number); an invalid one measures a bare ack")
    args = parser.parse_args()

    slack = FakeSlackChild(_root_messages)
    slack_url = slack.url
    with RedisServer() as redis_server:
        env = serve_env(SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack_url,
                        REDIS_URL=redis_server.url)
        response_url = slack_url.replace("/api/", "/response/bench")
        with running_serve(env) as port:
            _load(port, args.warmup, min(args.clients, args.warmup), response_url, args.text)
            load_started = time.perf_counter()
            latencies, errors, wall = _load(port, args.requests, args.clients, response_url, args.text)
            redis = Redis.from_url(redis_server.url)
            deadline = time.monotonic() + 30
            expected = args.requests + args.warmup if "{index}" in args.text or " " in args.text else 0
            while redis.llen("rq:queue:clusterdoc:default") < expected and time.monotonic() < deadline:
                time.sleep(0.1)
            enqueued = redis.llen("rq:queue:clusterdoc:default")
            drained = time.perf_counter() - load_started
    roots = slack.finish()

    ms = [value * 1000 for value in latencies] or [float("nan")]
    print(f"clusterdoc serve ack latency: {len(latencies)} acknowledged slash commands, "
          f"{args.clients} concurrent clients, {os.cpu_count()} CPUs")
    print(f"  p50 {percentile(ms, 0.50):.1f} ms   p90 {percentile(ms, 0.90):.1f} ms   "
          f"p99 {percentile(ms, 0.99):.1f} ms   max {max(ms):.1f} ms   mean {statistics.mean(ms):.1f} ms")
    print(f"  throughput {len(latencies) / wall:.0f} commands/s over {wall:.2f} s")
    print(f"  errors {len(errors)}   jobs enqueued {enqueued}/{expected}   root messages posted {roots}")
    if expected:
        print(f"  follow-up work (root message + enqueue) done {drained:.2f} s after the first command")
    if errors:
        print(f"  first errors: {errors[:3]}")
    p99 = percentile(ms, 0.99)
    print(f"  target p99 < {TARGET_P99_MS:.0f} ms: {'met' if p99 < TARGET_P99_MS else 'NOT met'}")
    return 0 if not errors and enqueued == expected else 1


if __name__ == "__main__":
    sys.exit(main())

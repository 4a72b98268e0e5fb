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
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from redis import Redis  # noqa: E402

from tests.harness.ports import free_port  # noqa: E402
from tests.harness.redis_server import RedisServer  # noqa: E402
from tests.harness.signing import signed_headers, slash_command_body  # noqa: E402

SECRET = "bench-signing-secret-0123456789abcdef"
TARGET_P99_MS = 100.0


def _run_fake_slack(pipe: Connection) -> None:
    from tests.harness.fake_slack import FakeSlackServer

    with FakeSlackServer() as server:
        pipe.send(server.url)
        pipe.recv()  # run until the parent says stop
        pipe.send(len(server.calls_to("chat.postMessage")))


def _start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO_ROOT, env=env,
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
        if response.status != 200:
            errors.append(f"HTTP {response.status}")
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


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--text", default="describe web-{index} -n shop",
                        help="the command text ({index} is the request number); an invalid one measures a bare ack")
    args = parser.parse_args()

    parent, child = multiprocessing.Pipe()
    slack = multiprocessing.Process(target=_run_fake_slack, args=(child,), daemon=True)
    slack.start()
    slack_url = parent.recv()
    with RedisServer() as redis_server:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CLUSTERDOC_", "REDIS"))}
        env.update(
            PYTHONPATH=str(REPO_ROOT), SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack_url, REDIS_URL=redis_server.url,
        )
        server = _start_server(env, port)
        response_url = slack_url.replace("/api/", "/response/bench")
        try:
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
        finally:
            server.terminate()
            server.wait(timeout=10)
    parent.send("stop")
    roots = parent.recv()
    slack.join(timeout=5)

    ms = [value * 1000 for value in latencies]
    print(f"clusterdoc serve ack latency: {len(ms)} signed slash commands, {args.clients} concurrent clients, "
          f"{os.cpu_count()} CPUs")
    print(f"  p50 {_percentile(ms, 0.50):.1f} ms   p90 {_percentile(ms, 0.90):.1f} ms   "
          f"p99 {_percentile(ms, 0.99):.1f} ms   max {max(ms):.1f} ms   mean {statistics.mean(ms):.1f} ms")
    print(f"  throughput {len(ms) / wall:.0f} commands/s over {wall:.2f} s")
    print(f"  errors {len(errors)}   jobs enqueued {enqueued}/{expected}   root messages posted {roots}")
    if expected:
        print(f"  follow-up work (root message + enqueue) done {drained:.2f} s after the first command")
    if errors:
        print(f"  first errors: {errors[:3]}")
    p99 = _percentile(ms, 0.99)
    print(f"  target p99 < {TARGET_P99_MS:.0f} ms: {'met' if p99 < TARGET_P99_MS else 'NOT met'}")
    return 0 if not errors and enqueued == expected else 1


if __name__ == "__main__":
    sys.exit(main())

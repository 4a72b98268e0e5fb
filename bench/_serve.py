"""What the ``clusterdoc serve`` benchmarks share: the server as a subprocess, a fake Slack in a child
process (so it does not share the load generator's interpreter lock), a cleaned environment and
percentiles.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.harness.fake_slack import FakeSlackServer  # noqa: E402
from tests.harness.ports import free_port  # noqa: E402

Summary = Callable[[FakeSlackServer], Any]


def _run_fake_slack(pipe: Connection, summary: Summary) -> None:
    with FakeSlackServer() as server:
        pipe.send(server.url)
        pipe.recv()  # run until the parent says stop
        pipe.send(summary(server))


class FakeSlackChild:
    """A :class:`FakeSlackServer` in a child process; :meth:`finish` stops it and returns ``summary(server)``."""

    def __init__(self, summary: Summary) -> None:
        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=_run_fake_slack, args=(child, summary), daemon=True)
        self._process.start()
        self.url: str = self._pipe.recv()

    def finish(self) -> Any:
        self._pipe.send("stop")
        result = self._pipe.recv()
        self._process.join(timeout=5)
        return result


def serve_env(drop: tuple[str, ...] = ("SLACK_", "CLUSTERDOC_", "REDIS"), **values: str) -> dict[str, str]:
    """This environment without variables starting with ``drop``, plus ``PYTHONPATH`` and ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(PYTHONPATH=str(REPO_ROOT), **values)
    return env


def _start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "clusterdoc", "serve", "--host", "127.0.0.1", "--port", str(port)],
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


@contextmanager
def running_serve(env: dict[str, str]) -> Iterator[int]:
    """``python -m bot.cli serve`` on a free port, answering ``/healthz``; yields the port, stops it after."""
    port = free_port()
    server = _start_server(env, port)
    try:
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

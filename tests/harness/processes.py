"""``python -m clusterdoc`` as an operator starts it, for end-to-end tests; plus waiting and stopping helpers.

:func:`process_env` is this environment without the machine's Slack/cluster settings;
:class:`ServeProcess` runs ``clusterdoc serve`` on a loopback port and returns once it answers its
readiness path; :func:`run_burst_worker` runs ``clusterdoc worker --burst`` to completion;
:func:`stop_process` ends any child (terminate, then kill); :func:`wait_until` polls a condition.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.harness.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
MACHINE_SETTINGS = ("SLACK_", "CLUSTERDOC_", "KUBECONFIG", "REDIS")
"""Environment variable prefixes a test process must not inherit from the machine running the tests."""

T = TypeVar("T")


def wait_until(condition: Callable[[], T], what: str = "the condition", timeout: float = 10.0,
               interval: float = 0.05) -> T:
    """Poll ``condition`` until it returns something truthy (returned); AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        time.sleep(interval)


def stop_process(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """Terminate ``process`` if it still runs; kill it when it has not exited after ``timeout``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def process_env(**values: str) -> dict[str, str]:
    """This environment without any Slack/cluster settings of the machine, plus ``values``."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(MACHINE_SETTINGS)}
    return {**keep, "PYTHONPATH": str(REPO_ROOT), **values}


class ServeProcess:
    """A ``clusterdoc serve`` subprocess, ready once ``ready_path`` answers 200.

    ``port`` defaults to a free one (give one to restart the bot where a webhook points).
    ``capture`` keeps stdout and stderr for :meth:`stop` to return; otherwise they are discarded.
    """

    def __init__(self, env: dict[str, str], *cli_options: str, port: int | None = None,
                 ready_path: str = "/healthz", timeout: float = 30.0, capture: bool = True) -> None:
        self.port = free_port() if port is None else port
        self.url = f"http://127.0.0.1:{self.port}"
        output = subprocess.PIPE if capture else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clusterdoc", *cli_options, "serve",
             "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, text=True,
        )
        try:
            wait_until(lambda: self.process.poll() is not None or self._answers(ready_path),
                       f"clusterdoc serve to answer {ready_path}", timeout)
        except AssertionError:
            raise AssertionError(f"clusterdoc serve did not answer {ready_path} within {timeout} s:\n{self.stop()}") \
                from None
        if self.process.poll() is not None:
            raise AssertionError(f"clusterdoc serve exited with {self.process.returncode}:\n{self.stop()}")

    def _answers(self, path: str) -> bool:
        try:
            return httpx.get(f"{self.url}{path}", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> str:
        """Stop the server; returns everything it printed (empty when not captured)."""
        stop_process(self.process)
        return self.process.stdout.read() if self.process.stdout else ""


def run_burst_worker(env: dict[str, str], *cli_options: str) -> subprocess.CompletedProcess[str]:
    """``clusterdoc worker --burst``: runs the queued jobs, then exits; output captured."""
    return subprocess.run(
        [sys.executable, "-m", "clusterdoc", *cli_options, "worker", "--burst"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )

"""A real ``redis-server`` process on a free loopback port, in a throwaway directory.

Tests use the real server, never a fake: RQ's queues, job hashes and worker registries behave
exactly as in production. No persistence (``--save ''``, no AOF), so starting and stopping is
quick and leaves nothing behind.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tests.harness.ports import free_port
from tests.harness.processes import stop_process

DEFAULT_BINARY = "/usr/bin/redis-server"
MISSING_MESSAGE = (
    "redis-server not found at {binary}: install Debian's redis-server package "
    "(apt-get install -y redis-server); the tests need a real Redis"
)


class RedisServerError(RuntimeError):
    """The server could not be started; the message says why in one line."""


def find_binary(binary: str | None = None) -> str:
    """The redis-server to run: ``binary``, else /usr/bin/redis-server, else one on PATH."""
    if binary:
        candidates = [binary]
    else:
        candidates = [DEFAULT_BINARY, shutil.which("redis-server") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise RedisServerError(MISSING_MESSAGE.format(binary=binary or DEFAULT_BINARY))


def _ping(port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A running ``redis-server``; started by the constructor, stopped by :meth:`stop`.

    ``url`` is ``redis://127.0.0.1:PORT/0``. Use as a context manager to stop it on exit.
    """

    def __init__(self, binary: str | None = None, *, startup_timeout: float = 10.0) -> None:
        self.binary = find_binary(binary)
        self.startup_timeout = startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._tmpdir = tempfile.TemporaryDirectory(prefix="clusterdoc-redis-")
        self.dir = Path(self._tmpdir.name)
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start the process (no-op when running); retries on a port taken between pick and bind."""
        if self.process is not None and self.process.poll() is None:
            return self
        problem = ""
        self.dir.mkdir(parents=True, exist_ok=True)
        for _attempt in range(3):
            self.port = free_port()
            log_file = self.dir / f"redis-{self.port}.log"
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--port", str(self.port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(self.dir),
                    "--logfile", str(log_file),
                    "--daemonize", "no",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            deadline = time.monotonic() + self.startup_timeout
            while time.monotonic() < deadline:
                if _ping(self.port):
                    return self
                if self.process.poll() is not None:
                    break
                time.sleep(0.02)
            stderr = b""
            if self.process.poll() is None:
                self.process.kill()
            else:
                stderr = self.process.stderr.read() if self.process.stderr else b""
            self.process.wait()
            log_tail = log_file.read_text(errors="replace").strip().splitlines()[-1:] if log_file.exists() else []
            problem = (stderr.decode(errors="replace").strip() or " ".join(log_tail) or "no answer to PING").strip()
        self.process = None
        raise RedisServerError(f"redis-server did not start on 127.0.0.1: {problem}")

    def stop(self) -> None:
        """Stop the process and remove its directory."""
        if self.process is not None:
            stop_process(self.process, timeout=5)
            if self.process.stderr:
                self.process.stderr.close()
            self.process = None
        self._tmpdir.cleanup()

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

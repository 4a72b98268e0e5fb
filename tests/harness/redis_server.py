"""A real ``redis-server`` process on a free loopback port, in a throwaway directory.

Tests use the real server, never a fake: RQ's queues, job hashes and worker registries behave
exactly as in production. No persistence (``--save ''``, no AOF), so starting and stopping is
quick and leaves nothing behind.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for a TLS redis-server: its certificate and key, and the CA clients are checked against."""

    cert: Path
    key: Path
    ca: Path
    client_cert: Path | None = None
    client_key: Path | None = None


def _ping(port: int, timeout: float = 0.2, tls: TlsFiles | None = None) -> bool:
    """True when the server answers (PONG, or NOAUTH from one that wants a password)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            sock: socket.socket = raw
            if tls is not None:
                context = ssl.create_default_context(cafile=str(tls.ca))
                if tls.client_cert and tls.client_key:
                    context.load_cert_chain(str(tls.client_cert), str(tls.client_key))
                sock = context.wrap_socket(raw, server_hostname="localhost")
            sock.sendall(b"PING\r\n")
            answer = sock.recv(64)
            return answer.startswith(b"+PONG") or answer.startswith(b"-NOAUTH")
    except OSError:
        return False


class RedisServer:
    """A running ``redis-server``; started by the constructor, stopped by :meth:`stop`.

    ``url`` is ``redis://127.0.0.1:PORT/0``. Use as a context manager to stop it on exit.
    """

    def __init__(
        self,
        binary: str | None = None,
        *,
        startup_timeout: float = 10.0,
        password: str | None = None,
        tls: TlsFiles | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.binary = find_binary(binary)
        self.startup_timeout = startup_timeout
        self.password = password
        self.tls = tls
        self.extra_args = list(extra_args)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._tmpdir = tempfile.TemporaryDirectory(prefix="clusterdoc-redis-")
        self.dir = Path(self._tmpdir.name)
        self.start()

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0`` (``rediss://localhost:PORT/0`` with TLS; never the password)."""
        if self.tls is not None:
            return f"rediss://localhost:{self.port}/0"
        return f"redis://127.0.0.1:{self.port}/0"

    def _args(self) -> list[str]:
        args = ["--bind", "127.0.0.1"]
        if self.tls is not None:
            args += [
                "--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(self.tls.cert),
                "--tls-key-file", str(self.tls.key), "--tls-ca-cert-file", str(self.tls.ca),
                "--tls-auth-clients", "optional",
            ]
        else:
            args += ["--port", str(self.port)]
        if self.password is not None:
            args += ["--requirepass", self.password]
        return args

    def start(self, *, same_port: bool = False) -> RedisServer:
        """Start the process (no-op when running); retries on a port taken between pick and bind.

        ``same_port`` restarts on the port of the previous run (clients reconnect to the same URL).
        """
        if self.process is not None and self.process.poll() is None:
            return self
        problem = ""
        self.dir.mkdir(parents=True, exist_ok=True)
        for _attempt in range(3):
            if not (same_port and self.port):
                self.port = free_port()
            log_file = self.dir / f"redis-{self.port}.log"
            self.process = subprocess.Popen(
                [
                    self.binary,
                    *self._args(),
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(self.dir),
                    "--logfile", str(log_file),
                    "--daemonize", "no",
                    *self.extra_args,  # last: they may override the defaults above (e.g. --appendonly yes)
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            deadline = time.monotonic() + self.startup_timeout
            while time.monotonic() < deadline:
                if _ping(self.port, tls=self.tls):
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

    def halt(self) -> None:
        """Stop the process, keeping its directory and port (``start(same_port=True)`` brings it back)."""
        if self.process is not None:
            stop_process(self.process, timeout=5)
            if self.process.stderr:
                self.process.stderr.close()
            self.process = None

    def stop(self) -> None:
        """Stop the process and remove its directory."""
        self.halt()
        self._tmpdir.cleanup()

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

"""Plumbing shared by the in-process fakes: a server run in a daemon thread, and a quiet HTTP handler.

:class:`BackgroundServer` gives a fake its ``start``/``stop``/context-manager lifecycle around any
server object with ``serve_forever`` and ``shutdown`` (``http.server`` or ``websockets``).
:class:`HTTPFake` adds a :class:`QuietHTTPServer` on 127.0.0.1 and its ``port``/``base`` URL;
:class:`QuietHandler` is the HTTP/1.1 keep-alive handler base that reads bodies and writes replies.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self


class BackgroundServer:
    """Serves in a daemon thread from :meth:`start` until :meth:`stop`; also a context manager."""

    thread_name: ClassVar[str] = "fake-server"
    join_timeout: ClassVar[float] = 5.0
    _thread: threading.Thread | None = None

    def _serve_forever(self) -> None:
        raise NotImplementedError

    def _shutdown(self) -> None:
        """Make :meth:`_serve_forever` return (called from another thread)."""
        raise NotImplementedError

    def _after_shutdown(self) -> None:
        """Release what the server holds once it no longer serves (by default nothing)."""

    def start(self) -> Self:
        """Serve in a daemon thread (no-op when already serving)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve_forever, name=self.thread_name, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._shutdown()
            self._thread.join(timeout=self.join_timeout)
            self._thread = None
        self._after_shutdown()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that keeps a reference to its fake and does not print client hang-ups."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: Any, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.fake = fake
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, stopped tests) are normal here; anything else is printed."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no Nagle delay, no access log; helpers to read a body and send a reply."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: each fake records its own requests."""

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_reply(self, status: int, body: bytes, content_type: str, headers: Iterable[tuple[str, str]]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class HTTPFake(BackgroundServer):
    """A fake served by a :class:`QuietHTTPServer` on 127.0.0.1 (port 0: the OS picks a free one)."""

    _server: QuietHTTPServer

    def _bind(self, server: QuietHTTPServer) -> None:
        """Take ``server`` and start serving it."""
        self._server = server
        self.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def _serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.05)

    def _shutdown(self) -> None:
        self._server.shutdown()

    def _after_shutdown(self) -> None:
        self._server.server_close()

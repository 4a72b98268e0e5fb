"""A real Prometheus (Debian's ``prometheus``) serving backfilled series, for the metrics/triage tests.

:class:`OpenMetrics` collects series (name, labels, points) and writes them as an OpenMetrics file;
:func:`start_prometheus` turns it into TSDB blocks with ``promtool tsdb create-blocks-from
openmetrics`` and starts ``prometheus`` on a free loopback port with ``--storage.tsdb.path`` on
them (no scrape targets). Histograms are written as their ``_bucket`` counters, which is all
``histogram_quantile(rate(...))`` needs.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
import urllib3

from tests.harness.ports import free_port
from tests.harness.processes import stop_process

PROMETHEUS, PROMTOOL = "/usr/bin/prometheus", "/usr/bin/promtool"
BUCKETS = (0.001, 0.002, 0.004, 0.016, 0.064, 0.256, 1.0, 4.0, 16.0, 64.0)


def _labels(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else ""


class OpenMetrics:
    def __init__(self) -> None:
        self.families: dict[str, list[tuple[dict[str, str], list[tuple[float, float]]]]] = defaultdict(list)

    def series(self, name: str, labels: dict[str, str], points: list[tuple[float, float]]) -> None:
        self.families[name].append((labels, points))

    def histogram(self, name: str, labels: dict[str, str], times: list[float], upper_of: Callable[[float], float],
                  per_sample: float = 100.0) -> None:
        """``name_bucket`` counters where each scrape adds ``per_sample`` observations at the value ``upper_of(t)``."""
        counts = {le: 0.0 for le in (*BUCKETS, float("inf"))}
        points: dict[float, list[tuple[float, float]]] = {le: [] for le in counts}
        for t in times:
            value = upper_of(t)
            for le in counts:
                if value <= le:
                    counts[le] += per_sample
                points[le].append((t, counts[le]))
        for le, series in points.items():
            self.series(f"{name}_bucket", {**labels, "le": "+Inf" if le == float("inf") else repr(le)}, series)

    def text(self) -> str:
        lines: list[str] = []
        for name, members in self.families.items():
            lines.append(f"# TYPE {name} gauge")
            for labels, points in members:
                lines.extend(f"{name}{_labels(labels)} {value} {t:.3f}" for t, value in points)
        lines.append("# EOF")
        return "\n".join(lines) + "\n"


class PrometheusServer:
    def __init__(self, metrics: OpenMetrics) -> None:
        for binary in (PROMETHEUS, PROMTOOL):
            if not Path(binary).is_file():
                pytest.fail(f"{binary} not found: install Debian's prometheus package", pytrace=False)
        self.dir = Path(tempfile.mkdtemp(prefix="clusterdoc-prom-"))
        source = self.dir / "data.om"
        source.write_text(metrics.text())
        data = self.dir / "tsdb"
        made = subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
                              capture_output=True, text=True, timeout=300)
        if made.returncode != 0:
            pytest.fail(f"promtool could not backfill: {made.stderr[-2000:]}", pytrace=False)
        config = self.dir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\n")
        self.port = free_port()
        self.log = (self.dir / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={data}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=30d",
             "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=self.log)
        http = urllib3.PoolManager(retries=False)
        deadline = time.monotonic() + 90
        while True:
            try:
                if http.request("GET", f"{self.url}/-/ready", timeout=1).status == 200:
                    break
            except urllib3.exceptions.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"prometheus did not start: {(self.dir / 'prometheus.log').read_text()[-2000:]}",
                            pytrace=False)
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class AuthProxy:
    """An HTTPS front for a Prometheus that demands a bearer token or basic auth (as a real ingress would).

    Answers 401 without the expected ``Authorization`` header, else forwards the GET/POST to
    ``upstream`` and returns its answer. Serves TLS with ``cert``/``key``.
    """

    def __init__(self, upstream: str, cert: Path, key: Path, authorization: str) -> None:
        import http.server
        import ssl
        import threading

        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                proxy.seen.append(self.headers.get("Authorization", ""))
                if self.headers.get("Authorization") != authorization:
                    self.send_response(401)
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                answer = urllib3.PoolManager().request(self.command, upstream + self.path, body=body,
                                                       headers={"Content-Type": self.headers.get(
                                                           "Content-Type", "application/x-www-form-urlencoded")})
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.data)))
                self.end_headers()
                self.wfile.write(answer.data)

            do_GET = _forward
            do_POST = _forward

        self.seen: list[str] = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

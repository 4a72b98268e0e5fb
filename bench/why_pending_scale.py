"""Scale benchmark for why-pending: 5,000 nodes and 150,000 pods behind the fake API server.

The cluster comes from :func:`bench.gen_cluster.generate` (one pod, ``bench/stuck-0``, fits
nowhere). The fake API server runs in its own process so it never shares a GIL with the client
under test. Each measurement runs in a fresh process, so its peak RSS (``ru_maxrss``) is its own:

1. **why-pending**: ``LiveCluster`` + ``run_request`` for the pending pod; wall time, peak RSS,
   API requests (from the server's request log).
2. **floor**: every page of nodes and of all pods fetched as raw JSON with the page size the
   why-pending run used, each page ``json.loads``-ed, nothing else.

It prints the figures and the ratio wall/floor (targets: ratio <= 1.25, peak RSS <= 600 MB).
No assertions: absolute times on shared machines are only indicative.

    .venv/bin/python -m bench.why_pending_scale                 # 5,000 nodes, 150,000 pods
    .venv/bin/python -m bench.why_pending_scale --nodes 200 --pods 6000
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing as mp
import pstats
import resource
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

from bench.gen_cluster import NOW, PENDING_NAME, PENDING_NAMESPACE, ClusterShape, generate

TARGET_RATIO = 1.25
TARGET_RSS_MB = 600.0
DEFAULT_PAGE_SIZE = 500


@dataclass(frozen=True)
class Measurement:
    """One timed run in its own process."""

    wall: float
    peak_rss_mb: float
    requests: int
    note: str = ""


# -- the server process ----------------------------------------------------------------------------


def _serve(shape: ClusterShape, conn: Connection) -> None:
    """Generate the cluster, serve it, answer ``log``/``reset``/``stop`` commands on ``conn``."""
    from tests.harness.fake_kube import FakeKubeServer

    server = FakeKubeServer(generate(shape))
    conn.send(server.url)
    while True:
        command = conn.recv()
        if command == "log":
            conn.send([(r.method, r.path, dict(r.query)) for r in server.requests])
        elif command == "reset":
            server.reset_log()
            conn.send(True)
        else:
            server.stop()
            conn.send(True)
            return


# -- the measured processes ------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _why_pending(url: str, qps: float | None, profile: bool, conn: Connection) -> None:
    from clusterdoc.queue import DiagnosisRequest
    from clusterdoc.report import Target
    from clusterdoc.workers.runbook.engine import run_request
    from clusterdoc.workers.runbook.loader import Catalogue
    from tests.harness.fake_kube import live_cluster

    catalogue = Catalogue.load()
    cluster = live_cluster(url, **({"qps": qps, "burst": int(qps * 2)} if qps else {}))
    request = DiagnosisRequest(verb="why-pending", runbook="why-pending",
                               target=Target("Pod", PENDING_NAME, PENDING_NAMESPACE))
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    report = run_request(catalogue, request, cluster, now=NOW)
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - start
    note = report.verdict.summary
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
        note += "\n" + text.getvalue()
    conn.send(Measurement(wall, _peak_rss_mb(), cluster.request_count(), note))


def _floor(url: str, page_size: int, conn: Connection) -> None:
    import json

    import urllib3

    pool = urllib3.PoolManager(maxsize=2)
    requests = 0
    items = 0
    start = time.perf_counter()
    for path in ("/api/v1/nodes", "/api/v1/pods"):
        token = ""
        while True:
            fields: dict[str, Any] = {"limit": page_size}
            if token:
                fields["continue"] = token
            response = pool.request("GET", url + path, fields=fields, headers={"Accept": "application/json"})
            requests += 1
            page = json.loads(response.data)
            items += len(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                break
    wall = time.perf_counter() - start
    conn.send(Measurement(wall, _peak_rss_mb(), requests, f"{items} objects"))


def _in_fresh_process(target: Any, *args: Any) -> Measurement:
    context = mp.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(*args, child))
    process.start()
    child.close()  # so a crashed child gives EOFError here instead of a hang
    try:
        result: Measurement = parent.recv()
    except EOFError:
        process.join()
        raise RuntimeError(f"{target.__name__} died (exit code {process.exitcode}); see its traceback above") from None
    process.join()
    return result


# -- driver -------------------------------------------------------------------------------------------


def _page_size_used(log: list[tuple[str, str, dict[str, str]]]) -> int:
    """The ``limit`` the why-pending run used for its pod LISTs (the default when it sent none)."""
    limits = Counter(query.get("limit") for _, path, query in log if path.endswith("/pods") and query.get("limit"))
    return int(limits.most_common(1)[0][0]) if limits else DEFAULT_PAGE_SIZE


def _describe_log(log: list[tuple[str, str, dict[str, str]]]) -> str:
    kinds = Counter(urlsplit(path).path.rsplit("/", 1)[-1] if "pods/" not in path else "pods/*" for _, path, _ in log)
    return ", ".join(f"{count} {kind}" for kind, count in kinds.most_common(8))


def run(shape: ClusterShape, repeat: int = 1, qps: float | None = None, profile: bool = False) -> dict[str, Any]:
    """Serve ``shape``, measure why-pending and the floor ``repeat`` times; the best of each."""
    context = mp.get_context("spawn")
    parent, child = context.Pipe()
    started = time.perf_counter()
    server = context.Process(target=_serve, args=(shape, child), daemon=True)
    server.start()
    url = parent.recv()
    setup = time.perf_counter() - started
    try:
        runs, floors = [], []
        log: list[tuple[str, str, dict[str, str]]] = []
        for _ in range(repeat):
            parent.send("reset")
            parent.recv()
            runs.append(_in_fresh_process(_why_pending, url, qps, profile))
            parent.send("log")
            log = parent.recv()
            page_size = _page_size_used(log)
            floors.append(_in_fresh_process(_floor, url, page_size))
    finally:
        parent.send("stop")
        parent.recv()
        server.join(timeout=10)
    best = min(runs, key=lambda m: m.wall)
    floor = min(floors, key=lambda m: m.wall)
    return {
        "shape": shape, "setup": setup, "why_pending": best, "floor": floor, "page_size": page_size,
        "server_requests": len(log), "request_mix": _describe_log(log), "ratio": best.wall / floor.wall,
        "peak_rss_mb": max(m.peak_rss_mb for m in runs),
        "list_queries": sorted({(urlsplit(p).path, tuple(sorted((k, v) for k, v in q.items() if k != "continue")))
                                for _, p, q in log if "limit" in q})[:6],
    }


def report(figures: dict[str, Any]) -> str:
    shape, best, floor = figures["shape"], figures["why_pending"], figures["floor"]
    lines = [
        f"cluster: {shape.nodes} nodes, {shape.pods} pods (+1 pending); "
        f"generated and served in {figures['setup']:.1f}s",
        f"why-pending: wall {best.wall:.2f}s, peak RSS {figures['peak_rss_mb']:.0f} MB, "
        f"API requests {figures['server_requests']} (client counted {best.requests})",
        f"  requests by resource: {figures['request_mix']}",
        f"  verdict: {best.note}",
        f"floor (raw JSON pages of nodes + all pods, limit={figures['page_size']}, json.loads): "
        f"wall {floor.wall:.2f}s, peak RSS {floor.peak_rss_mb:.0f} MB, {floor.requests} requests, {floor.note}",
        f"ratio wall/floor: {figures['ratio']:.2f} (target <= {TARGET_RATIO}); "
        f"peak RSS target <= {TARGET_RSS_MB:.0f} MB: {'met' if figures['peak_rss_mb'] <= TARGET_RSS_MB else 'MISSED'}; "
        f"ratio target: {'met' if figures['ratio'] <= TARGET_RATIO else 'MISSED'}",
    ]
    for path, query in figures["list_queries"]:
        lines.append(f"  list: {path} {dict(query)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.why_pending_scale", description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=150_000)
    parser.add_argument("--repeat", type=int, default=1, help="measure N times, report the best")
    parser.add_argument("--qps", type=float, default=None,
                        help="client-side QPS limit for LiveCluster (default: LiveCluster's own default)")
    parser.add_argument("--profile", action="store_true", help="print the why-pending run's cProfile top 15")
    args = parser.parse_args(argv)
    figures = run(ClusterShape(nodes=args.nodes, pods=args.pods), repeat=args.repeat, qps=args.qps,
                  profile=args.profile)
    print(report(figures), flush=True)
    return figures


if __name__ == "__main__":
    main()

"""Scale benchmark for why-pending: 5,000 nodes and 150,000 pods behind the fake API server.

The cluster comes from :func:`bench.gen_cluster.generate` (one pod, ``bench/stuck-0``, fits
nowhere). By default it asks for 15 CPUs: the 16-CPU nodes could hold it if their pods left room, so
the answer depends on every pod, which is read and accounted — the case this benchmark is about.
``--pending-cpu 64`` asks for more than any node has: no pod can matter, why-pending reads none, and
its ratio says only that. The fake API server runs in its own process so it never shares a GIL with the client
under test. Each measurement runs in a fresh process, so its peak RSS (``ru_maxrss``) is its own:

1. **why-pending**: ``LiveCluster`` + ``run_request`` for the pending pod; wall time, peak RSS,
   API requests (from the server's request log).
2. **floor**, the true minimum for the same data: every node and every pod paged as raw JSON
   with exactly the LIST queries the why-pending run sent (same ``limit``, ``fieldSelector``,
   ``resourceVersion``), over ONE keep-alive ``http.client`` connection, the cyclic GC off (as
   clusterdoc decodes), each page decoded both ways clusterdoc could — ``json.loads`` of the page, and
   the C scanner over the ``items`` array one element at a time (clusterdoc's way) — nothing else;
   the faster decoder's best run is the floor.

The two alternate (why-pending, floor, why-pending, floor, ...) ``--repeat`` times (default 3), and
the best of each is compared: ratio wall/floor (target <= 1.10) and peak RSS (target <= 600 MB).
``--curve`` measures 1k/30k, 5k/150k and 10k/300k nodes/pods and prints the ratio per size: it must
stay flat as the cluster grows. No assertions: absolute times on shared machines are only indicative.

    .venv/bin/python -m bench.why_pending_scale                 # 5,000 nodes, 150,000 pods, best of 3
    .venv/bin/python -m bench.why_pending_scale --curve         # the three sizes
    .venv/bin/python -m bench.why_pending_scale --nodes 200 --pods 6000 --repeat 1
    .venv/bin/python -m bench.why_pending_scale --pending-cpu 64  # bigger than every node: no pod read
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing as mp
import pstats
import resource
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

from bench.gen_cluster import NOW, PENDING_NAME, PENDING_NAMESPACE, ClusterShape, generate

TARGET_RATIO = 1.10
TARGET_RSS_MB = 600.0
DEFAULT_PAGE_SIZE = 500
CURVE = ((1000, 30_000), (5000, 150_000), (10_000, 300_000))
DEFAULT_PENDING_CPU = "15"
"""Fits some nodes' allocatable but not what is free on them: the why-pending answer depends on every pod."""
FLOOR_DECODERS = ("items", "page")
"""The floor decodes each page both ways (per item with the C scanner, whole page with ``json.loads``)."""


@dataclass(frozen=True)
class Measurement:
    """One timed run in its own process."""

    wall: float
    peak_rss_mb: float
    requests: int
    note: str = ""
    cpu: float = 0.0
    """CPU seconds (user + system, all threads) of the measured part: steadier than wall time on a busy machine."""


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


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
    cpu_start = _cpu()
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    report = run_request(catalogue, request, cluster, now=NOW)
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - start
    cpu = _cpu() - cpu_start
    note = report.verdict.summary
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
        note += "\n" + text.getvalue()
    conn.send(Measurement(wall, _peak_rss_mb(), cluster.request_count(), note, cpu))


def _floor(url: str, queries: list[tuple[str, dict[str, str]]], decoder: str, conn: Connection) -> None:
    """Page every LIST of ``queries`` over one keep-alive connection and decode each page, GC off.

    ``decoder`` is ``page`` (``json.loads`` of the whole page) or ``items`` (the standard library's C
    scanner run over the ``items`` array one element at a time, each dropped at once: what clusterdoc's
    live client does, written here as a tight loop without generators). The driver runs both and the
    floor is the faster, so the floor always has every decoding trick clusterdoc has.
    """
    import gc
    import http.client
    import json
    import re
    from json.scanner import make_scanner
    from urllib.parse import urlencode

    scan, space = make_scanner(json.JSONDecoder()), re.compile(r"[ \t\n\r]*").match
    items_key = re.compile(r'"items"[ \t\n\r]*:[ \t\n\r]*\[')
    continue_key = re.compile(r'"continue"[ \t\n\r]*:[ \t\n\r]*"([^"]*)"')

    def decode_items(body: bytes) -> tuple[int, str]:
        text = body.decode("utf-8")
        start = items_key.search(text)
        if start is None:
            raise ValueError("no items in a LIST page")
        count, index = 0, space(text, start.end()).end()
        while text[index] != "]":
            item, index = scan(text, index)
            del item
            count += 1
            index = space(text, index).end()
            if text[index] == ",":
                index = space(text, index + 1).end()
        token = continue_key.search(text, 0, start.start())  # metadata precedes items in a LIST answer
        return count, token.group(1) if token else ""

    def decode_page(body: bytes) -> tuple[int, str]:
        page = json.loads(body)
        token = (page.get("metadata") or {}).get("continue") or ""
        return len(page.get("items") or []), token

    decode = decode_items if decoder == "items" else decode_page
    gc.disable()  # JSON has no cycles; clusterdoc pauses the collector for its decodes too
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    requests = items = 0
    cpu_start = _cpu()
    start = time.perf_counter()
    for path, params in queries:
        token = ""
        while True:
            query = dict(params)
            if token:
                query.pop("resourceVersion", None)
                query["continue"] = token
            connection.request("GET", f"{path}?{urlencode(query)}", headers={"Accept": "application/json"})
            body = connection.getresponse().read()
            requests += 1
            count, token = decode(body)
            del body
            items += count
            if not token:
                break
    wall = time.perf_counter() - start
    cpu = _cpu() - cpu_start
    connection.close()
    conn.send(Measurement(wall, _peak_rss_mb(), requests, f"{items} objects, decoded by {decoder}", cpu))


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


def _floor_queries(log: list[tuple[str, str, dict[str, str]]]) -> list[tuple[str, dict[str, str]]]:
    """The why-pending run's first-page LIST queries of every node and every pod, as the floor replays them.

    Nodes: its node LIST. Pods: its cluster-wide pod LIST if it made one, else (it read pods per node or
    not at all) every pod with its page size and active-pod field selector — the floor is always all of them.
    """
    def first(suffix: str) -> tuple[str, dict[str, str]] | None:
        for _, path, query in log:
            if urlsplit(path).path == suffix and "limit" in query and "continue" not in query:
                return suffix, {k: v for k, v in query.items() if k != "continue"}
        return None

    nodes = first("/api/v1/nodes") or ("/api/v1/nodes", {"limit": str(DEFAULT_PAGE_SIZE)})
    pods = first("/api/v1/pods")
    if pods is None:
        limits = Counter(q.get("limit") for _, p, q in log if p.endswith("/pods") and q.get("limit"))
        limit = str(limits.most_common(1)[0][0]) if limits else str(DEFAULT_PAGE_SIZE)
        pods = ("/api/v1/pods", {"limit": limit, "fieldSelector": "status.phase!=Succeeded,status.phase!=Failed",
                                 "resourceVersion": "0"})
    return [nodes, pods]


def _describe_log(log: list[tuple[str, str, dict[str, str]]]) -> str:
    kinds = Counter(urlsplit(path).path.rsplit("/", 1)[-1] if "pods/" not in path else "pods/*" for _, path, _ in log)
    return ", ".join(f"{count} {kind}" for kind, count in kinds.most_common(8))


def run(shape: ClusterShape, repeat: int = 3, qps: float | None = None, profile: bool = False) -> dict[str, Any]:
    """Serve ``shape``; measure why-pending and the floor alternately ``repeat`` times; the best of each."""
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
        queries: list[tuple[str, dict[str, str]]] = []
        for _ in range(repeat):
            parent.send("reset")
            parent.recv()
            runs.append(_in_fresh_process(_why_pending, url, qps, profile and not runs))
            parent.send("log")
            log = parent.recv()
            queries = _floor_queries(log)
            for decoder in FLOOR_DECODERS:
                floors.append(_in_fresh_process(_floor, url, queries, decoder))
    finally:
        parent.send("stop")
        parent.recv()
        server.join(timeout=10)
    best = min(runs, key=lambda m: m.wall)
    floor = min(floors, key=lambda m: m.wall)
    same_decoder = [m.wall for m in floors if m.note.endswith(floor.note.rsplit(" ", 1)[-1])]
    median_ratio = statistics.median(m.wall for m in runs) / statistics.median(same_decoder)
    if profile and runs[0] is not best:
        best = Measurement(best.wall, best.peak_rss_mb, best.requests, runs[0].note)
    return {
        "shape": shape, "setup": setup, "why_pending": best, "floor": floor, "floor_queries": queries,
        "server_requests": len(log), "request_mix": _describe_log(log), "ratio": best.wall / floor.wall,
        "median_ratio": median_ratio,
        "peak_rss_mb": max(m.peak_rss_mb for m in runs), "walls": [m.wall for m in runs],
        "cpu_ratio": min(m.cpu for m in runs) / max(min(m.cpu for m in floors), 1e-9),
        "floor_walls": [m.wall for m in floors], "floors": floors, "cpu_walls": [m.cpu for m in runs],
        "floor_cpus": [m.cpu for m in floors],
        "list_queries": sorted({(urlsplit(p).path, tuple(sorted((k, v) for k, v in q.items() if k != "continue")))
                                for _, p, q in log if "limit" in q})[:6],
    }


def report(figures: dict[str, Any]) -> str:
    shape, best, floor = figures["shape"], figures["why_pending"], figures["floor"]
    walls = ", ".join(f"{w:.2f}" for w in figures["walls"])
    floor_walls = ", ".join(f"{w:.2f}" for w in figures["floor_walls"])
    pods = max(shape.pods, 1)
    cpu_over = (min(figures["cpu_walls"]) - min(figures["floor_cpus"])) / pods * 1e6
    wall_over = (best.wall - floor.wall) / pods * 1e6
    lines = [
        f"cluster: {shape.nodes} nodes, {shape.pods} pods (+1 pending asking {shape.pending_cpu} CPU); "
        f"generated and served in {figures['setup']:.1f}s",
        f"why-pending: best wall {best.wall:.2f}s (runs: {walls}), peak RSS {figures['peak_rss_mb']:.0f} MB, "
        f"API requests {figures['server_requests']} (client counted {best.requests})",
        f"  requests by resource: {figures['request_mix']}",
        f"  verdict: {best.note}",
        f"floor (the same LISTs as raw JSON pages over one keep-alive connection, GC off, the faster decoder): "
        f"best wall {floor.wall:.2f}s (runs: {floor_walls}), peak RSS {floor.peak_rss_mb:.0f} MB, "
        f"{floor.requests} requests, {floor.note}",
        f"  floor queries: {figures['floor_queries']}",
        f"CPU seconds (best of each): why-pending {min(figures['cpu_walls']):.2f}, "
        f"floor {min(figures['floor_cpus']):.2f}, ratio {figures['cpu_ratio']:.2f}",
        f"clusterdoc beyond the floor, per pod: {wall_over:.1f} µs wall, {cpu_over:.1f} µs CPU "
        f"(the floor: {floor.wall / pods * 1e6:.1f} µs wall, {min(figures['floor_cpus']) / pods * 1e6:.1f} µs CPU)",
        f"median of the runs, clusterdoc / the floor's decoder: {figures['median_ratio']:.2f} "
        "(steadier than best/best on a noisy machine)",
        f"ratio wall/floor: {figures['ratio']:.2f} (target <= {TARGET_RATIO}); "
        f"peak RSS target <= {TARGET_RSS_MB:.0f} MB: {'met' if figures['peak_rss_mb'] <= TARGET_RSS_MB else 'MISSED'}; "
        f"ratio target: {'met' if figures['ratio'] <= TARGET_RATIO else 'MISSED'}",
    ]
    for path, query in figures["list_queries"]:
        lines.append(f"  list: {path} {dict(query)}")
    return "\n".join(lines)


def curve_report(results: list[dict[str, Any]]) -> str:
    """One line per size; the ratio must stay flat as the cluster grows."""
    lines = [f"pending pod asking {results[0]['shape'].pending_cpu} CPU",
             "nodes/pods        clusterdoc   floor    ratio  CPU ratio  median ratio  peak RSS"]
    for figures in results:
        shape = figures["shape"]
        lines.append(f"{shape.nodes:>6}/{shape.pods:<9} {figures['why_pending'].wall:>8.2f}s "
                     f"{figures['floor'].wall:>7.2f}s {figures['ratio']:>7.2f} {figures['cpu_ratio']:>9.2f} "
                     f"{figures['median_ratio']:>12.2f} {figures['peak_rss_mb']:>9.0f} MB")
    ratios = [figures["ratio"] for figures in results]
    lines.append(f"ratio spread {max(ratios) - min(ratios):.2f} (max {max(ratios):.2f}, target <= {TARGET_RATIO})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.why_pending_scale", description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=150_000)
    parser.add_argument("--repeat", type=int, default=3, help="alternate why-pending and floor N times, best of each")
    parser.add_argument("--curve", action="store_true", help="measure 1k/30k, 5k/150k and 10k/300k nodes/pods")
    parser.add_argument("--qps", type=float, default=None,
                        help="client-side QPS limit for LiveCluster (default: LiveCluster's own default)")
    parser.add_argument("--profile", action="store_true", help="print the first why-pending run's cProfile top 45")
    parser.add_argument("--pending-cpu", default=DEFAULT_PENDING_CPU,
                        help="the pending pod's CPU request: 15 (default) fits the 16-CPU nodes' allocatable, so "
                             "every pod is read and accounted; 64 is more than any node has, answered without "
                             "reading pods")
    args = parser.parse_args(argv)
    shapes = CURVE if args.curve else ((args.nodes, args.pods),)
    results = []
    for nodes, pods in shapes:
        shape = ClusterShape(nodes=nodes, pods=pods, pending_cpu=args.pending_cpu)
        figures = run(shape, repeat=args.repeat, qps=args.qps, profile=args.profile)
        print(report(figures), flush=True)
        results.append(figures)
    if args.curve:
        print(curve_report(results), flush=True)
    return results[-1] if not args.curve else {"curve": results}


if __name__ == "__main__":
    main()

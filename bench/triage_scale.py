"""Scale benchmark for ``triage``: a 5,000-node cluster with Prometheus answering, against the 20 s budget.

The cluster is :func:`bench.gen_cluster.generate` (5,000 nodes, 150,000 pods by default) plus a
heartbeat Lease per node, served by the fake API server in its own process. Prometheus is the
real one (Debian's ``prometheus``) loaded with the healthy scenario of the triage tests
(``tests/triage_world.py``) plus PLEG and memory series for ``--prom-nodes`` nodes, backfilled with
``promtool``. The triage runbook then runs in a fresh process (``LiveCluster`` + ``run_request``)
and the script prints its wall time against the budget, the verdict, each layer's row and the
API requests it made. Not a timed test: absolute times on shared machines are only indicative.

    .venv/bin/python -m bench.triage_scale                      # 5,000 nodes, 150,000 pods
    .venv/bin/python -m bench.triage_scale --nodes 500 --pods 15000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import yaml

from bench.gen_cluster import NOW, ClusterShape, ago, generate, lease
from bench.why_pending_scale import _in_fresh_process

BUDGET_SECONDS = 20.0


def cluster(shape: ClusterShape) -> list[dict[str, Any]]:
    objects = generate(shape)
    renewed = ago(seconds=5)
    nodes = [o["metadata"]["name"] for o in objects if o.get("kind") == "Node"]
    objects.extend(lease(name, "kube-node-lease", name, renewed, duration=40) for name in nodes)
    return objects


def _serve(shape: ClusterShape, conn: Connection) -> None:
    from clusterdoc.workers.cluster.snapshot import SnapshotStore
    from tests.harness.fake_kube import FakeKubeServer

    server = FakeKubeServer(SnapshotStore(cluster(shape), version={"major": "1", "minor": "31",
                                                                   "gitVersion": "v1.31.2"}))
    conn.send(server.url)
    while True:
        command = conn.recv()
        if command == "count":
            conn.send(len(server.requests))
        else:
            server.stop()
            conn.send(True)
            return


def prometheus_data(prom_nodes: int) -> Any:
    from tests import triage_world as world
    from tests.harness.prometheus import OpenMetrics

    om: OpenMetrics = world.metrics(NOW.timestamp())
    start = NOW.timestamp() - world.RANGE_MINUTES * 60
    times = [start + i * world.SCRAPE for i in range(int(world.RANGE_MINUTES * 60 / world.SCRAPE) + 1)]
    for index in range(prom_nodes):
        node = f"bench-node-{index}"
        labels = {"scenario": "healthy", "job": "kubelet", "node": node, "instance": f"{node}:10250"}
        om.histogram("kubelet_pleg_relist_duration_seconds", labels, times, lambda t: 0.01)
        exporter = {**labels, "job": "node-exporter", "instance": f"{node}:9100"}
        om.series("node_memory_MemAvailable_bytes", exporter, [(t, 6e9) for t in times])
        om.series("node_memory_MemTotal_bytes", exporter, [(t, 16e9) for t in times])
    return om


def _triage(url: str, prometheus: str, config: str, conn: Connection) -> None:
    os.environ.update({"PROMETHEUS_URL": prometheus, "CLUSTERDOC_CONFIG": config})
    os.environ.pop("ETCD_ENDPOINTS", None)
    from clusterdoc.queue import DiagnosisRequest
    from clusterdoc.workers.runbook.engine import run_request
    from clusterdoc.workers.runbook.loader import Catalogue
    from tests.harness.fake_kube import live_cluster

    catalogue = Catalogue.load()
    live = live_cluster(url)
    start = time.perf_counter()
    report = run_request(catalogue, DiagnosisRequest("triage", "triage", None), live, now=NOW)
    wall = time.perf_counter() - start
    rows = report.to_json()["triage"]["layers"]
    conn.send({"wall": wall, "verdict": report.verdict.to_json(), "requests": live.request_count(),
               "rows": [(r["layer"], r["status"], (r["evidence"] or [r["figure"]])[0]) for r in rows]})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.triage_scale", description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=150_000)
    parser.add_argument("--prom-nodes", type=int, default=200, help="nodes with PLEG/memory series in Prometheus")
    args = parser.parse_args(argv)
    from tests import triage_world as world
    from tests.harness.prometheus import PrometheusServer

    shape = ClusterShape(nodes=args.nodes, pods=args.pods)
    context = mp.get_context("spawn")
    parent, child = context.Pipe()
    started = time.perf_counter()
    server = context.Process(target=_serve, args=(shape, child), daemon=True)
    server.start()
    prometheus = PrometheusServer(prometheus_data(args.prom_nodes))
    url = parent.recv()
    setup = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.yaml"
        config.write_text(yaml.safe_dump({"prometheus": {"jobs": world.jobs("healthy")}}))
        try:
            result = _in_fresh_process(_triage, url, prometheus.url, str(config))
        finally:
            parent.send("stop")
            parent.recv()
            server.join(timeout=10)
            prometheus.stop()
    print(f"cluster: {shape.nodes} nodes, {shape.pods} pods; Prometheus with {args.prom_nodes} nodes' kubelet series "
          f"(setup {setup:.1f} s)")
    print(f"triage wall time: {result['wall']:.2f} s against the {BUDGET_SECONDS:.0f} s budget "
          f"({result['wall'] / BUDGET_SECONDS:.0%}); {result['requests']} API requests")
    print(f"verdict: {result['verdict']['layer']} ({result['verdict']['severity']}): {result['verdict']['summary']}")
    for layer, status, figure in result["rows"]:
        print(f"  {layer:<11} {status:<10} {figure[:110]}")


if __name__ == "__main__":
    main()

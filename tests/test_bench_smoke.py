"""Smoke test of the why-pending scale benchmark at a tiny size: the generator and one full run work.

No timing assertions (figures are printed by the benchmark, not judged here).
"""

from __future__ import annotations

from collections import Counter

from bench import why_pending_scale
from bench.gen_cluster import PENDING_NAME, PENDING_NAMESPACE, ClusterShape, generate
from clusterdoc.workers.scheduling.message import parse


def test_generator_builds_the_requested_cluster() -> None:
    objects = generate(ClusterShape(nodes=50, pods=400))
    kinds = Counter(obj["kind"] for obj in objects)
    assert kinds["Node"] == 50
    assert kinds["Pod"] == 401  # plus the pending one
    nodes = {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == "Node"}
    assert all({"cpu", "memory", "pods"} <= set(node["status"]["allocatable"]) for node in nodes.values())
    bound = [obj for obj in objects if obj["kind"] == "Pod" and obj["spec"].get("nodeName")]
    assert len(bound) == 400 and all(pod["spec"]["nodeName"] in nodes for pod in bound)
    assert {pod["status"]["phase"] for pod in bound} >= {"Running", "Succeeded", "Failed"}
    assert any(c.get("ports") for pod in bound for c in pod["spec"]["containers"])
    stuck = next(o for o in objects if o["kind"] == "Pod" and o["metadata"]["name"] == PENDING_NAME)
    assert stuck["metadata"]["namespace"] == PENDING_NAMESPACE and "nodeName" not in stuck["spec"]
    event = next(o for o in objects if o["kind"] == "Event")
    parsed = parse(event["message"])
    assert parsed.total_nodes == 50
    assert sum(reason.nodes or 0 for reason in parsed.reasons) == 50  # each node rejected exactly once


def test_generator_is_deterministic() -> None:
    assert generate(ClusterShape(nodes=5, pods=20)) == generate(ClusterShape(nodes=5, pods=20))


def test_small_run_reports_figures(capsys) -> None:
    figures = why_pending_scale.main(["--nodes", "30", "--pods", "900", "--repeat", "1"])  # 30 pods a node, as at scale
    out = capsys.readouterr().out
    assert "ratio wall/floor" in out and "peak RSS" in out
    assert figures["server_requests"] > 0
    assert figures["why_pending"].requests == figures["server_requests"]
    active = sum(1 for obj in generate(ClusterShape(nodes=30, pods=900))
                 if obj["kind"] == "Pod" and obj["status"].get("phase") not in ("Succeeded", "Failed"))
    # every node and every active pod, clusterdoc's LISTs, whichever way the floor decodes them
    assert sorted(m.note for m in figures["floors"]) == [f"{30 + active} objects, decoded by {decoder}"
                                                          for decoder in sorted(why_pending_scale.FLOOR_DECODERS)]
    assert "cannot be scheduled" in figures["why_pending"].note


def test_a_pod_bigger_than_every_node_reads_no_pods_yet_the_floor_reads_them_all(capsys) -> None:
    figures = why_pending_scale.main(["--nodes", "100", "--pods", "3000", "--repeat", "1", "--pending-cpu", "64"])
    assert "asking 64 CPU" in capsys.readouterr().out
    assert "pods" not in figures["request_mix"].replace("pods/*", "")  # the pod itself is read, no pod LIST
    active = sum(1 for obj in generate(ClusterShape(nodes=100, pods=3000))
                 if obj["kind"] == "Pod" and obj["status"].get("phase") not in ("Succeeded", "Failed"))
    assert all(m.note.startswith(f"{100 + active} objects") for m in figures["floors"])


def test_alert_storm_bookkeeping_counts_what_was_answered_and_recorded() -> None:
    from bench.alert_storm import answer_lines

    lines = answer_lines([0.010, 0.020, 0.030, 0.500], rejected=1, errors=2, posts=6, recorded=300, wall=2.0)
    assert lines[0] == "  accepted 3/6 posts in 2.00 s = 150 alerts/s recorded (1 rejected, 2 connection errors)"
    assert lines[1] == "  response time p50 30.0 ms   p99 500.0 ms   max 500.0 ms"  # index round(0.5 * 3) = 2
    nothing = answer_lines([], rejected=0, errors=6, posts=6, recorded=0, wall=1.5)  # every post failed to connect
    assert nothing == ["  accepted 0/6 posts in 1.50 s = 0 alerts/s recorded (0 rejected, 6 connection errors)",
                       "  response time: no post was answered"]


def test_ack_latency_keeps_error_answers_out_of_the_latencies() -> None:
    """A non-200 answer is not an acknowledgement: it goes to the errors, not into the percentiles."""
    import itertools
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from bench.ack_latency import _client

    statuses = itertools.cycle([200, 500, 200, 403])

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = next(statuses)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        results: list[float] = []
        errors: list[str] = []
        _client(server.server_address[1], 8, results, errors, "http://127.0.0.1:9/hook", "why-pending web-{index}")
    finally:
        server.shutdown()
    assert len(results) == 4 and all(r > 0 for r in results)
    assert sorted(errors) == ["HTTP 403", "HTTP 403", "HTTP 500", "HTTP 500"]


def test_approval_claims_exits_zero_only_when_every_offer_is_claimed_once() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, "-m", "bench.approval_claims", "--offers", "4", "--clickers", "3"],
                         cwd=root, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "claims=4 (expected 4)" in run.stdout

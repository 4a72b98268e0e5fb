"""Benchmark: atomic approval claims under contention, against a real redis-server.

For each of ``--offers`` pending actions, ``--clickers`` threads press Approve at the same moment;
prints how many claims succeeded (must equal the number of offers), and the p50/p99 latency of
one ``approve`` call. Run: ``.venv/bin/python bench/approval_claims.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clusterdoc.approvals.pending import PendingAction, new_id
from clusterdoc.approvals.store import PendingStore
from clusterdoc.report import Target
from tests.harness.redis_server import RedisServer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--offers", type=int, default=200)
    parser.add_argument("--clickers", type=int, default=20)
    args = parser.parse_args()
    with RedisServer() as server:
        store = PendingStore(redis.Redis.from_url(server.url))
        now = time.time()
        latencies: list[float] = []
        claims = 0
        lock = threading.Lock()
        for _ in range(args.offers):
            pending = PendingAction(new_id(), "cordon_node", Target("Node", "n1"), "low", "d", "prod", "C1", "U1",
                                    now, now + 900)
            store.create(pending)
            barrier = threading.Barrier(args.clickers)

            def click(user: str, pending_id: str = pending.id, barrier: threading.Barrier = barrier) -> None:
                nonlocal claims
                barrier.wait()
                started = time.perf_counter()
                result = store.approve(pending_id, user, 1, time.time()).result
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    claims += result == "claimed"

            threads = [threading.Thread(target=click, args=(f"U{i}",)) for i in range(args.clickers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(f"offers={args.offers} clickers/offer={args.clickers} clicks={len(latencies)} claims={claims} "
              f"(expected {args.offers})")
        print(f"approve() latency p50={statistics.median(latencies) * 1000:.2f} ms p99={p99 * 1000:.2f} ms")
    if claims != args.offers:
        print(f"FAILED: {claims} claims for {args.offers} offers (each offer must be claimed exactly once)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

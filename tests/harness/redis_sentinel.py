"""A Redis master, its replica and one ``redis-server --sentinel`` (quorum 1) watching them as ``main``.

Real processes on free loopback ports, for the Sentinel tests (``tests/test_hardening_redis.py``,
``tests/test_sentinel_failover.py``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError, ResponseError

from tests.harness.ports import free_port
from tests.harness.processes import stop_process, wait_until
from tests.harness.redis_server import RedisServer


class Sentinels:
    """A master, its replica and one ``redis-server --sentinel`` (quorum 1) watching them as ``main``."""

    def __init__(self, folder: Path, down_after_ms: int) -> None:
        self.master = RedisServer(extra_args=["--repl-diskless-sync-delay", "0"])  # no 5 s wait before the first sync
        self.replica = RedisServer(extra_args=["--replicaof", "127.0.0.1", str(self.master.port)])
        replica = Redis(port=self.replica.port)
        wait_until(lambda: replica.info("replication").get("master_link_status") == "up", "the replica in sync", 20)
        self.port = free_port()
        config = folder / "sentinel.conf"  # the sentinel rewrites it: one per test
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {folder}\n"
            f"sentinel monitor main 127.0.0.1 {self.master.port} 1\n"
            f"sentinel down-after-milliseconds main {down_after_ms}\nsentinel failover-timeout main 5000\n"
        )
        self.process = subprocess.Popen(["/usr/bin/redis-server", str(config), "--sentinel"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.sentinel = Redis(port=self.port, socket_timeout=2)
        wait_until(self._ready, "the sentinel knows the master and its replica", 20)

    def _ready(self) -> bool:
        try:
            return bool(self.sentinel.execute_command("SENTINEL", "REPLICAS", "main"))
        except (ConnectionError, ResponseError):
            return False

    def failover(self, timeout: float = 20) -> None:
        """``SENTINEL FAILOVER main``, asked again while the sentinel has no replica it judges good yet
        (NOGOODSLAVE: its view of the replica is refreshed every few seconds, later on a loaded machine)."""

        def accepted() -> bool:
            try:
                self.sentinel.execute_command("SENTINEL", "FAILOVER", "main")
                return True
            except ResponseError as exc:
                if "NOGOODSLAVE" not in str(exc):
                    raise
                return False

        wait_until(accepted, "the sentinel to accept a failover", timeout)

    def master_port(self) -> int:
        return int(self.sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "main")[1])

    def stop(self) -> None:
        stop_process(self.process, timeout=5)
        self.replica.stop()
        self.master.stop()

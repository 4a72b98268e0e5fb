"""``etcd_defrag`` against a REAL three-member etcd cluster (``/usr/bin/etcd``) on loopback ports.

One member is defragmented per action, through the gRPC gateway; a member that is down among the
others makes the action refuse; a member replaced since diagnosis (another member ID) is refused.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from clusterdoc.report import Target
from clusterdoc.workers.remediation import runner
from clusterdoc.workers.remediation.actions.etcd_defrag import EtcdDefrag
from clusterdoc.workers.remediation.base import ActionContext
from clusterdoc.workers.remediation.etcd import EtcdMaintenance
from tests.harness.ports import free_ports
from tests.harness.processes import stop_process

ETCD = "/usr/bin/etcd"


class EtcdCluster:
    """Three etcd members in a temp dir; ``stop_member(i)`` kills one."""

    def __init__(self, size: int = 3) -> None:
        if not Path(ETCD).is_file():
            pytest.fail(f"{ETCD} not found: install Debian's etcd-server package", pytrace=False)
        self.dir = Path(tempfile.mkdtemp(prefix="clusterdoc-etcd-"))
        ports = free_ports(2 * size)
        self.clients, peers = ports[:size], ports[size:]
        initial = ",".join(f"m{i}=http://127.0.0.1:{peers[i]}" for i in range(size))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs = [(self.dir / f"m{i}.log").open("wb") for i in range(size)]
        for i in range(size):
            self.processes.append(subprocess.Popen(
                [ETCD, "--name", f"m{i}", "--data-dir", str(self.dir / f"m{i}"),
                 "--listen-client-urls", f"http://127.0.0.1:{self.clients[i]}",
                 "--advertise-client-urls", f"http://127.0.0.1:{self.clients[i]}",
                 "--listen-peer-urls", f"http://127.0.0.1:{peers[i]}",
                 "--initial-advertise-peer-urls", f"http://127.0.0.1:{peers[i]}",
                 "--initial-cluster", initial, "--initial-cluster-state", "new",
                 "--initial-cluster-token", "clusterdoc-test", "--log-level", "error"],
                stdout=subprocess.DEVNULL, stderr=self.logs[i],
            ))
        http = urllib3.PoolManager(retries=False)
        deadline = time.monotonic() + 60  # a loaded 2-core machine can take a while to elect a leader
        for endpoint in self.endpoints:
            while True:
                try:
                    if http.request("GET", endpoint + "/health", timeout=1).status == 200:
                        break
                except urllib3.exceptions.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    logs = "\n".join((self.dir / f"m{i}.log").read_text(errors="replace")[-2000:] for i in range(size))
                    self.stop()
                    pytest.fail(f"etcd member {endpoint} did not become healthy; etcd said:\n{logs}", pytrace=False)
                time.sleep(0.1)

    @property
    def endpoints(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.clients]

    def put_and_delete(self, endpoint: str, count: int) -> None:
        """Write then delete keys and compact, so the database has free pages to give back."""
        http = urllib3.PoolManager()
        value = base64.b64encode(b"x" * 10_000).decode()
        keys = [base64.b64encode(f"key-{i:04d}".encode()).decode() for i in range(count)]
        revision = 0
        for key in keys:
            answer = http.request("POST", endpoint + "/v3/kv/put", json={"key": key, "value": value}).json()
            revision = int(answer["header"]["revision"])
        for key in keys:
            http.request("POST", endpoint + "/v3/kv/deleterange", json={"key": key})
        http.request("POST", endpoint + "/v3/kv/compaction", json={"revision": revision, "physical": True})

    def stop_member(self, index: int) -> None:
        self.processes[index].terminate()
        self.processes[index].wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes:
            stop_process(process)
        for log_file in self.logs:
            log_file.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def etcd_cluster() -> Iterator[EtcdCluster]:
    cluster = EtcdCluster()
    yield cluster
    cluster.stop()


def context(cluster: EtcdCluster) -> tuple[ActionContext, list[str]]:
    progress: list[str] = []
    return ActionContext(etcd=EtcdMaintenance(cluster.endpoints), progress=progress.append), progress


def test_defrag_one_member_releases_space(etcd_cluster: EtcdCluster) -> None:
    member = etcd_cluster.endpoints[1]
    etcd_cluster.put_and_delete(member, 200)
    ctx, progress = context(etcd_cluster)
    before = ctx.etcd.status(member)
    assert before["db_size"] > before["db_size_in_use"]
    seen = EtcdDefrag().observe(before)
    result = runner.execute("etcd_defrag", Target("EtcdMember", "m1"), {"endpoint": member}, seen, ctx)
    assert result.status == "executed", result.outcome
    assert "reachable" in result.dry_run and "in use" in result.dry_run
    after = ctx.etcd.status(member)
    assert after["db_size"] < before["db_size"]
    assert result.state == {"db_size_before": before["db_size"], "db_size_after": after["db_size"]}
    assert any("blocks until done" in line for line in progress)
    others = [ctx.etcd.status(e)["db_size"] for e in etcd_cluster.endpoints if e != member]
    assert all(size >= before["db_size_in_use"] for size in others)  # the other members were not touched


def test_refused_when_another_member_is_down(etcd_cluster: EtcdCluster) -> None:
    ctx, _ = context(etcd_cluster)
    member = etcd_cluster.endpoints[0]
    seen = EtcdDefrag().observe(ctx.etcd.status(member))
    etcd_cluster.stop_member(2)
    result = runner.execute("etcd_defrag", Target("EtcdMember", "m0"), {"endpoint": member}, seen, ctx)
    assert (result.status, result.rule) == ("refused", "etcd-peers-unhealthy")
    assert etcd_cluster.endpoints[2] in result.outcome


def test_refused_for_unknown_endpoint_or_other_member(etcd_cluster: EtcdCluster) -> None:
    ctx, _ = context(etcd_cluster)
    unknown = runner.execute("etcd_defrag", Target("EtcdMember", "x"), {"endpoint": "http://10.9.9.9:2379"}, {}, ctx)
    assert (unknown.status, unknown.rule) == ("refused", "unknown-etcd-member")
    member = etcd_cluster.endpoints[0]
    replaced = runner.execute("etcd_defrag", Target("EtcdMember", "m0"), {"endpoint": member},
                              {"member_id": "12345"}, ctx)
    assert (replaced.status, replaced.rule) == ("refused", "target-replaced")

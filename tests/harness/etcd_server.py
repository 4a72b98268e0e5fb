"""Real etcd members (Debian's ``etcd-server``) on loopback ports, optionally with TLS certificates made here.

:class:`EtcdCluster` starts ``size`` members as one cluster and waits until each answers
``/health``; ``stop_member(i)`` stops one; ``tls=True`` makes a CA and a server/client certificate
with ``openssl`` and serves the client URLs over HTTPS requiring client certificates.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import urllib3

from tests.harness.ports import free_ports
from tests.harness.processes import stop_process
from tests.harness.tls import make_tls_files

ETCD = "/usr/bin/etcd"


class EtcdCluster:
    def __init__(self, size: int = 3, *, tls: bool = False, extra: tuple[str, ...] = ()) -> None:
        if not Path(ETCD).is_file():
            pytest.fail(f"{ETCD} not found: install Debian's etcd-server package", pytrace=False)
        self.dir = Path(tempfile.mkdtemp(prefix="clusterdoc-etcd-"))
        self.tls = make_tls_files(self.dir / "tls", server_also_client=True) if tls else None
        scheme = "https" if tls else "http"
        ports = free_ports(2 * size)
        self.clients, peers = ports[:size], ports[size:]
        self.endpoints = [f"{scheme}://127.0.0.1:{port}" for port in self.clients]
        initial = ",".join(f"m{i}=http://127.0.0.1:{peers[i]}" for i in range(size))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs = [(self.dir / f"m{i}.log").open("wb") for i in range(size)]
        for i in range(size):
            command = [ETCD, "--name", f"m{i}", "--data-dir", str(self.dir / f"m{i}"),
                       "--listen-client-urls", self.endpoints[i], "--advertise-client-urls", self.endpoints[i],
                       "--listen-peer-urls", f"http://127.0.0.1:{peers[i]}",
                       "--initial-advertise-peer-urls", f"http://127.0.0.1:{peers[i]}",
                       "--initial-cluster", initial, "--initial-cluster-state", "new",
                       "--initial-cluster-token", "clusterdoc-test", "--log-level", "error",
                       "--heartbeat-interval", "50", "--election-timeout", "500"]
            if self.tls:
                command += ["--cert-file", str(self.tls.cert), "--key-file", str(self.tls.key),
                            "--trusted-ca-file", str(self.tls.ca), "--client-cert-auth"]
            command += list(extra)
            self.processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self.logs[i]))
        self.http = self.client()
        deadline = time.monotonic() + 60  # a loaded 2-core machine can take a while to elect a leader
        for endpoint in self.endpoints:
            while True:
                try:
                    if self.http.request("GET", endpoint + "/health", timeout=1).status == 200:
                        break
                except urllib3.exceptions.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    logs = "\n".join((self.dir / f"m{i}.log").read_text(errors="replace")[-2000:] for i in range(size))
                    self.stop()
                    pytest.fail(f"etcd member {endpoint} did not become healthy; etcd said:\n{logs}", pytrace=False)
                time.sleep(0.1)

    def client(self) -> urllib3.PoolManager:
        if self.tls:
            return urllib3.PoolManager(retries=False, cert_reqs="CERT_REQUIRED", ca_certs=str(self.tls.ca),
                                       cert_file=str(self.tls.client_cert), key_file=str(self.tls.client_key))
        return urllib3.PoolManager(retries=False)

    def fragment(self, count: int = 300) -> None:
        """Write then delete keys and compact, so the database has free pages a defrag would give back."""
        endpoint = self.endpoints[0]
        value = base64.b64encode(b"x" * 10_000).decode()
        revision = 0
        for i in range(count):
            key = base64.b64encode(f"key-{i:04d}".encode()).decode()
            answer = self.http.request("POST", endpoint + "/v3/kv/put", json={"key": key, "value": value}).json()
            revision = int(answer["header"]["revision"])
        for i in range(count):
            key = base64.b64encode(f"key-{i:04d}".encode()).decode()
            answer = self.http.request("POST", endpoint + "/v3/kv/deleterange", json={"key": key}).json()
            revision = int(answer["header"]["revision"])
        self.http.request("POST", endpoint + "/v3/kv/compaction", json={"revision": revision, "physical": True})
        # bolt returns the freed pages to its freelist at the next commits: write a little, twice
        for _ in range(2):
            time.sleep(0.3)
            self.http.request("POST", endpoint + "/v3/kv/put", json={"key": base64.b64encode(b"z").decode(),
                                                                      "value": "eA=="})
        time.sleep(0.3)

    def fill(self, limit: int = 2000) -> None:
        """Write 10 kB values until etcd refuses with its space quota (the NOSPACE alarm)."""
        value = base64.b64encode(b"y" * 10_000).decode()
        for i in range(limit):
            key = base64.b64encode(f"fill-{i:05d}".encode()).decode()
            answer = self.http.request("POST", self.endpoints[0] + "/v3/kv/put", json={"key": key, "value": value})
            if answer.status != 200:
                return
        raise AssertionError("etcd never ran out of space")

    def stop_member(self, index: int) -> None:
        self.processes[index].terminate()
        self.processes[index].wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes:
            stop_process(process)
        for log_file in self.logs:
            log_file.close()
        shutil.rmtree(self.dir, ignore_errors=True)

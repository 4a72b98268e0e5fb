"""A real Kubernetes control plane on loopback ports, envtest-style, for the whole pytest session.

:class:`ControlPlane` starts, in a temporary folder: etcd, kube-apiserver (RBAC + Node
authorizers, TLS from :mod:`tests.harness.pki`, a static token file for the admin and the two
controller identities, ServiceAccount token signing so TokenRequest tokens work),
kube-scheduler and kube-controller-manager (the controllers in :data:`CONTROLLERS`), each from the
binaries ``scripts/build-binaries.sh`` built (:mod:`tests.harness.k8s_binaries`). It returns once
``/readyz`` answers, both components are healthy and the ServiceAccount controller has made the
``default`` ServiceAccount. There is no kubelet: Nodes are API objects and the tests play the
kubelet with :mod:`tests.harness.kubelet`.

Deliberate differences from a production cluster, each to keep tests deterministic:
- the ``TaintNodesByCondition`` admission plugin is off and the node-lifecycle controller is not
  run, so a Node keeps exactly the taints and conditions a test gives it;
- etcd runs with ``--unsafe-no-fsync`` (a throwaway data dir on a shared 2-core machine).
"""

from __future__ import annotations

import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

from tests.harness.k8s_binaries import binaries_dir, versions
from tests.harness.pki import Pki, make_pki
from tests.harness.ports import free_ports
from tests.harness.processes import stop_process

CONTROLLERS = (
    "deployment-controller",
    "replicaset-controller",
    "statefulset-controller",
    "disruption-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "clusterrole-aggregation-controller",
    "persistentvolume-binder-controller",
)
"""kube-controller-manager's ``--controllers``: what the tests need, nothing that watches nodes."""

SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
SERVICE_CIDR = "10.0.0.0/24"


class ControlPlaneError(RuntimeError):
    """A component did not start or answer; the message carries the tail of its log."""


@dataclass(frozen=True)
class Identity:
    """A user of the static token file."""

    name: str
    token: str
    groups: tuple[str, ...] = ()


ADMIN = Identity("admin", "clusterdoc-admin-token", ("system:masters",))
SCHEDULER = Identity("system:kube-scheduler", "clusterdoc-scheduler-token")
CONTROLLER_MANAGER = Identity("system:kube-controller-manager", "clusterdoc-controller-manager-token")


@dataclass
class _Component:
    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, cwd: Path) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 25) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=10)
            self.process = None


def write_kubeconfig(path: Path, server: str, ca_cert: Path, token: str, user: str = "user") -> Path:
    """A kubeconfig with one cluster, one token user and one current context."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": server, "certificate-authority": str(ca_cert)}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": user}}],
        "current-context": "test",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


class ControlPlane:
    """etcd + kube-apiserver + kube-scheduler + kube-controller-manager, started by the constructor.

    ``url`` is the API server's ``https://127.0.0.1:PORT``; ``ca_cert`` verifies it;
    :meth:`kubeconfig` writes a kubeconfig for any bearer token. Use as a context manager (or call
    :meth:`stop`) to stop everything and remove the folder.
    """

    def __init__(self, binaries: Path | None = None, *, startup_timeout: float = 120.0,
                 controllers: tuple[str, ...] = CONTROLLERS) -> None:
        self.binaries = binaries or binaries_dir()
        self.versions = versions(self.binaries)
        self._tmpdir = tempfile.TemporaryDirectory(prefix="clusterdoc-k8s-")
        self.dir = Path(self._tmpdir.name)
        self.startup_timeout = startup_timeout
        self.controllers = controllers
        self.components: list[_Component] = []
        self.started_in = 0.0
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    # -- public ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def admin_token(self) -> str:
        return ADMIN.token

    def kubeconfig(self, token: str = ADMIN.token, name: str = "admin") -> Path:
        """Write (or rewrite) ``<dir>/kubeconfigs/<name>.kubeconfig`` for ``token``; returns its path."""
        folder = self.dir / "kubeconfigs"
        folder.mkdir(exist_ok=True)
        return write_kubeconfig(folder / f"{name}.kubeconfig", self.url, self.pki.ca_cert, token, name)

    def http(self, token: str = ADMIN.token, timeout: float = 10.0) -> httpx.Client:
        """An httpx client for the API server, authenticated with ``token`` (close it after use)."""
        return httpx.Client(base_url=self.url, verify=self.tls(), timeout=timeout,
                            headers={"Authorization": f"Bearer {token}"})

    def tls(self) -> ssl.SSLContext:
        """An SSL context that trusts the API server's CA."""
        return ssl.create_default_context(cafile=str(self.pki.ca_cert))

    def component(self, name: str) -> _Component:
        return next(c for c in self.components if c.name == name)

    def logs(self, name: str, lines: int = 40) -> str:
        """The last ``lines`` lines one component printed."""
        return self.component(name).tail(lines)

    def stop(self) -> None:
        """Stop every component (last started first) and remove the folder."""
        for component in reversed(self.components):
            component.stop()
        self.components = []
        self._tmpdir.cleanup()

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- start -----------------------------------------------------------------------------

    def _start(self) -> None:
        started = time.monotonic()
        self.pki: Pki = make_pki(self.dir / "pki")
        (self.etcd_port, self.etcd_peer_port, self.apiserver_port, self.scheduler_port,
         self.controller_manager_port) = free_ports(5)
        tokens = self.dir / "tokens.csv"
        tokens.write_text("".join(
            f'{i.token},{i.name},{i.name},"{",".join(i.groups)}"\n' if i.groups else f"{i.token},{i.name},{i.name}\n"
            for i in (ADMIN, SCHEDULER, CONTROLLER_MANAGER)
        ))
        scheduler_config = self.kubeconfig(SCHEDULER.token, "kube-scheduler")
        controller_manager_config = self.kubeconfig(CONTROLLER_MANAGER.token, "kube-controller-manager")
        deadline = started + self.startup_timeout

        self._launch("etcd", [
            "--name", "default",
            "--data-dir", str(self.dir / "etcd"),
            "--listen-client-urls", self.etcd_url,
            "--advertise-client-urls", self.etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{self.etcd_peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.etcd_peer_port}",
            "--initial-cluster", f"default=http://127.0.0.1:{self.etcd_peer_port}",
            "--unsafe-no-fsync",
            "--log-level", "warn",
        ])
        self._wait("etcd", deadline, lambda: self._etcd_healthy())

        self._launch("kube-apiserver", [
            "--etcd-servers", self.etcd_url,
            "--bind-address", "127.0.0.1",
            "--advertise-address", "127.0.0.1",
            "--endpoint-reconciler-type", "none",  # a loopback address may not back the kubernetes Service
            "--secure-port", str(self.apiserver_port),
            "--cert-dir", str(self.dir / "apiserver-certs"),
            "--tls-cert-file", str(self.pki.serving_cert),
            "--tls-private-key-file", str(self.pki.serving_key),
            "--client-ca-file", str(self.pki.ca_cert),
            # what kubeadm sets; without it every component logs a missing request-header CA
            "--requestheader-client-ca-file", str(self.pki.ca_cert),
            "--requestheader-allowed-names", "front-proxy-client",
            "--requestheader-username-headers", "X-Remote-User",
            "--requestheader-group-headers", "X-Remote-Group",
            "--requestheader-extra-headers-prefix", "X-Remote-Extra-",
            "--token-auth-file", str(tokens),
            "--authorization-mode", "Node,RBAC",
            "--service-account-issuer", SERVICE_ACCOUNT_ISSUER,
            "--service-account-key-file", str(self.pki.service_account_pub),
            "--service-account-signing-key-file", str(self.pki.service_account_key),
            "--service-cluster-ip-range", SERVICE_CIDR,
            "--disable-admission-plugins", "TaintNodesByCondition",
            "--allow-privileged=true",
            "--profiling=false",
        ])
        self._wait("kube-apiserver", deadline, lambda: self._get(self.url, "/readyz", ADMIN.token) == 200)

        self._launch("kube-scheduler", [
            "--kubeconfig", str(scheduler_config),
            "--authentication-kubeconfig", str(scheduler_config),
            "--authorization-kubeconfig", str(scheduler_config),
            "--bind-address", "127.0.0.1",
            "--secure-port", str(self.scheduler_port),
            "--cert-dir", str(self.dir / "scheduler-certs"),
            "--leader-elect=true",
            "--profiling=false",
        ])
        self._launch("kube-controller-manager", [
            "--kubeconfig", str(controller_manager_config),
            "--authentication-kubeconfig", str(controller_manager_config),
            "--authorization-kubeconfig", str(controller_manager_config),
            "--bind-address", "127.0.0.1",
            "--secure-port", str(self.controller_manager_port),
            "--cert-dir", str(self.dir / "controller-manager-certs"),
            "--controllers", ",".join(self.controllers),
            "--use-service-account-credentials=true",
            "--service-account-private-key-file", str(self.pki.service_account_key),
            "--root-ca-file", str(self.pki.ca_cert),
            "--leader-elect=true",
            "--profiling=false",
        ])
        self._wait("kube-scheduler", deadline,
                   lambda: self._get(f"https://127.0.0.1:{self.scheduler_port}", "/healthz") == 200)
        self._wait("kube-controller-manager", deadline,
                   lambda: self._get(f"https://127.0.0.1:{self.controller_manager_port}", "/healthz") == 200)
        self._wait("kube-controller-manager", deadline,
                   lambda: self._get(self.url, "/api/v1/namespaces/default/serviceaccounts/default",
                                     ADMIN.token) == 200,
                   "its ServiceAccount controller to create default/default")
        self.started_in = time.monotonic() - started

    def _launch(self, name: str, args: list[str]) -> None:
        component = _Component(name, [str(self.binaries / name), *args], self.dir / f"{name}.log")
        self.components.append(component)
        component.start(self.dir)

    def _wait(self, name: str, deadline: float, ready: Any, what: str = "") -> None:
        component = self.component(name)
        while True:
            if not component.running():
                raise ControlPlaneError(f"{name} exited ({component.process and component.process.returncode}) "
                                        f"while starting; it said:\n{component.tail()}")
            if ready():
                return
            if time.monotonic() > deadline:
                waiting = f" (waiting for {what})" if what else ""
                raise ControlPlaneError(f"{name} was not ready within {self.startup_timeout:.0f} s{waiting}; "
                                        f"it said:\n{component.tail()}")
            time.sleep(0.1)

    def _etcd_healthy(self) -> bool:
        try:
            return httpx.get(f"{self.etcd_url}/health", timeout=2).json().get("health") == "true"
        except (httpx.HTTPError, ValueError):
            return False

    def _get(self, base: str, path: str, token: str | None = None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        verify: ssl.SSLContext | bool = self.tls() if base == self.url else False
        try:
            return httpx.get(f"{base}{path}", headers=headers, verify=verify, timeout=2).status_code
        except httpx.HTTPError:
            return 0


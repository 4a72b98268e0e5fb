"""A real ``prometheus-alertmanager`` on free loopback ports, and webhook payloads as it sends them.

:class:`AlertmanagerProcess` writes a config whose single webhook receiver points at a URL
(with ``http_config.authorization`` carrying a bearer token), starts Debian's
``/usr/bin/prometheus-alertmanager`` with clustering disabled (``--cluster.listen-address=``)
in a temp dir, and pushes alerts through its API (``POST /api/v2/alerts``).
:func:`webhook_payload` builds version-4 webhook bodies the way Alertmanager does, for tests
that post to ``/alerts`` directly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from tests.harness.ports import free_port
from tests.harness.processes import stop_process

BINARY = "/usr/bin/prometheus-alertmanager"
ZERO = "0001-01-01T00:00:00Z"


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alert(
    alertname: str,
    *,
    status: str = "firing",
    starts: datetime | None = None,
    ends: datetime | None = None,
    annotations: dict[str, str] | None = None,
    fingerprint: str | None = None,
    **labels: str,
) -> dict[str, Any]:
    """One alert of a webhook payload (``fingerprint`` left out when None, like old Alertmanagers)."""
    starts = starts or datetime(2024, 11, 12, 9, 30, tzinfo=UTC)
    data: dict[str, Any] = {
        "status": status,
        "labels": {"alertname": alertname, **labels},
        "annotations": annotations or {"summary": f"{alertname} summary"},
        "startsAt": iso(starts),
        "endsAt": iso(ends) if ends else ZERO,
        "generatorURL": f"http://prometheus.example/graph?g0.expr={alertname}",
    }
    if fingerprint is not None:
        data["fingerprint"] = fingerprint
    return data


def webhook_payload(
    alerts: list[dict[str, Any]],
    *,
    group_labels: dict[str, str] | None = None,
    receiver: str = "clusterdoc",
    external_url: str = "http://alertmanager.example:9093",
    group_key: str | None = None,
    truncated: int = 0,
) -> dict[str, Any]:
    """A version-4 webhook body; status is firing when any alert fires, common labels computed.

    ``truncated`` is ``truncatedAlerts``: how many alerts Alertmanager's ``max_alerts`` left out.
    """
    group_labels = group_labels or {"alertname": alerts[0]["labels"]["alertname"]}
    common = dict(alerts[0]["labels"])
    for item in alerts[1:]:
        common = {k: v for k, v in common.items() if item["labels"].get(k) == v}
    common_annotations = dict(alerts[0]["annotations"])
    for item in alerts[1:]:
        common_annotations = {k: v for k, v in common_annotations.items() if item["annotations"].get(k) == v}
    pairs = ", ".join(f'{k}="{v}"' for k, v in sorted(group_labels.items()))
    return {
        "version": "4",
        "groupKey": group_key or f'{{}}:{{{pairs}}}',
        "truncatedAlerts": truncated,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "receiver": receiver,
        "groupLabels": group_labels,
        "commonLabels": common,
        "commonAnnotations": common_annotations,
        "externalURL": external_url,
        "alerts": alerts,
    }


class AlertmanagerProcess:
    """A running Alertmanager whose webhook receiver posts to ``webhook_url`` with ``token``."""

    def __init__(
        self,
        webhook_url: str,
        token: str,
        *,
        group_by: list[str] | None = None,
        group_wait: str = "1s",
        group_interval: str = "2s",
        repeat_interval: str = "4s",
        binary: str = BINARY,
    ) -> None:
        if not Path(binary).is_file() and not shutil.which("prometheus-alertmanager"):
            raise RuntimeError(f"{binary} not found: apt-get install -y prometheus-alertmanager")
        self.binary = binary if Path(binary).is_file() else str(shutil.which("prometheus-alertmanager"))
        self._tmp = tempfile.TemporaryDirectory(prefix="clusterdoc-am-")
        self.dir = Path(self._tmp.name)
        self.port = free_port()
        config = {
            "route": {
                "receiver": "clusterdoc",
                "group_by": group_by or ["alertname", "namespace"],
                "group_wait": group_wait,
                "group_interval": group_interval,
                "repeat_interval": repeat_interval,
            },
            "receivers": [{
                "name": "clusterdoc",
                "webhook_configs": [{
                    "url": webhook_url,
                    "send_resolved": True,
                    "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
                }],
            }],
        }
        (self.dir / "alertmanager.yml").write_text(yaml.safe_dump(config))
        self.log_path = self.dir / "alertmanager.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                self.binary,
                f"--config.file={self.dir / 'alertmanager.yml'}",
                f"--storage.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--web.external-url={self.url}",
                "--cluster.listen-address=",
                "--log.level=debug",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"alertmanager exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"alertmanager not ready after {timeout}s: {self.log_path.read_text()[-2000:]}")

    def push(self, alerts: list[dict[str, Any]]) -> None:
        """``POST /api/v2/alerts`` (each alert: labels, annotations, startsAt, optional endsAt)."""
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts", data=json.dumps(alerts).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200, answer.read()

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as answer:
            return list(json.loads(answer.read()))

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process, timeout=5)
        self._log.close()
        self._tmp.cleanup()

    def __enter__(self) -> AlertmanagerProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def api_alert(alertname: str, *, resolved: bool = False, minutes_ago: float = 5.0, **labels: str) -> dict[str, Any]:
    """An alert for Alertmanager's ``POST /api/v2/alerts`` (resolved: ``endsAt`` in the past)."""
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "labels": {"alertname": alertname, **labels},
        "annotations": {"summary": f"{alertname} on {labels.get('pod') or labels.get('node') or '?'}",
                        "runbook_url": f"https://runbooks.example/{alertname}"},
        "startsAt": iso(now - timedelta(minutes=minutes_ago)),
        "generatorURL": f"http://prometheus.example/graph?g0.expr={alertname}",
    }
    if resolved:
        body["endsAt"] = iso(now - timedelta(seconds=1))
    return body

"""Configuration from the environment (DESIGN.md's variables) and the YAML file ``CLUSTERDOC_CONFIG``.

Each process asks for what it needs (``serve`` needs Slack credentials, ``ask`` needs none).
Anything missing or malformed raises :class:`ConfigError` whose message is one line naming the
variable and the problem; the CLI prints it and exits with status 2.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from clusterdoc.access import AccessPolicy
from clusterdoc.alert_config import AlertSettings
from clusterdoc.approvals.policy import ApprovalPolicy
from clusterdoc.workers.runbook.schema import error_lines


class ConfigError(Exception):
    """A setting is missing or wrong; ``str()`` is the one line to show."""


class JobSettings(BaseModel):
    """How diagnosis jobs are enqueued."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: int = Field(default=180, ge=10, le=3600)
    retries: int = Field(default=2, ge=0, le=10)
    retry_intervals: list[int] = Field(default_factory=lambda: [10, 30])
    result_ttl_seconds: int = Field(default=3600, ge=0)


class ChannelSettings(BaseModel):
    """Per-channel defaults: which cluster a command in this channel goes to."""

    model_config = ConfigDict(extra="forbid")

    cluster: str


class PrometheusSettings(BaseModel):
    """How the ``metrics`` step finds the control plane's series (other stacks name jobs differently)."""

    model_config = ConfigDict(extra="forbid")

    jobs: dict[str, str] = Field(default_factory=dict)
    """Job matchers by key (``apiserver``, ``etcd``, ``scheduler``, ``controller``, ``kubelet``,
    ``node_exporter``), e.g. ``apiserver: 'job="kubernetes-apiservers"'``; unset keys keep kube-prometheus'."""


class FileConfig(BaseModel):
    """The structured part of the configuration, read from ``CLUSTERDOC_CONFIG``."""

    model_config = ConfigDict(extra="forbid")

    clusters: list[str] = Field(default_factory=list)
    channels: dict[str, ChannelSettings] = Field(default_factory=dict)
    jobs: JobSettings = Field(default_factory=JobSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    approvals: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)
    access: AccessPolicy = Field(default_factory=AccessPolicy)


class Settings(BaseSettings):
    """Every environment variable clusterdoc reads (names as DESIGN.md fixes them)."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    SLACK_BOT_TOKEN: str | None = None
    SLACK_SIGNING_SECRET: str | None = None
    SLACK_APP_TOKEN: str | None = None
    SLACK_API_URL: str | None = None
    REDIS_URL: str = "redis://localhost:6379/0"
    REDIS_USERNAME: str | None = None
    REDIS_PASSWORD: str | None = None
    REDIS_CACERT: str | None = None
    REDIS_CERT: str | None = None
    REDIS_KEY: str | None = None
    REDIS_SENTINELS: str | None = None
    REDIS_SENTINEL_MASTER: str | None = None
    REDIS_SENTINEL_PASSWORD: str | None = None
    CLUSTERDOC_CLUSTER: str = "default"
    CLUSTERDOC_SNAPSHOT: str | None = None
    KUBECONFIG: str | None = None
    PROMETHEUS_URL: str | None = None
    PROMETHEUS_TOKEN: str | None = None
    PROMETHEUS_USERNAME: str | None = None
    PROMETHEUS_PASSWORD: str | None = None
    PROMETHEUS_CACERT: str | None = None
    PROMETHEUS_TIMEOUT: float = Field(default=10.0, gt=0, le=300)
    """Seconds one PromQL query may take (client side; also sent as the query's server-side timeout)."""
    ETCD_ENDPOINTS: str | None = None
    ETCD_CACERT: str | None = None
    ETCD_CERT: str | None = None
    ETCD_KEY: str | None = None
    ETCD_TIMEOUT: float = Field(default=5.0, gt=0, le=120)
    """Seconds one etcd member may take to answer a status/health read."""
    ALERTS_TOKEN: str | None = None
    CLUSTERDOC_ALERT_CHANNEL: str | None = None
    CLUSTERDOC_CONFIG: str | None = None
    CLUSTERDOC_RUNBOOKS: str | None = None
    PORT: int = 3000
    CLUSTERDOC_WORKER_HEARTBEAT_SECONDS: int = Field(default=10, ge=1, le=300)
    """How often a busy worker beats; a job silent for 3 beats belongs to a dead worker and is retried."""

    @field_validator("SLACK_BOT_TOKEN")
    @classmethod
    def _bot_token(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("SLACK_APP_TOKEN")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("SLACK_API_URL", "PROMETHEUS_URL")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and urlparse(value).scheme not in ("http", "https"):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value

    @field_validator("REDIS_URL")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if urlparse(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"must be a redis://, rediss:// or unix:// URL, got {value!r}")
        return value

    @field_validator("CLUSTERDOC_CLUSTER")
    @classmethod
    def _cluster_name(cls, value: str) -> str:
        if not value or not all(ch.isalnum() or ch in "-_." for ch in value):
            raise ValueError("must be a short name of letters, digits, '-', '_' or '.'")
        return value

    @field_validator(
        "CLUSTERDOC_SNAPSHOT", "CLUSTERDOC_CONFIG", "ETCD_CACERT", "ETCD_CERT", "ETCD_KEY",
        "PROMETHEUS_CACERT", "REDIS_CACERT", "REDIS_CERT", "REDIS_KEY",
    )
    @classmethod
    def _path_exists(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).exists():
            raise ValueError(f"file {value!r} does not exist")
        return value

    @field_validator("CLUSTERDOC_RUNBOOKS")
    @classmethod
    def _folders_exist(cls, value: str | None) -> str | None:
        for folder in (value or "").split(os.pathsep):
            if folder and not Path(folder).is_dir():
                raise ValueError(f"runbook folder {folder!r} does not exist")
        return value

    # -- derived ---------------------------------------------------------------------------

    def runbook_folders(self) -> list[Path]:
        return [Path(folder) for folder in (self.CLUSTERDOC_RUNBOOKS or "").split(os.pathsep) if folder]

    def file_config(self) -> FileConfig:
        """The parsed ``CLUSTERDOC_CONFIG`` file (defaults when unset)."""
        if not self.CLUSTERDOC_CONFIG:
            return FileConfig()
        path = self.CLUSTERDOC_CONFIG
        try:
            data: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"CLUSTERDOC_CONFIG: {path}: cannot read YAML: {exc}".splitlines()[0]) from exc
        try:
            return FileConfig.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"CLUSTERDOC_CONFIG: {path}: {error_lines(exc)[0]}") from exc

    def redis_location(self) -> str:
        """Where Redis is, fit for a log line: ``host:port/db`` of ``REDIS_URL``, or the Sentinel master and
        its sentinels; never a password."""
        url = urlparse(self.REDIS_URL)
        if self.REDIS_SENTINELS:
            database = url.path.lstrip("/") or "0"
            return f"Sentinel master {self.REDIS_SENTINEL_MASTER} via {self.REDIS_SENTINELS} db {database}"
        if url.scheme == "unix":
            return f"unix:{url.path}"
        database = url.path.lstrip("/") or "0"
        return f"{url.hostname or 'localhost'}:{url.port or 6379}/{database}"

    def require(self, *names: str, why: str) -> None:
        """Raise :class:`ConfigError` for the first of ``names`` that is unset."""
        for name in names:
            if not getattr(self, name):
                raise ConfigError(f"{name} is not set (needed {why})")


class _GivenSettings(Settings):
    """Settings read from the values given only, never from the process environment."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def load_settings(environ: dict[str, str] | None = None, *, names: Iterable[str] | None = None) -> Settings:
    """Read and validate the environment; :class:`ConfigError` names the first bad variable.

    With ``names``, only those variables are read and validated (the others keep their defaults):
    a command checks the settings it uses, so an unrelated bad variable cannot stop it.
    """
    source = dict(os.environ if environ is None else environ)
    try:
        if names is not None:
            wanted = set(names)
            given = {k: v for k, v in source.items() if k in wanted and k in Settings.model_fields}
            return _GivenSettings.model_validate(given)
        if environ is None:
            return Settings()
        return Settings.model_validate({k: v for k, v in source.items() if k in Settings.model_fields})
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "configuration"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from exc

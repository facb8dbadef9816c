"""The configuration's shape: :class:`AppConfig`, its sections, their keys, defaults and
rules. Pure: reading files and the environment is :mod:`rodrunner.config.loading`'s (the
environment through pydantic-settings, when an :class:`AppConfig` is made).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_COLLECTION_TEMPLATE = "/{zone}/home/{user}/sequencer/{sequencer_type}/{run_id}"


DEFAULT_TRIGGER_FILE = ".rodrunner-ingest"
"""Dropped into a run folder by an operator: ingest it now (``daemon.trigger_file``)."""
DEFAULT_SKIP_FILE = ".rodrunner-skip"
"""Dropped into a run folder by an operator: never ingest it (``daemon.skip_file``)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class IRODSConfig(_Section):
    """How to reach iRODS and where runs go there."""

    host: str = "localhost"
    port: int = Field(1247, ge=1, le=65535)
    zone: str = "tempZone"
    user: str = "rods"
    password: SecretStr | None = None
    env_file: Path | None = None
    sandbox: Path | None = None
    collection_template: str = DEFAULT_COLLECTION_TEMPLATE
    # Where puts go (destRescName); the env file's irods_default_resource when unset.
    # ``default_resource`` is the older name of the same key.
    resource: str | None = Field(
        None, validation_alias=AliasChoices("resource", "default_resource")
    )
    min_replicas: int = Field(1, ge=1)
    replica_wait: float = Field(600.0, ge=0)  # seconds
    transfer_threads: int = Field(4, ge=1, le=64)
    connection_timeout: float = Field(120.0, gt=0)
    avu_prefix: str = ""
    hash_scheme: Literal["auto", "sha256", "md5"] = "auto"
    sandbox_hash_scheme: Literal["sha256", "md5"] = "sha256"

    @field_validator("collection_template")
    @classmethod
    def _template_is_absolute(cls, value: str) -> str:
        if not value.startswith("/") or "{run_id}" not in value:
            raise ValueError(
                "must be an absolute iRODS path containing {run_id}, "
                f"e.g. {DEFAULT_COLLECTION_TEMPLATE}"
            )
        return value


ObserverKind = Literal["auto", "inotify", "polling"]


class SequencerTypeConfig(_Section):
    """One sequencer root: which profile, where, and how to watch it."""

    root: Path | None = None
    completion_indicator: str | None = None
    observer: ObserverKind = "auto"
    poll_interval: float = Field(30.0, gt=0)
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


class SequencerConfig(_Section):
    """Where the sequencer roots are."""

    base_dir: Path = Path("/data/sequencers")
    types: dict[str, SequencerTypeConfig] = Field(default_factory=dict)

    def root_for(self, sequencer_type: str) -> Path:
        """The root directory of ``sequencer_type`` (``base_dir/<type>`` unless set)."""
        entry = self.types.get(sequencer_type)
        if entry is not None and entry.root is not None:
            return entry.root
        return self.base_dir / sequencer_type


class DaemonConfig(_Section):
    """rodrunnerd: state, timing, submission."""

    state_dir: Path = Path("/var/lib/rodrunner")
    settle_seconds: float = Field(60.0, ge=0)
    rescan_interval: float = Field(300.0, gt=0)
    max_concurrent_ingests: int = Field(2, ge=1)
    max_attempts: int = Field(5, ge=1)
    submit: Literal["embedded", "deployment"] = "embedded"
    deployment: str = "Ingest Run/rodrunner-ingest-run"
    trigger_file: str = DEFAULT_TRIGGER_FILE
    skip_file: str = DEFAULT_SKIP_FILE
    metrics: str | None = None
    shutdown_grace: float = Field(60.0, ge=0)

    @field_validator("metrics")
    @classmethod
    def _metrics_is_host_port(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError("must be host:port, e.g. 127.0.0.1:9464, or null to switch off")
        return value


class LoggingConfig(_Section):
    """How the entry points log."""

    format: Literal["auto", "json", "console", "journald"] = "auto"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class PrefectConfig(_Section):
    """Where flow runs are recorded when no PREFECT_API_URL is set."""

    local_server: bool = True
    idle_timeout: float = Field(900.0, ge=0)


class NotificationsConfig(_Section):
    """apprise URLs told about ingests."""

    urls: list[SecretStr] = Field(default_factory=list)
    on_failure: bool = True
    on_success: bool = False


class APIConfig(_Section):
    """The REST API."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    token: SecretStr | None = None
    max_body_bytes: int = Field(1024 * 1024, ge=1024)


class RetentionConfig(_Section):
    """When a run folder may leave the share (the conditions of ``rodrunner deletable``) and
    what the daemon then does with it: ``none`` (nothing, the default), ``move`` (into
    ``move_to``) or ``delete``; ``dry_run`` only logs what it would do."""

    action: Literal["none", "move", "delete"] = "none"
    dry_run: bool = False
    min_replicas: int = Field(1, ge=1)
    keep_days: float = Field(7.0, ge=0)
    verify_within: float = Field(7.0, gt=0)  # days
    move_to: Path | None = None
    interval: float = Field(3600.0, gt=0)  # seconds between two retention passes
    max_per_pass: int = Field(10, ge=1)  # folders released at most per pass

    @field_validator("action", mode="before")
    @classmethod
    def _none_when_null(cls, value: Any) -> Any:
        return "none" if value is None else value


def _retention_problem(config: AppConfig) -> str | None:
    """Why ``retention`` cannot work with these roots (``move`` needs ``move_to`` outside
    every sequencer root), else None."""
    retention = config.retention
    if retention.action != "move":
        return None
    if retention.move_to is None:
        return (
            "retention.action is 'move' but retention.move_to is not set; set retention.move_to "
            "to a directory outside every sequencer root (on the same filesystem), or use "
            "action 'none' or 'delete'"
        )
    target = os.path.realpath(retention.move_to)
    seq = config.sequencer
    roots = [seq.base_dir] + [seq.root_for(name) for name in seq.types]
    for root in roots:
        real = os.path.realpath(root)
        if os.path.commonpath([target, real]) in (real, target):
            return (
                f"retention.move_to '{retention.move_to}' overlaps the sequencer root '{root}'; "
                "set retention.move_to to a directory outside every sequencer root"
            )
    return None


class AuditConfig(_Section):
    """The "Audit Ingested Runs" flow: which stored runs it re-verifies, and how."""

    max_age: float | None = Field(3.0, gt=0)  # days since rodrunner::verified_at; null: all
    deep: bool = True
    limit: int | None = Field(None, ge=1)  # most runs per audit; null: no limit
    metrics_file: Path | None = None  # Prometheus textfile written after each audit; null: off

    @field_validator("metrics_file")
    @classmethod
    def _metrics_file_is_prom(cls, value: Path | None) -> Path | None:
        if value is not None and value.suffix != ".prom":
            raise ValueError(
                "must end in '.prom' (node_exporter's textfile collector reads only those), "
                "e.g. /var/lib/node_exporter/textfile/rodrunner_audit.prom, or null to switch off"
            )
        return value


class AppConfig(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix="RODRUNNER_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    irods: IRODSConfig = Field(default_factory=IRODSConfig)
    sequencer: SequencerConfig = Field(default_factory=SequencerConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    prefect: PrefectConfig = Field(default_factory=PrefectConfig)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    api: APIConfig = Field(default_factory=APIConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    source: Path | None = Field(default=None, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file; the file arrives as init kwargs.
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _retention_fits_the_roots(self) -> AppConfig:
        problem = _retention_problem(self)
        if problem is not None:
            raise ValueError(problem)
        return self

    def masked(self) -> dict[str, Any]:
        """The effective configuration as plain data, secrets shown as ``**********``."""
        return self.model_dump(mode="json", exclude={"source"})

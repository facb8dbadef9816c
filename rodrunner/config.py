"""Configuration: one :class:`AppConfig`, read once by the entry points.

Sources, strongest first: environment ``RODRUNNER_<SECTION>__<KEY>``, then the YAML file
(``--config F``, else ``$RODRUNNER_CONFIG``, else ``./config.yaml``, else
``/etc/rodrunner/config.yaml``), then the defaults here. Secrets are :class:`SecretStr`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from rodrunner.errors import ConfigError

DEFAULT_COLLECTION_TEMPLATE = "/{zone}/home/{user}/sequencer/{sequencer_type}/{run_id}"
SEARCH_PATH = (Path("config.yaml"), Path("/etc/rodrunner/config.yaml"))


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
    trigger_file: str = ".rodrunner-ingest"
    skip_file: str = ".rodrunner-skip"
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


def find_config_file(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The file :func:`get_config` reads: explicit, ``$RODRUNNER_CONFIG``, ./, /etc/."""
    if path is not None:
        return Path(path)
    env = os.environ.get("RODRUNNER_CONFIG")
    if env:
        return Path(env)
    for candidate in SEARCH_PATH:
        if candidate.is_file():
            return candidate
    return None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"configuration file '{path}' does not exist; "
            "copy config.example.yaml there or pass --config"
        ) from None
    except OSError as exc:
        raise ConfigError(f"configuration file '{path}' cannot be read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file '{path}' is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"configuration file '{path}' must hold a mapping of sections")
    return data


def _resolve_relative(data: dict[str, Any], base: Path) -> None:
    """Relative paths in a config file are relative to the file, not the working directory."""

    def fix(section: str, key: str) -> None:
        value = data.get(section, {}) if isinstance(data.get(section), dict) else None
        if value and isinstance(value.get(key), str) and not Path(value[key]).is_absolute():
            value[key] = str((base / value[key]).resolve())

    fix("irods", "env_file")
    fix("irods", "sandbox")
    fix("sequencer", "base_dir")
    fix("daemon", "state_dir")
    fix("retention", "move_to")
    fix("audit", "metrics_file")
    seq = data.get("sequencer")
    if isinstance(seq, dict) and isinstance(seq.get("types"), dict):
        for entry in seq["types"].values():
            root = entry.get("root") if isinstance(entry, dict) else None
            if isinstance(root, str) and not Path(root).is_absolute():
                entry["root"] = str((base / root).resolve())


ENV_PREFIX = "RODRUNNER_"


def _env_variable(loc: tuple[int | str, ...], environ: Mapping[str, str]) -> str | None:
    """The environment variable that set the value at ``loc`` (or a section holding it)."""
    names = {name.upper(): name for name in environ}
    for depth in range(len(loc), 0, -1):
        name = ENV_PREFIX + "__".join(str(p) for p in loc[:depth]).upper()
        if name in names:
            return name
    return None


def format_validation_error(
    exc: ValidationError, source: Path | None, environ: Mapping[str, str] | None = None
) -> str:
    """One line per wrong key: where the value came from (the environment variable, else the
    file), the key, the value, the fix."""
    environ = os.environ if environ is None else environ
    where = f" in '{source}'" if source else ""
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        value = err.get("input")
        shown = "**********" if any(s in key for s in ("password", "token", "urls")) else value
        variable = _env_variable(tuple(err["loc"]), environ)
        if variable is not None:
            lines.append(
                f"environment variable {variable} (configuration key '{key}') has value "
                f"{shown!r}: {err['msg']}; fix it or unset it"
            )
        elif not err["loc"]:  # a rule across sections: its message names the keys
            message = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"configuration{where}: {message}")
        elif err["type"] == "extra_forbidden":
            lines.append(
                f"unknown configuration key '{key}'{where}; remove it or check its spelling "
                "against config.example.yaml"
            )
        else:
            lines.append(f"configuration key '{key}'{where} has value {shown!r}: {err['msg']}")
    return "\n".join(lines)


def _secrets_in(data: Mapping[str, Any]) -> list[str]:
    """The keys of a configuration file's data that hold a secret."""
    held = []
    for section, key in (("irods", "password"), ("api", "token"), ("notifications", "urls")):
        values = data.get(section)
        if isinstance(values, dict) and values.get(key) not in (None, "", []):
            held.append(f"{section}.{key}")
    return held


def secret_mode_problem(
    path: Path, mode: int, gid: int, own_gid: int, held: list[str]
) -> str | None:
    """Why a file holding the secrets ``held`` is too open (readable by others, or by a group
    other than the reader's own), or None. Pure."""
    if not held:
        return None
    others = bool(mode & 0o004)
    group = bool(mode & 0o040) and gid != own_gid
    if not (others or group):
        return None
    who = " and ".join(w for w, on in (("its group", group), ("all users", others)) if on)
    return (
        f"configuration file '{path}' holds secrets ({', '.join(held)}) and is readable by {who} "
        f"(mode {mode & 0o777:04o}); run `chmod 600 '{path}'` (or `chown root:rodrunner` and "
        "`chmod 640` for the service's group), or move the secrets to the environment "
        "(e.g. RODRUNNER_IRODS__PASSWORD)"
    )


def secret_file_warning(path: Path | None) -> str | None:
    """A warning when the configuration file ``path`` holds a secret that group or others may
    read (see :func:`secret_mode_problem`); None when it does not, or cannot be read."""
    if path is None:
        return None
    try:
        info = path.stat()
        data = _read_yaml(path)
    except (OSError, ConfigError):
        return None
    return secret_mode_problem(path, info.st_mode, info.st_gid, os.getegid(), _secrets_in(data))


def get_config(path: str | os.PathLike[str] | None = None) -> AppConfig:
    """Load the configuration (see the module docstring for where from).

    Raises :class:`ConfigError` with a message naming the key, the value and the fix.
    """
    source = find_config_file(path)
    data: dict[str, Any] = {}
    if source is not None:
        data = _read_yaml(source)
        _resolve_relative(data, source.resolve().parent)
    try:
        config = AppConfig(**data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None
    config.source = source
    return config


CONFIG_TYPES = (
    "an AppConfig (from get_config()), a configuration file path (str or PathLike) or None"
)


def check_config_argument(value: Any) -> AppConfig | str | None:
    """A flow's ``config`` argument as given, or a TypeError naming the accepted types.

    An :class:`AppConfig` passes unchanged (used in-process as it is); a path becomes a str.
    """
    if value is None or isinstance(value, AppConfig | str):
        return value
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    raise TypeError(
        f"config must be {CONFIG_TYPES}, not {type(value).__name__}; "
        "pass get_config() or the path of a configuration file"
    )


ConfigArgument = Annotated[
    AppConfig | str | os.PathLike[str] | None,
    PlainValidator(check_config_argument, json_schema_input_type=str | None),
]
"""The type of a flow's ``config`` parameter (see :func:`load_config`)."""


def load_config(config: AppConfig | str | os.PathLike[str] | None) -> AppConfig:
    """The configuration a flow was given: the object itself, or read from the path.

    None reads the usual search path (:func:`get_config`) where the flow runs.
    """
    checked = check_config_argument(config)
    if isinstance(checked, AppConfig):
        return checked
    return get_config(checked)

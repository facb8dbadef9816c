"""Where a configuration comes from: :func:`get_config` reads the file and the environment
(file search, YAML, paths relative to the file) and, when a value is wrong, raises a
ConfigError with one line per wrong key (:func:`format_validation_error`: where the value came
from, the key, the value with secrets masked, the fix); :func:`load_config` gives a flow the
configuration it was passed (an :class:`AppConfig`, a path, or None for the search path).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import PlainValidator, ValidationError

from rodrunner.config.schema import AppConfig
from rodrunner.errors import ConfigError

SEARCH_PATH = (Path("config.yaml"), Path("/etc/rodrunner/config.yaml"))


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


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping of sections in the YAML file ``path``; ConfigError naming it and the fix."""
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


def get_config(path: str | os.PathLike[str] | None = None) -> AppConfig:
    """Load the configuration (see the module docstring for where from).

    Raises :class:`ConfigError` with a message naming the key, the value and the fix.
    """
    source = find_config_file(path)
    data: dict[str, Any] = {}
    if source is not None:
        data = read_yaml(source)
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

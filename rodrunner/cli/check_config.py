"""``rodrunner check-config [--config F] [--connect]``: validate and print the configuration.

Prints the effective configuration as YAML with secrets masked. A wrong value gets one
message naming the key, the value and the fix, and exit code 2. ``--connect`` also logs in
to iRODS and reaches the Prefect API.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from rodrunner.config import AppConfig, get_config
from rodrunner.config.permissions import secret_file_warning
from rodrunner.errors import ConfigError, RodrunnerError
from rodrunner.profiles import PROFILES, get_profile, with_indicator


def validate(config: AppConfig) -> None:
    """Checks across keys that the schema alone cannot make; raises :class:`ConfigError`."""
    known = ", ".join(PROFILES)
    for name, entry in config.sequencer.types.items():
        if name not in PROFILES:
            raise ConfigError(
                f"configuration key 'sequencer.types.{name}': {name!r} is not a sequencer "
                f"type; use one of: {known}",
                key=f"sequencer.types.{name}",
            )
        try:
            with_indicator(get_profile(name), entry.completion_indicator)
        except ConfigError as exc:
            raise ConfigError(
                f"configuration key 'sequencer.types.{name}.completion_indicator': {exc}",
                key=f"sequencer.types.{name}.completion_indicator",
            ) from None
    for key in ("trigger_file", "skip_file"):
        value = getattr(config.daemon, key)
        if not value or "/" in value:
            raise ConfigError(
                f"configuration key 'daemon.{key}' has value {value!r}: it must be a plain "
                "file name such as '.rodrunner-ingest'",
                key=f"daemon.{key}",
            )


def _check_irods(config: AppConfig) -> tuple[bool, str]:
    """Log in to iRODS (or start the configured sandbox), run one cheap query, read the
    server's version and the zone's checksum scheme (``irods.hash_scheme``; auto probes)."""
    try:
        from rodrunner.connect import open_irods
    except ModuleNotFoundError:
        return False, "rodrunner.irods.client is not available in this installation"
    target = f"{config.irods.host}:{config.irods.port}"
    if config.irods.sandbox is not None:
        target = f"the sandbox in {config.irods.sandbox}"
    try:
        with open_irods(config.irods) as client:
            seconds = client.ping()
            who = client.whoami
            version = ".".join(map(str, client.server_version))
            scheme = client.hash_scheme
    except RodrunnerError as exc:
        return False, f"{target}: {exc}"
    except Exception as exc:  # an untranslated failure still gets one line, not a traceback
        return False, f"{target}: {type(exc).__name__}: {exc}"
    return True, (
        f"logged in to {target} as {who} (query took {seconds * 1000:.0f} ms); iRODS "
        f"{version}, checksum scheme {scheme}"
    )


async def _prefect_health() -> Exception | None:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return await client.api_healthcheck()


def _check_prefect(config: AppConfig) -> tuple[bool, str]:
    from prefect.settings import PREFECT_API_URL

    from rodrunner.localprefect import server_dir, server_status

    url = PREFECT_API_URL.value()
    if not url and not config.prefect.local_server:
        return True, "no PREFECT_API_URL: each command starts Prefect's temporary server"
    if not url:
        local = server_status(server_dir(config.daemon.state_dir))
        now = f"running at {local['url']}" if local["running"] else "started on first use"
        return True, (
            f"no PREFECT_API_URL: flow runs are recorded on the local Prefect server in "
            f"{local['directory']} ({now})"
        )
    try:
        problem = asyncio.run(_prefect_health())
    except Exception as exc:  # any failure to reach the API is the answer here
        return False, f"{url} cannot be reached: {type(exc).__name__}: {exc}"
    if problem is not None:
        return False, f"{url} is not healthy: {problem}"
    return True, f"{url} is healthy"


def register(app: typer.Typer) -> None:
    """Add ``check-config`` to ``app``."""

    @app.command("check-config")
    def check_config(
        config_file: Annotated[
            Path | None, typer.Option("--config", "-c", help="Configuration file.")
        ] = None,
        connect: Annotated[
            bool, typer.Option("--connect", help="Also log in to iRODS and reach Prefect.")
        ] = False,
    ) -> None:
        """Validate the configuration and print it with secrets masked."""
        try:
            config = get_config(config_file)
            validate(config)
        except ConfigError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        warning = secret_file_warning(config.source)
        if warning is not None:
            typer.echo(f"warning: {warning}", err=True)
        source = f"# from {config.source}" if config.source else "# defaults (no file found)"
        data: dict[str, Any] = config.masked()
        typer.echo(source)
        typer.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip())
        if not connect:
            return
        ok = True
        results = (("irods", _check_irods(config)), ("prefect", _check_prefect(config)))
        for name, (passed, message) in results:
            ok = ok and passed
            typer.echo(f"{name}: {'ok' if passed else 'FAILED'}: {message}", err=not passed)
        if not ok:
            raise typer.Exit(1)

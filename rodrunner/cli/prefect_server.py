"""``rodrunner prefect-server status|start|stop``: the local Prefect server of the state dir.

Without ``PREFECT_API_URL``, ``rodrunner ingest``, ``rodrunner api`` and ``rodrunnerd`` record
their flow runs on one local Prefect server under ``<daemon.state_dir>/prefect-server``,
started on first use; it stops ``prefect.idle_timeout`` seconds after its last client (a
daemon that started it stops it when it stops). These commands show, start and stop it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from rodrunner.cli.logs import log_to_stderr
from rodrunner.config import AppConfig, get_config
from rodrunner.errors import ConfigError, RodrunnerError

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="Configuration file.", show_default=False)
]

group = typer.Typer(
    name="prefect-server",
    help="The local Prefect server that records flow runs when no PREFECT_API_URL is set.",
    no_args_is_help=True,
)


def _config(config_file: Path | None) -> AppConfig:
    log_to_stderr(logging.WARNING)
    try:
        return get_config(config_file)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _directory(config: AppConfig) -> Path:
    from rodrunner.localprefect.control import server_dir

    return server_dir(config.daemon.state_dir)


@group.command("status")
def status(
    config_file: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Whether it runs, its pid and URL (exit 3 when it does not run)."""
    from rodrunner.localprefect import server_status

    info = server_status(_directory(_config(config_file)))
    if as_json:
        typer.echo(json.dumps(info))
    elif info["running"]:
        typer.echo(
            f"running: pid {info.get('pid')}, {info.get('url')} "
            f"({'healthy' if info.get('healthy') else 'not answering'}), "
            f"stops {info.get('idle_timeout')} s after its last client; data in {info['directory']}"
        )
    else:
        typer.echo(f"not running (data in {info['directory']})")
    if not info["running"]:
        raise typer.Exit(3)


@group.command("start")
def start(config_file: ConfigOption = None) -> None:
    """Start it now (commands start it on first use anyway) and print its URL."""
    from rodrunner.localprefect.control import configured_api_url, ensure_local_prefect

    config = _config(config_file)
    if configured_api_url():
        typer.echo(f"error: PREFECT_API_URL is set ({configured_api_url()}); nothing to start")
        raise typer.Exit(2)
    if not config.prefect.local_server:
        typer.echo("error: prefect.local_server is false in the configuration", err=True)
        raise typer.Exit(2)
    try:
        server = ensure_local_prefect(config)
    except RodrunnerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    assert server is not None
    typer.echo(f"{server.url} (pid {server.pid})")


@group.command("stop")
def stop(config_file: ConfigOption = None) -> None:
    """Stop it (SIGTERM; its data stays for the next start)."""
    from rodrunner.localprefect import stop_server

    directory = _directory(_config(config_file))
    typer.echo("stopped" if stop_server(directory) else f"not running (data in {directory})")


def register(app: typer.Typer) -> None:
    """Add ``prefect-server`` to ``app``."""
    app.add_typer(group)

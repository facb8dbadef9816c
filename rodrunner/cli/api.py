"""``rodrunner api [--config F] [--host H] [--port P]``: serve the REST API with uvicorn.

Refuses (exit 2, one message) to bind a non-loopback address without ``api.token``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rodrunner.config import get_config
from rodrunner.errors import ConfigError


def register(app: typer.Typer) -> None:
    """Add the ``api`` command to ``app``."""
    app.command("api")(api)


def api(
    config_file: Annotated[
        Path | None, typer.Option("--config", "-c", help="Configuration file.")
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: api.host).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port to listen on (default: api.port).")
    ] = None,
) -> None:
    """Serve the REST API (OpenAPI schema at /openapi.json, docs at /docs)."""
    from rodrunner.api.security import check_bind

    try:
        config = get_config(config_file)
        bind_host = host or config.api.host
        bind_port = port or config.api.port
        check_bind(bind_host, config.api.token)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    from rodrunner.errors import RodrunnerError
    from rodrunner.localprefect import ensure_local_prefect

    try:
        ensure_local_prefect(config)  # flow runs recorded on the local server, unless configured
    except RodrunnerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None

    import uvicorn

    from rodrunner.api import create_app

    uvicorn.run(
        create_app(config),
        host=bind_host,
        port=bind_port,
        log_level=config.logging.level.lower(),
        proxy_headers=False,
    )

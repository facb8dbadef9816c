"""``rodrunner sandbox``: run the iRODS sandbox in the foreground until SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from rodrunner.cli.logs import log_to_stderr
from rodrunner.sandbox import Sandbox
from rodrunner.sandbox.limits import Limits


def register(app: typer.Typer) -> None:
    """Add the ``sandbox`` command to ``app``."""
    app.command("sandbox")(sandbox)


def sandbox(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on; 0 takes a free one.")
    ] = 1247,
    root: Annotated[
        Path | None,
        typer.Option(help="Directory for the catalog and the vault (default: a temporary one)."),
    ] = None,
    zone: Annotated[str, typer.Option(help="Zone name.")] = "tempZone",
    user: Annotated[str, typer.Option(help="The admin user.")] = "rods",
    password: Annotated[str, typer.Option(help="The admin user's password.")] = "rods",  # noqa: S107  (documented sandbox default)
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate: clients must negotiate TLS.")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.")] = None,
    hash: Annotated[
        str, typer.Option(help="Checksum scheme: sha256 (sha2:<base64>) or md5.")
    ] = "sha256",
    resource: Annotated[
        list[str] | None,
        typer.Option(help="A resource besides demoResc, for replicas (repeatable)."),
    ] = None,
    auth_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds a connection has to log in.")
    ] = Limits.auth_timeout,
    idle_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds a logged-in connection may stay silent.")
    ] = Limits.idle_timeout,
    max_connections: Annotated[
        int, typer.Option(min=1, help="Connections at once; more are refused.")
    ] = Limits.max_connections,
    max_unauthenticated: Annotated[
        int,
        typer.Option(min=1, help="Connections not yet logged in; a new one closes the oldest."),
    ] = Limits.max_unauthenticated,
) -> None:
    """Run an iRODS-protocol sandbox server for trials and tests (not production storage)."""
    if hash not in ("sha256", "md5"):
        raise typer.BadParameter(f"{hash!r} is not sha256 or md5", param_hint="--hash")
    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("give --tls-cert and --tls-key together", param_hint="--tls-cert")
    if max_unauthenticated > max_connections:
        raise typer.BadParameter(
            "must not exceed --max-connections", param_hint="--max-unauthenticated"
        )
    limits = Limits(auth_timeout, idle_timeout, max_connections, max_unauthenticated)
    for option, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path is not None and not path.is_file():
            raise typer.BadParameter(f"no file {path}", param_hint=option)
    log_to_stderr()  # stdout holds only the one "listening" line
    with tempfile.TemporaryDirectory(prefix="rodrunner-sandbox-") as scratch:
        try:
            server = Sandbox(
                root if root is not None else Path(scratch),
                host=host,
                port=port,
                zone=zone,
                user=user,
                password=password,
                hash=hash,
                tls_cert=tls_cert,
                tls_key=tls_key,
                resources=resource or (),
                limits=limits,
            )
        except OSError as exc:
            typer.echo(f"cannot start the iRODS sandbox on {host}:{port}: {exc.strerror}", err=True)
            raise typer.Exit(1) from exc
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            info = server.start()
            typer.echo(f"iRODS sandbox listening on {info.host}:{info.port} zone={info.zone}")
            sys.stdout.flush()
            while not stop.wait(1.0):
                pass
        finally:
            server.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

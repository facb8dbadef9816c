"""The local Prefect server process: ``python -m rodrunner.localprefect --dir D``.

The launcher takes ``D/server.lock`` and forks: the parent returns at once, the child starts
a new session (a Ctrl-C in the caller's terminal does not reach it) and serves Prefect's API
on a free loopback port with:

- the services of Prefect's temporary server only (flow and task run records, events, logs;
  no scheduler, late-runs, foreman, pause or cancellation loops: nothing is scheduled here),
  and of those not the automation triggers nor the telemetry (no traffic leaves the host);
- no UI;
- an idle exit: every ``--idle-timeout`` seconds without a request or open connection, when
  no client holds ``D/lease.lock``, it stops. SIGTERM stops it at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import functools
import json
import os
import socket
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from rodrunner.localprefect.control import (
    LEASE_LOCK,
    LOG_FILE,
    SERVER_LOCK,
    STATE_FILE,
)

#: Prefect settings of the server process (the environment it runs in).
SERVER_SETTINGS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_UI_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_EVENT_LOGGER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED": "false",
    "PREFECT_LOGGING_SERVER_LEVEL": "WARNING",
    "DO_NOT_TRACK": "1",
}

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

EXIT_TAKEN = 3
WORKER_POLL_SECONDS = 2.0


class IdleWatch:
    """ASGI middleware that counts open requests and remembers the last one (health checks,
    which a monitor may send forever, do not count)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.open = 0
        self.last = time.monotonic()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get("path") == "/api/health":
            await self.app(scope, receive, send)
            return
        self.open += 1
        self.last = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
            self.last = time.monotonic()

    def idle_for(self) -> float:
        """Seconds since the last request ended (0 while one is open)."""
        return 0.0 if self.open else time.monotonic() - self.last


def _no_client(directory: Path) -> int | None:
    """An fd holding ``lease.lock`` exclusively when no client holds it, else None."""
    fd = os.open(directory / LEASE_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _write_state(directory: Path, state: dict[str, Any]) -> None:
    tmp = directory / f".{STATE_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(state), encoding="utf-8")
    tmp.replace(directory / STATE_FILE)


def serve(directory: Path, idle_timeout: float, check_every: float = 5.0) -> int:
    """Serve until SIGTERM/SIGINT or idle; the caller holds ``server.lock``."""
    os.environ.update(SERVER_SETTINGS)
    os.environ["PREFECT_HOME"] = str(directory / "home")
    os.environ.pop("PREFECT_API_URL", None)
    import uvicorn
    from prefect.server.api import background_workers
    from prefect.server.api.server import create_app

    # Prefect's background task worker polls its in-memory queue every 250 ms by default,
    # most of an idle server's CPU; nothing rodrunner asks of it needs to start sooner.
    namespace = vars(background_workers)
    namespace["Worker"] = functools.partial(
        namespace["Worker"],
        minimum_check_interval=timedelta(seconds=WORKER_POLL_SECONDS),
        scheduling_resolution=timedelta(seconds=WORKER_POLL_SECONDS),
    )

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    watch = IdleWatch(create_app(ephemeral=True, final=True))
    server = uvicorn.Server(
        uvicorn.Config(watch, log_level="warning", lifespan="on", access_log=False)
    )

    async def idle_exit() -> None:
        while not server.started and not server.should_exit:
            await asyncio.sleep(0.05)
        _write_state(
            directory,
            {
                "pid": os.getpid(),
                "port": port,
                "url": f"http://127.0.0.1:{port}/api",
                "started_at": time.time(),
                "idle_timeout": idle_timeout,
            },
        )
        while not server.should_exit:
            await asyncio.sleep(check_every)
            if watch.idle_for() < idle_timeout:
                continue
            if _no_client(directory) is not None:  # held until the process exits
                server.should_exit = True

    async def main() -> None:
        watcher = asyncio.create_task(idle_exit())
        try:
            await server.serve(sockets=[sock])
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    try:
        asyncio.run(main())
    finally:
        state = directory / STATE_FILE
        with contextlib.suppress(OSError, ValueError):
            if json.loads(state.read_text(encoding="utf-8")).get("pid") == os.getpid():
                state.unlink()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Take the directory's server lock, fork a detached server, return (exit 3: taken)."""
    parser = argparse.ArgumentParser(prog="python -m rodrunner.localprefect")
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--idle-timeout", type=float, default=900.0)
    parser.add_argument("--foreground", action="store_true", help="do not fork")
    args = parser.parse_args(argv)
    directory: Path = args.dir.absolute()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = os.open(directory / SERVER_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"a local Prefect server already runs in {directory}", file=sys.stderr)
        return EXIT_TAKEN
    if not args.foreground:
        if os.fork() > 0:
            return 0  # the lock stays held by the child, which shares the open file
        os.setsid()
    log = os.open(directory / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return serve(directory, args.idle_timeout)

"""The client side of the local Prefect server: find it, start it once, lease it, stop it.

Files in ``<state_dir>/prefect-server/`` (mode 0700)::

    server.lock   held (flock, exclusive) by the server process for its whole life
    start.lock    held by a client while it looks for, or starts, the server: one starts it
    lease.lock    held shared by every client process while it uses the server; the server
                  exits only when it can take it exclusively and has been idle long enough
    server.json   pid, port and URL, written by the server once it listens, removed at exit
    server.log    the server's own output
    home/         the server's PREFECT_HOME: its SQLite database, the record of every run

Locks are released by the kernel when a process dies, so a crash never leaves one held.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from rodrunner.config import AppConfig
from rodrunner.errors import PrefectUnavailableError

log = structlog.get_logger()

SERVER_DIR = "prefect-server"
STATE_FILE = "server.json"
SERVER_LOCK = "server.lock"
START_LOCK = "start.lock"
LEASE_LOCK = "lease.lock"
LOG_FILE = "server.log"
PROCESS_MARK = "rodrunner.localprefect"

#: lease file descriptors this process holds, by server directory
_leases: dict[Path, int] = {}


@dataclass(frozen=True, slots=True)
class LocalServer:
    """A running local server: where it is and whether this process started it."""

    directory: Path
    pid: int
    port: int
    started: bool = False

    @property
    def url(self) -> str:
        """Its API URL (what ``PREFECT_API_URL`` is set to)."""
        return f"http://127.0.0.1:{self.port}/api"


def server_dir(state_dir: Path) -> Path:
    """Where the local server of ``state_dir`` keeps its files."""
    return Path(state_dir) / SERVER_DIR


def configured_api_url() -> str | None:
    """``PREFECT_API_URL`` as Prefect sees it (environment, profile or settings context)."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return str(url) if url else None


def use_api_url(url: str) -> None:
    """Point this process's Prefect client at ``url`` (before or after Prefect was imported)."""
    os.environ["PREFECT_API_URL"] = url
    if "prefect.context" in sys.modules:
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()


def no_telemetry() -> None:
    """No usage data leaves the host: Prefect's client analytics and, should Prefect start its
    own temporary server (``prefect.local_server: false``), the server's (unless set)."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _flock(fd: int, mode: int, timeout: float, what: Path) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise PrefectUnavailableError(
                    f"'{what}' stayed locked for {timeout:.0f} s; is a local Prefect server "
                    f"stuck? `rodrunner prefect-server stop` ends it"
                ) from None
            time.sleep(0.05)


@contextlib.contextmanager
def _locked(path: Path, mode: int, timeout: float) -> Iterator[None]:
    fd = _open(path)
    try:
        _flock(fd, mode, timeout, path)
        yield
    finally:
        os.close(fd)


def is_alive(directory: Path) -> bool:
    """Whether a server process holds ``server.lock`` (starting, serving or stopping)."""
    path = directory / SERVER_LOCK
    if not path.exists():
        return False
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def read_state(directory: Path) -> dict[str, Any] | None:
    """``server.json`` as written by the server, or None."""
    try:
        data = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def healthy(port: int, timeout: float = 5.0) -> bool:
    """Whether the API on ``127.0.0.1:port`` answers its health check."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/api/health")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _running(directory: Path) -> LocalServer | None:
    state = read_state(directory)
    if state is None or not is_alive(directory):
        return None
    server = LocalServer(directory, int(state["pid"]), int(state["port"]))
    return server if healthy(server.port) else None


def take_lease(directory: Path, timeout: float = 60.0) -> None:
    """Hold a shared lease on the server of ``directory`` until exit or :func:`release_lease`."""
    if directory in _leases:
        return
    fd = _open(directory / LEASE_LOCK)
    try:
        _flock(fd, fcntl.LOCK_SH, timeout, directory / LEASE_LOCK)
    except BaseException:
        os.close(fd)
        raise
    _leases[directory] = fd


def release_lease(directory: Path | None = None) -> None:
    """Give up this process's lease (on every server when ``directory`` is None)."""
    for key in [directory] if directory is not None else list(_leases):
        fd = _leases.pop(key, None)
        if fd is not None:
            os.close(fd)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _spawn(directory: Path, idle_timeout: float) -> None:
    """Start the server detached (its own session: a Ctrl-C in a terminal does not reach it)."""
    command = [
        sys.executable,
        "-m",
        PROCESS_MARK,
        "--dir",
        str(directory),
        "--idle-timeout",
        str(idle_timeout),
    ]
    # Not the caller's PREFECT_API_URL, systemd notification socket, nor its RODRUNNER_*
    # settings (secrets among them).
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PREFECT_API_URL", "NOTIFY_SOCKET") and not k.startswith("RODRUNNER_")
    }
    # The launcher forks the server and returns at once: nothing here waits for it or owns it.
    done = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        timeout=60,
        check=False,
    )
    if done.returncode not in (0, 3):  # 3: another server took the directory first
        raise PrefectUnavailableError(
            f"the local Prefect server in '{directory}' did not start: "
            f"{done.stderr.decode(errors='replace').strip()}"
        )


def _wait_ready(directory: Path, timeout: float) -> LocalServer:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_state(directory)
        if state is not None and healthy(int(state["port"]), timeout=2.0):
            return LocalServer(directory, int(state["pid"]), int(state["port"]), started=True)
        if not is_alive(directory):
            break
        time.sleep(0.1)
    reason = "is still not answering" if is_alive(directory) else "exited"
    raise PrefectUnavailableError(
        f"the local Prefect server in '{directory}' {reason} after {timeout:.0f} s; "
        f"its log ({directory / LOG_FILE}) ends:\n{_tail(directory / LOG_FILE)}\n"
        "set PREFECT_API_URL to a Prefect server, or prefect.local_server: false"
    )


def ensure_local_prefect(config: AppConfig, *, timeout: float = 180.0) -> LocalServer | None:
    """Make this process's flows record on the local server of ``config``; start it if need be.

    None (nothing done but :func:`no_telemetry`) when ``PREFECT_API_URL`` is already set or
    ``prefect.local_server`` is off. Otherwise the caller holds a lease on the server until it
    exits (or :func:`release_lease`), so the server does not stop under it. Raises
    :class:`PrefectUnavailableError` when the server cannot be started.
    """
    no_telemetry()
    if not config.prefect.local_server or configured_api_url():
        return None
    directory = server_dir(config.daemon.state_dir)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise PrefectUnavailableError(
            f"cannot create '{directory}' for the local Prefect server ({exc.strerror}); "
            "set daemon.state_dir to a writable directory or PREFECT_API_URL to a Prefect server"
        ) from None
    with _locked(directory / START_LOCK, fcntl.LOCK_EX, timeout):
        take_lease(directory, timeout)
        server = _running(directory)
        if server is None:
            _spawn(directory, config.prefect.idle_timeout)
            server = _wait_ready(directory, timeout)
    use_api_url(server.url)
    log.info(
        "prefect.local_server",
        url=server.url,
        pid=server.pid,
        started=server.started,
        directory=str(directory),
    )
    return server


def flush_prefect_client(timeout: float = 15.0) -> None:
    """Send what this process's Prefect log and event workers still hold, and stop them."""
    if "prefect.logging.handlers" in sys.modules:
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=timeout)
    if "prefect.events.worker" in sys.modules:
        from prefect.events.worker import EventsWorker

        EventsWorker.drain_all(timeout=timeout)


def _is_ours(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return PROCESS_MARK.encode() in cmdline


def stop_server(directory: Path, timeout: float = 30.0, *, only_if_unused: bool = False) -> bool:
    """Stop the server of ``directory`` (SIGTERM, SIGKILL after ``timeout``); True if it ran.

    With ``only_if_unused`` (a client that is done with it) it is left running while another
    process holds a lease on it, and this process's Prefect client first delivers the logs and
    events it still holds (they would fail at exit otherwise).
    """
    if only_if_unused:
        flush_prefect_client()
        release_lease(directory)
        fd = _open(directory / LEASE_LOCK)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)
    state = read_state(directory)
    if state is None or not is_alive(directory):
        return False
    pid = int(state["pid"])
    if not _is_ours(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while is_alive(directory) and time.monotonic() < deadline:
        time.sleep(0.05)
    if is_alive(directory) and _is_ours(pid):
        os.kill(pid, signal.SIGKILL)
        while is_alive(directory):
            time.sleep(0.05)
    with contextlib.suppress(FileNotFoundError):
        if (read_state(directory) or {}).get("pid") == pid:
            (directory / STATE_FILE).unlink()
    log.info("prefect.local_server_stopped", pid=pid, directory=str(directory))
    return True


def server_status(directory: Path) -> dict[str, Any]:
    """What ``rodrunner prefect-server status`` prints: running, pid, URL, healthy, clients."""
    state = read_state(directory) or {}
    alive = is_alive(directory)
    status: dict[str, Any] = {"directory": str(directory), "running": alive}
    if alive and state:
        status.update(
            pid=state.get("pid"),
            url=state.get("url"),
            started_at=state.get("started_at"),
            idle_timeout=state.get("idle_timeout"),
            healthy=healthy(int(state["port"])),
        )
    return status

"""sd_notify against real AF_UNIX datagram sockets the tests bind."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from rodrunnerd.sdnotify import Notifier


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A bound datagram socket at a file path, standing in for the service manager."""
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()


def test_ready_status_watchdog_stopping(listener: tuple[socket.socket, str]) -> None:
    """Each call arrives as one datagram of KEY=value lines."""
    sock, path = listener
    notifier = Notifier(path)
    assert notifier.ready(status="watching 3 roots; 2 runs queued")
    assert sock.recv(4096) == b"READY=1\nSTATUS=watching 3 roots; 2 runs queued"
    assert notifier.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.status("multi\nline")
    assert sock.recv(4096) == b"STATUS=multi line"
    assert notifier.stopping()
    assert sock.recv(4096) == b"STOPPING=1"
    notifier.close()


def test_abstract_socket() -> None:
    """An address starting with @ reaches a socket in the abstract namespace."""
    name = f"rodrunnerd-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        notifier = Notifier.from_env({"NOTIFY_SOCKET": "@" + name})
        assert notifier.enabled
        assert notifier.ready()
        assert sock.recv(4096) == b"READY=1"
        notifier.close()
    finally:
        sock.close()


def test_unset_is_a_noop() -> None:
    """Without NOTIFY_SOCKET nothing is sent and nothing fails."""
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog_interval is None


def test_watchdog_interval_is_half_the_timeout() -> None:
    """WATCHDOG_USEC for this process gives a ping interval of half the timeout."""
    mine = Notifier.from_env({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())})
    assert mine.watchdog_interval == 15.0
    other = Notifier.from_env({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_interval is None


def test_missing_socket_warns_once(tmp_path: Path) -> None:
    """A socket that is gone gives False and one warning, not an exception per call."""
    notifier = Notifier(str(tmp_path / "absent.sock"))
    with capture_logs() as logs:
        assert notifier.watchdog() is False
        assert notifier.watchdog() is False
    notifier.close()
    assert [e["event"] for e in logs] == ["sdnotify.failed"]
    assert logs[0]["log_level"] == "warning"

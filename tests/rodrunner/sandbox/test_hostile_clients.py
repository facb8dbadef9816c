"""Hostile clients against a `rodrunner sandbox` process over TCP: oversized headers, idle and
unauthenticated connections. The sandbox's memory is read from /proc; a real
python-irodsclient session must keep working meanwhile."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from irods.session import iRODSSession

from tests.daemon_process import wait_for
from tests.server_process import ServerProcess, free_port

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
GROWTH_LIMIT_KIB = 32 * 1024
"""What the sandbox's peak RSS may grow by under attack (it grew by the sizes announced)."""

STARTUP = (
    b"<StartupPack_PI><irodsProt>1</irodsProt><reconnFlag>0</reconnFlag>"
    b"<connectCnt>0</connectCnt><proxyUser>rods</proxyUser><proxyRcatZone>tempZone"
    b"</proxyRcatZone><clientUser>rods</clientUser><clientRcatZone>tempZone</clientRcatZone>"
    b"<relVersion>rods4.3.0</relVersion><apiVersion>d</apiVersion><option></option>"
    b"</StartupPack_PI>"
)


def _header(kind: str, msg_len: int, bs_len: int = 0, info: int = 0) -> bytes:
    raw = (
        f"<MsgHeader_PI><type>{kind}</type><msgLen>{msg_len}</msgLen><errorLen>0</errorLen>"
        f"<bsLen>{bs_len}</bsLen><intInfo>{info}</intInfo></MsgHeader_PI>"
    ).encode()
    return struct.pack(">i", len(raw)) + raw


def _closed_by_peer(sock: socket.socket) -> bool:
    """Whether the sandbox has closed ``sock`` (whatever it sent before)."""
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def _session_works(port: int) -> bool:
    session = iRODSSession(
        host="127.0.0.1", port=port, user="rods", password="rods", zone="tempZone"
    )
    try:
        return bool(session.collections.get("/tempZone/home/rods").name == "rods")
    finally:
        session.cleanup()


def _start(tmp_path: Path, *options: str) -> tuple[ServerProcess, int]:
    port = free_port()
    server = ServerProcess(
        ["sandbox", "--port", str(port), "--root", str(tmp_path / "sb"), *options]
    )
    server.wait_listening(port)
    return server, port


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    """The attacker's sockets, closed after the test."""
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def test_announced_sizes_are_not_allocated_before_login(
    tmp_path: Path, sockets: list[socket.socket]
) -> None:
    """20 connections announcing 64 MiB startup packs and 2 announcing 256 MiB byte streams
    before logging in: each is refused and closed, memory stays put, a session still works."""
    server, port = _start(tmp_path)
    try:
        before = server.reset_peak()
        for _ in range(20):
            sock = _connect(port)
            sock.sendall(_header("RODS_CONNECT", 64 * MIB) + b"<StartupPack_PI>")
            sockets.append(sock)
        for _ in range(2):
            sock = _connect(port)
            sock.sendall(_header("RODS_CONNECT", len(STARTUP)) + STARTUP)
            sock.sendall(_header("RODS_API_REQ", 0, bs_len=256 * MIB, info=702) + b"x" * 10)
            sockets.append(sock)

        def grown() -> int:
            return server.status_kib("VmHWM") - before

        wait_for(
            lambda: grown() > GROWTH_LIMIT_KIB or all(_closed_by_peer(s) for s in sockets),
            120,
            "the sandbox to refuse the announced sizes",
        )
        assert grown() < GROWTH_LIMIT_KIB, f"peak RSS grew by {grown()} KiB"
        assert _session_works(port)
        assert server.alive()
    finally:
        server.stop()
    assert "sandbox.frame_refused" in server.output(200)


def test_idle_unauthenticated_connections_are_closed(
    tmp_path: Path, sockets: list[socket.socket]
) -> None:
    """Connections that never log in are closed after --auth-timeout; sessions go on."""
    server, port = _start(tmp_path, "--auth-timeout", "2")
    try:
        for _ in range(10):
            sockets.append(_connect(port))
        sockets[0].sendall(_header("RODS_CONNECT", len(STARTUP)) + STARTUP)  # then silence
        assert _session_works(port)
        wait_for(lambda: all(_closed_by_peer(s) for s in sockets), 120, "idle sockets closed")
        assert _session_works(port)
    finally:
        server.stop()
    assert "sandbox.auth_timeout" in server.output(200)


def test_idle_authenticated_connections_are_closed(tmp_path: Path) -> None:
    """A logged-in connection silent for --idle-timeout is closed; the client reconnects."""
    server, port = _start(tmp_path, "--idle-timeout", "2")
    try:
        session = iRODSSession(
            host="127.0.0.1", port=port, user="rods", password="rods", zone="tempZone"
        )
        try:
            assert session.collections.get("/tempZone/home/rods").name == "rods"
            wait_for(lambda: "sandbox.idle_timeout" in server.output(200), 120, "idle close")
        finally:
            session.cleanup()
        assert _session_works(port)
    finally:
        server.stop()


def test_a_flood_of_connections_is_capped_and_others_are_served(
    tmp_path: Path, sockets: list[socket.socket]
) -> None:
    """40 silent connections against --max-unauthenticated 8: the oldest silent ones make room,
    a real session logs in meanwhile; past --max-connections new ones are refused."""
    server, port = _start(tmp_path, "--max-unauthenticated", "8", "--max-connections", "12")
    try:
        for _ in range(40):
            sockets.append(_connect(port))
        wait_for(
            lambda: sum(_closed_by_peer(s) for s in sockets) >= 32,
            120,
            "all but 8 silent connections closed",
        )
        assert _session_works(port)
        assert server.alive()
    finally:
        server.stop()
    assert "sandbox.connection_evicted" in server.output(400)

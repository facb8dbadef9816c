"""Fault injection: the knobs the reliability suite turns, seen from the real client."""

from __future__ import annotations

import gc
import os
import socket
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from irods import exception as ex
from irods.session import iRODSSession

from rodrunner.sandbox import SandboxInfo
from rodrunner.sandbox.faults import Faults
from rodrunner.sandbox.protocol import codes
from tests.conftest import sandbox_session

HOME = "/tempZone/home/rods"


def collect_failed_client_sockets() -> None:
    """python-irodsclient leaves a failed connection to the GC (whose __del__ then fails to
    say goodbye on the dead socket): collect those now, quietly."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _: None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    finally:
        sys.unraisablehook = hook


@pytest.fixture(autouse=True)
def _quiet_failed_client_connections() -> Iterator[None]:
    yield
    collect_failed_client_sockets()


def test_faults_are_off_by_default() -> None:
    """A fresh Faults object never drops or fails anything."""
    faults = Faults(seed=1)
    assert all(faults.error_for(702) is None for _ in range(1000))
    assert all(faults.drop_offset(676, 100) is None for _ in range(1000))


def test_seeded_faults_repeat() -> None:
    """Two Faults with one seed make the same decisions."""
    a, b = Faults(seed=7, drop_probability=0.5), Faults(seed=7, drop_probability=0.5)
    assert [a.drop_offset(676, 1000) for _ in range(50)] == [
        b.drop_offset(676, 1000) for _ in range(50)
    ]


def test_fail_next_answers_the_next_calls_with_the_code(
    irods_session: iRODSSession, irods_sandbox: SandboxInfo
) -> None:
    """fail_next(api, code, 2) fails exactly the next two calls of that API."""
    irods_sandbox.faults.fail_next(681, codes.SYS_RESC_IS_DOWN, 2)
    for _ in range(2):
        with pytest.raises(ex.SYS_RESC_IS_DOWN):
            irods_session.collections.create(f"{HOME}/c")
    assert irods_session.collections.create(f"{HOME}/c").path == f"{HOME}/c"


def test_sys_error_probability_one_fails_every_call(
    irods_session: iRODSSession, irods_sandbox: SandboxInfo
) -> None:
    """With sys_error_probability=1 every call after auth gets the configured error."""
    irods_sandbox.faults.sys_error_probability = 1.0
    with pytest.raises(ex.SYS_RESC_IS_DOWN):
        irods_session.collections.create(f"{HOME}/c")
    irods_sandbox.faults.reset()
    assert irods_session.collections.create(f"{HOME}/c").path == f"{HOME}/c"


def test_drop_during_a_write_breaks_the_connection_and_leaves_a_stale_replica(
    irods_sandbox: SandboxInfo, tmp_path: Path
) -> None:
    """drop_probability=1 cuts the connection inside a write; the replica is not good."""
    (tmp_path / "f").write_bytes(os.urandom(100_000))
    session = sandbox_session(irods_sandbox)
    irods_sandbox.faults.reseed(3)
    irods_sandbox.faults.drop_probability = 1.0
    try:
        with pytest.raises(ex.NetworkException):
            session.data_objects.put(str(tmp_path / "f"), f"{HOME}/f")
        irods_sandbox.faults.reset()
        session.cleanup()
        replica = session.data_objects.get(f"{HOME}/f").replicas[0]
        assert replica.status in ("0", "2")
        session.data_objects.put(str(tmp_path / "f"), f"{HOME}/f")
        assert session.data_objects.get(f"{HOME}/f").replicas[0].status == "1"
    finally:
        session.cleanup()


def test_unreachable_refuses_connections_until_cleared(irods_sandbox: SandboxInfo) -> None:
    """While unreachable, a new connection is closed at once; afterwards it works again."""
    irods_sandbox.faults.unreachable = True
    with socket.create_connection((irods_sandbox.host, irods_sandbox.port)) as sock:
        sock.settimeout(10)
        assert sock.recv(1) == b""
    irods_sandbox.faults.unreachable = False
    session = sandbox_session(irods_sandbox)
    try:
        assert session.collections.get(HOME).path == HOME
    finally:
        session.cleanup()


def test_restart_closes_live_connections(
    irods_session: iRODSSession, irods_sandbox: SandboxInfo
) -> None:
    """restart() closes every live connection: the next call on it fails, a new one works."""
    with irods_session.pool.get_connection() as conn:
        irods_sandbox.faults.restart()
        conn.socket.settimeout(10)
        assert conn.socket.recv(1) == b""
    session = sandbox_session(irods_sandbox)
    try:
        assert session.collections.get(HOME).path == HOME
    finally:
        session.cleanup()

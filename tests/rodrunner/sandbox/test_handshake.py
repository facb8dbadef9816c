"""The start of a sandbox connection with the real python-irodsclient: version, TLS."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from irods import exception as ex
from irods.session import iRODSSession

from rodrunner.sandbox import run_sandbox
from tests.conftest import sandbox_session, self_signed_certificate


def test_connect_reports_the_traced_server_version(irods_session: iRODSSession) -> None:
    """A client connects, authenticates natively and sees iRODS 5.0.2, like the traces."""
    with irods_session.pool.get_connection() as conn:
        assert conn.server_version == (5, 0, 2)


def test_tls_round_trip_with_a_self_signed_certificate(tmp_path: Path) -> None:
    """With a certificate the client negotiates TLS, moves bytes both ways, disconnects cleanly."""
    cert, key = self_signed_certificate(tmp_path)
    local = tmp_path / "hello.txt"
    local.write_bytes(b"over TLS\n" * 1000)
    with run_sandbox(tmp_path / "sb", tls_cert=cert, tls_key=key) as info:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cert))
        session = sandbox_session(
            info,
            host="localhost",
            irods_client_server_negotiation="request_server_negotiation",
            irods_client_server_policy="CS_NEG_REQUIRE",
            irods_encryption_algorithm="AES-256-CBC",
            irods_encryption_key_size=32,
            irods_encryption_num_hash_rounds=16,
            irods_encryption_salt_size=8,
            ssl_context=context,
        )
        try:
            session.data_objects.put(str(local), "/tempZone/home/rods/hello.txt")
            back = tmp_path / "back.txt"
            session.data_objects.get("/tempZone/home/rods/hello.txt", str(back))
            assert back.read_bytes() == local.read_bytes()
            with session.pool.get_connection() as conn:
                assert isinstance(conn.socket, ssl.SSLSocket)
        finally:
            session.cleanup()  # unwrap() needs the server's close_notify


def test_tls_sandbox_refuses_a_client_that_does_not_negotiate(tmp_path: Path) -> None:
    """A TLS sandbox answers a plain client with an error that says how to configure TLS."""
    cert, key = self_signed_certificate(tmp_path)
    with run_sandbox(tmp_path / "sb", tls_cert=cert, tls_key=key) as info:
        session = sandbox_session(info)
        try:
            with pytest.raises(ex.SYS_NOT_ALLOWED, match="requires TLS"):
                session.collections.get("/tempZone/home/rods")
        finally:
            session.cleanup()

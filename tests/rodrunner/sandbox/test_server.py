"""The sandbox server with the real python-irodsclient: startup, auth, TLS, dispatch."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from irods import client_configuration as prc_config
from irods import exception as ex
from irods.message import iRODSMessage
from irods.session import iRODSSession

from rodrunner.sandbox import SandboxInfo, run_sandbox
from rodrunner.sandbox.server import native_digest
from tests.conftest import sandbox_session


def test_connect_reports_the_traced_server_version(irods_session: iRODSSession) -> None:
    """A client connects, authenticates natively and sees iRODS 5.0.2, like the traces."""
    with irods_session.pool.get_connection() as conn:
        assert conn.server_version == (5, 0, 2)


def test_wrong_password_raises_cat_invalid_authentication(irods_sandbox: SandboxInfo) -> None:
    """A wrong password fails with the real client's CAT_INVALID_AUTHENTICATION."""
    session = iRODSSession(
        host=irods_sandbox.host,
        port=irods_sandbox.port,
        user="rods",
        password="not-the-password",
        zone="tempZone",
    )
    try:
        with pytest.raises(ex.CAT_INVALID_AUTHENTICATION):
            session.collections.get("/tempZone/home/rods")
    finally:
        session.cleanup()


def test_legacy_auth_flow_works_and_checks_the_password(irods_sandbox: SandboxInfo) -> None:
    """The pre-4.3 challenge/response (703/704) accepts the password and refuses a wrong one."""
    saved = prc_config.legacy_auth.force_legacy_auth
    prc_config.legacy_auth.force_legacy_auth = True
    try:
        good = sandbox_session(irods_sandbox)
        with good.pool.get_connection() as conn:
            assert conn.client_signature
        good.cleanup()
        bad = iRODSSession(
            host=irods_sandbox.host,
            port=irods_sandbox.port,
            user="rods",
            password="x",
            zone="tempZone",
        )
        with pytest.raises(ex.CAT_INVALID_AUTHENTICATION), bad.pool.get_connection():
            pass
        bad.cleanup()
    finally:
        prc_config.legacy_auth.force_legacy_auth = saved


def test_digest_replaces_nul_bytes_like_irods() -> None:
    """The native digest never contains NUL: iRODS turns those bytes into 0x01."""
    digests = [native_digest(f"{i:064x}".encode(), "rods") for i in range(2000)]
    assert all(len(d) == 16 and b"\0" not in d for d in digests)
    assert any(b"\1" in d for d in digests)


def test_unknown_api_gets_an_error_naming_it_and_the_connection_survives(
    irods_session: iRODSSession,
) -> None:
    """An unimplemented API number is answered with SYS_UNMATCHED_API_NUM naming the number."""
    with irods_session.pool.get_connection() as conn:
        conn.send(iRODSMessage("RODS_API_REQ", int_info=99999))
        with pytest.raises(ex.SYS_UNMATCHED_API_NUM, match="99999"):
            conn.recv()
        conn.send(iRODSMessage("RODS_API_REQ", int_info=99998))
        with pytest.raises(ex.SYS_UNMATCHED_API_NUM, match="99998"):
            conn.recv()


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_round_trip_with_a_self_signed_certificate(tmp_path: Path) -> None:
    """With a certificate the client negotiates TLS, moves bytes both ways, disconnects cleanly."""
    cert, key = _self_signed(tmp_path)
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
    cert, key = _self_signed(tmp_path)
    with run_sandbox(tmp_path / "sb", tls_cert=cert, tls_key=key) as info:
        session = sandbox_session(info)
        try:
            with pytest.raises(ex.SYS_NOT_ALLOWED, match="requires TLS"):
                session.collections.get("/tempZone/home/rods")
        finally:
            session.cleanup()

"""Native authentication in the sandbox with the real python-irodsclient: JSON and legacy."""

from __future__ import annotations

import socket

import pytest
from irods import client_configuration as prc_config
from irods import exception as ex
from irods.session import iRODSSession

from rodrunner.sandbox import SandboxInfo
from rodrunner.sandbox.auth import native_digest
from rodrunner.sandbox.framing import frame, read_header, recv_exact
from tests.conftest import sandbox_session

SYS_NO_API_PRIV = -13000


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


STARTUP = (
    b"<StartupPack_PI><irodsProt>1</irodsProt><reconnFlag>0</reconnFlag>"
    b"<connectCnt>0</connectCnt><proxyUser>rods</proxyUser><proxyRcatZone>tempZone"
    b"</proxyRcatZone><clientUser>rods</clientUser><clientRcatZone>tempZone</clientRcatZone>"
    b"<relVersion>rods4.3.0</relVersion><apiVersion>d</apiVersion><option></option>"
    b"</StartupPack_PI>"
)


def test_an_api_other_than_auth_is_refused_before_login(irods_sandbox: SandboxInfo) -> None:
    """Before logging in, a GenQuery gets SYS_NO_API_PRIV and an auth request is still served."""
    with socket.create_connection((irods_sandbox.host, irods_sandbox.port), timeout=30) as sock:
        sock.sendall(frame("RODS_CONNECT", STARTUP))
        version = read_header(sock)
        recv_exact(sock, version.msg_len + version.error_len + version.bs_len)
        sock.sendall(frame("RODS_API_REQ", info=702))
        refused = read_header(sock)
        recv_exact(sock, refused.msg_len + refused.error_len + refused.bs_len)
        assert refused.int_info == SYS_NO_API_PRIV
        sock.sendall(frame("RODS_API_REQ", info=703))  # AUTH_REQUEST_AN: the legacy challenge
        challenge = read_header(sock)
        body = recv_exact(sock, challenge.msg_len + challenge.error_len + challenge.bs_len)
        assert challenge.int_info == 0
        assert b"<challenge>" in body

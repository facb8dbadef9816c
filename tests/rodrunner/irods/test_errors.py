"""Tests for rodrunner.irods.errors: python-irodsclient/socket errors become our error tree."""

from __future__ import annotations

import errno
import ssl

import pytest
from irods import exception as ex
from irods.session import NonAnonymousLoginWithoutPassword

from rodrunner.errors import (
    AuthenticationError,
    ChecksumMismatchError,
    IRODSError,
    NameClashError,
    PathError,
    PermanentIRODSError,
    PermissionDeniedError,
    TransientIRODSError,
    is_transient,
)
from rodrunner.irods.errors import translate, translate_errors

PATH = "/tempZone/home/rods/run/file.txt"


@pytest.mark.parametrize(
    ("exc", "kind", "name"),
    [
        (ex.CAT_INVALID_AUTHENTICATION("bad"), AuthenticationError, "CAT_INVALID_AUTHENTICATION"),
        (ex.CAT_INVALID_USER(), AuthenticationError, "CAT_INVALID_USER"),
        (ex.CAT_NO_ACCESS_PERMISSION(), PermissionDeniedError, "CAT_NO_ACCESS_PERMISSION"),
        (ex.OVERWRITE_WITHOUT_FORCE_FLAG(), NameClashError, "OVERWRITE_WITHOUT_FORCE_FLAG"),
        (
            ex.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME(),
            NameClashError,
            "CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME",
        ),
        (ex.USER_CHKSUM_MISMATCH(), ChecksumMismatchError, "USER_CHKSUM_MISMATCH"),
        (ex.SYS_RESC_QUOTA_EXCEEDED(), PermanentIRODSError, "SYS_RESC_QUOTA_EXCEEDED"),
        (ex.SYS_SOCK_READ_TIMEDOUT(), TransientIRODSError, "SYS_SOCK_READ_TIMEDOUT"),
        (ex.SYS_RESC_IS_DOWN(), TransientIRODSError, "SYS_RESC_IS_DOWN"),
        (ex.SYS_HEADER_READ_LEN_ERR(), TransientIRODSError, "SYS_HEADER_READ_LEN_ERR"),
        (ex.CAT_UNKNOWN_COLLECTION(), PermanentIRODSError, "CAT_UNKNOWN_COLLECTION"),
        (ex.NetworkException("Could not receive"), TransientIRODSError, "NetworkException"),
        (TimeoutError("timed out"), TransientIRODSError, "TimeoutError"),
        (ConnectionResetError(errno.ECONNRESET, "reset"), TransientIRODSError, None),
        (OSError(errno.EHOSTUNREACH, "no route"), TransientIRODSError, "EHOSTUNREACH"),
        (ssl.SSLEOFError(8, "EOF"), TransientIRODSError, "SSLEOFError"),
        (NonAnonymousLoginWithoutPassword(), AuthenticationError, "NO_PASSWORD"),
        (ex.DataObjectDoesNotExist(), PermanentIRODSError, "DataObjectDoesNotExist"),
        (ValueError("odd"), PermanentIRODSError, "ValueError"),
    ],
)
def test_translation_table(exc: Exception, kind: type[IRODSError], name: str | None) -> None:
    """Each foreign error maps to its branch, keeps the server's name and names the path."""
    out = translate(exc, PATH)
    assert type(out) is kind
    if name is not None:
        assert out.name == name
        if not isinstance(out, AuthenticationError):
            assert name in str(out)
    assert out.path == PATH
    if not isinstance(out, AuthenticationError):
        assert PATH in str(out)


def test_coded_errors_keep_the_server_code() -> None:
    """The numeric iRODS code travels along."""
    out = translate(ex.CAT_NO_ACCESS_PERMISSION(), PATH)
    assert out.code == ex.CAT_NO_ACCESS_PERMISSION.code


def test_only_transient_branch_is_retryable() -> None:
    """is_transient is True for network trouble and False for credentials."""
    assert is_transient(translate(ex.NetworkException("x")))
    assert not is_transient(translate(ex.CAT_INVALID_AUTHENTICATION()))


def test_context_manager_chains_the_original() -> None:
    """translate_errors raises our error with the foreign one as __cause__."""
    original = ex.CAT_NO_ACCESS_PERMISSION("denied")
    with pytest.raises(PermissionDeniedError) as info, translate_errors(PATH):
        raise original
    assert info.value.__cause__ is original


def test_context_manager_lets_our_errors_through() -> None:
    """rodrunner errors are not re-wrapped."""
    with pytest.raises(PathError), translate_errors(PATH):
        raise PathError("x")


def test_certificate_failure_is_permanent() -> None:
    """An untrusted TLS certificate is not retried and says how to fix it."""
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_message = "self-signed certificate"
    out = translate(exc, None)
    assert isinstance(out, PermanentIRODSError)
    assert "irods_ssl_ca_certificate_file" in str(out)

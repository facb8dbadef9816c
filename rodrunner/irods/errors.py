"""The one place where python-irodsclient, socket and ssl exceptions become rodrunner errors.

Like httpx maps httpcore's exceptions in a single context manager, every call into
python-irodsclient runs inside :func:`translate_errors`, which re-raises what it catches as a
branch of :mod:`rodrunner.errors`::

    TransientIRODSError      NetworkException, socket time-outs and resets, SYS_* socket/load
                             errors, server-side catalog connection failures
    AuthenticationError      CAT_INVALID_AUTHENTICATION, CAT_INVALID_USER, CAT_PASSWORD_EXPIRED,
                             PAM_AUTH_*, no password at all
    PermissionDeniedError    CAT_NO_ACCESS_PERMISSION, SYS_NO_API_PRIV, ...
    NameClashError           OVERWRITE_WITHOUT_FORCE_FLAG, CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME,
                             CAT_NAME_EXISTS_AS_*
    ChecksumMismatchError    USER_CHKSUM_MISMATCH
    PermanentIRODSError      quota and everything else the server says (never retried)

Every message names the iRODS path (when there is one) and the server's error name.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from irods import exception as irods_exc
from irods.session import NonAnonymousLoginWithoutPassword

from rodrunner.errors import (
    AuthenticationError,
    ChecksumMismatchError,
    IRODSError,
    NameClashError,
    PermanentIRODSError,
    PermissionDeniedError,
    RodrunnerError,
    TransientIRODSError,
)

__all__ = ["translate", "translate_errors"]

TRANSIENT_NAMES = frozenset(
    {
        "SYS_SOCK_OPEN_ERR",
        "SYS_SOCK_BIND_ERR",
        "SYS_SOCK_ACCEPT_ERR",
        "SYS_SOCK_READ_TIMEDOUT",
        "SYS_SOCK_READ_ERR",
        "SYS_SOCK_CONNECT_ERR",
        "SYS_HEADER_READ_LEN_ERR",
        "SYS_HEADER_WRITE_LEN_ERR",
        "SYS_CAUGHT_SIGNAL",
        "SYS_EXCEED_CONNECT_CNT",
        "SYS_SVR_TO_SVR_CONNECT_FAILED",
        "SYS_MALLOC_ERR",
        "SYS_OUT_OF_FILE_DESC",
        "SYS_AGENT_INIT_ERR",
        "SYS_NO_ICAT_SERVER_ERR",
        "SYS_NO_RCAT_SERVER_ERR",
        "SYS_RESC_IS_DOWN",
        "SYS_FORK_ERROR",
        "SYS_UDP_CONNECT_ERR",
        "USER_SOCK_CONNECT_ERR",
        "USER_SOCK_CONNECT_TIMEDOUT",
        "CROSS_ZONE_SOCK_CONNECT_ERR",
        "CATALOG_NOT_CONNECTED",
        "CAT_CONNECT_ERR",
        "CAT_SQL_ERR_CONNECTION",
    }
)

AUTHENTICATION_NAMES = frozenset(
    {
        "CAT_INVALID_AUTHENTICATION",
        "CAT_INVALID_USER",
        "CAT_INVALID_CLIENT_USER",
        "CAT_PASSWORD_EXPIRED",
        "CAT_PASSWORD_ENCODING_ERROR",
        "PAM_AUTH_PASSWORD_FAILED",
        "PAM_AUTH_PASSWORD_INVALID_TTL",
        "AUTH_FILE_DOES_NOT_EXIST",
        "AUTH_FILE_NOT_ENCRYPTED",
        "NO_PASSWORD_ENTERED",
        "REMOTE_SERVER_AUTHENTICATION_FAILURE",
        "USER_AUTH_SCHEME_ERR",
        "USER_AUTH_STRING_EMPTY",
    }
)

PERMISSION_NAMES = frozenset(
    {
        "CAT_NO_ACCESS_PERMISSION",
        "SYS_NO_API_PRIV",
        "SYS_NO_PATH_PERMISSION",
        "SYS_NO_DATA_OBJ_PERMISSION",
        "SYS_USER_NOT_ALLOWED_TO_CONN",
        "SYS_PROXYUSER_NO_PRIV",
        "CAT_INSUFFICIENT_PRIVILEGE_LEVEL",
    }
)

NAME_CLASH_NAMES = frozenset(
    {
        "OVERWRITE_WITHOUT_FORCE_FLAG",
        "CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME",
        "CAT_NAME_EXISTS_AS_COLLECTION",
        "CAT_NAME_EXISTS_AS_DATAOBJ",
        "DataObjectExistsAtLogicalPath",
    }
)

CHECKSUM_NAMES = frozenset({"USER_CHKSUM_MISMATCH"})

TRANSIENT_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.EHOSTDOWN,
        errno.EAGAIN,
    }
)


def _where(path: str | None) -> str:
    return f" for '{path}'" if path else ""


def _server_name(exc: BaseException) -> str:
    """The server's error name: the PRC class name for coded errors."""
    return type(exc).__name__


def _detail(exc: BaseException) -> str:
    text = str(exc).strip()
    return f": {text}" if text and text != "None" else ""


def translate(exc: BaseException, path: str | None = None) -> IRODSError:
    """The rodrunner error for a foreign exception raised while working on ``path``."""
    if isinstance(exc, IRODSError):
        return exc
    if isinstance(exc, NonAnonymousLoginWithoutPassword):
        return AuthenticationError(
            "iRODS login has no password: set irods.password in the configuration or run "
            "iinit to write the .irodsA file next to the environment file",
            path=path,
            name="NO_PASSWORD",
        )
    if isinstance(exc, irods_exc.iRODSException):
        return _translate_coded(exc, path)
    if isinstance(exc, irods_exc.NetworkException):
        return TransientIRODSError(
            f"iRODS connection failed{_where(path)} (NetworkException{_detail(exc)}); "
            "is the server reachable?",
            path=path,
            name="NetworkException",
        )
    if isinstance(exc, irods_exc.DoesNotExist):
        return PermanentIRODSError(
            f"iRODS has no such object or collection{_where(path)} ({_server_name(exc)})",
            path=path,
            name=_server_name(exc),
        )
    if isinstance(exc, irods_exc.DataObjectExistsAtLogicalPath):
        return NameClashError(
            f"an iRODS data object is in the way{_where(path)} (DataObjectExistsAtLogicalPath)",
            path=path,
            name="DataObjectExistsAtLogicalPath",
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentIRODSError(
            f"the iRODS server's TLS certificate is not trusted{_where(path)} "
            f"(SSLCertVerificationError: {exc.verify_message}); set irods_ssl_ca_certificate_file "
            "in the environment file",
            path=path,
            name="SSLCertVerificationError",
        )
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return TransientIRODSError(
            f"iRODS did not answer in time{_where(path)} (TimeoutError); "
            "raise irods.connection_timeout if the server is just slow",
            path=path,
            name="TimeoutError",
        )
    if isinstance(exc, (ssl.SSLError, ConnectionError, EOFError)):
        return TransientIRODSError(
            f"iRODS connection dropped{_where(path)} ({type(exc).__name__}{_detail(exc)})",
            path=path,
            name=type(exc).__name__,
        )
    if isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS:
        return TransientIRODSError(
            f"iRODS connection failed{_where(path)} "
            f"({errno.errorcode.get(exc.errno or 0, 'OSError')}: {exc.strerror})",
            path=path,
            name=errno.errorcode.get(exc.errno or 0),
        )
    return PermanentIRODSError(
        f"iRODS operation failed{_where(path)} ({type(exc).__name__}{_detail(exc)})",
        path=path,
        name=type(exc).__name__,
    )


def _translate_coded(exc: irods_exc.iRODSException, path: str | None) -> IRODSError:
    name = _server_name(exc)
    code = getattr(exc, "code", None)
    where = _where(path)
    cls: type[IRODSError]
    if name in AUTHENTICATION_NAMES:
        cls, message = (
            AuthenticationError,
            f"iRODS refused the credentials ({name}); check irods.user, irods.zone and "
            "irods.password (or the .irodsA file next to the environment file)",
        )
    elif name in PERMISSION_NAMES:
        cls, message = (
            PermissionDeniedError,
            f"iRODS denied access{where} ({name}); ask the iRODS administrator for write "
            "access or change irods.collection_template",
        )
    elif name in NAME_CLASH_NAMES:
        cls, message = (
            NameClashError,
            f"something of that name is already in iRODS{where} ({name}); remove it or "
            "ingest with force",
        )
    elif name in CHECKSUM_NAMES:
        cls, message = (
            ChecksumMismatchError,
            f"iRODS computed a different checksum{where} ({name}); the file changed while it "
            "was read or was damaged in transit",
        )
    elif "QUOTA" in name:
        cls, message = (
            PermanentIRODSError,
            f"iRODS quota exceeded{where} ({name}); free space or ask for a larger quota",
        )
    elif name in TRANSIENT_NAMES or (name.startswith("SYS_") and "SOCK" in name):
        cls, message = TransientIRODSError, f"iRODS server failed{where} ({name}{_detail(exc)})"
    else:
        cls, message = (
            PermanentIRODSError,
            f"iRODS refused the operation{where} ({name}{_detail(exc)})",
        )
    return cls(message, path=path, code=code, name=name)


@contextmanager
def translate_errors(path: str | None = None) -> Iterator[None]:
    """Run the body; anything python-irodsclient or the network raises becomes an IRODSError.

    rodrunner's own errors pass through untouched, as do ``KeyboardInterrupt`` and friends.
    """
    try:
        yield
    except RodrunnerError:
        raise
    except Exception as exc:
        raise translate(exc, path) from exc

"""What a client learns about its zone once: the server's release and the checksum scheme.

The scheme is ``irods.hash_scheme``, or (``auto``) the ``hash_scheme`` the server states in
its client hints (its ``default_hash_scheme``, iRODS 4.3 and 5.0), else what it stored for a
1-byte probe object put without a checksum (docs/irods-compat.md).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from irods.session import iRODSSession

from rodrunner.errors import ConfigError, IRODSError
from rodrunner.irods import _wire
from rodrunner.irods.checksums import HashScheme, scheme_from_hint, scheme_of_checksum
from rodrunner.irods.errors import translate_errors
from rodrunner.irods.retry import call_with_retries
from rodrunner.irods.session import SessionPool

__all__ = [
    "SUPPORTED_SERVERS",
    "hash_scheme",
    "hinted_hash_scheme",
    "probe_hash_scheme",
    "server_version",
]

log = structlog.get_logger()

SUPPORTED_SERVERS = ((4, 3), (5, 0))  # iRODS 4.3.x and 5.0.x (README "iRODS servers")


def server_version(session: iRODSSession) -> tuple[int, ...]:
    """The server's release, e.g. ``(5, 0, 2)``, logged (``irods.server_version``); a warning
    when it is not a 4.3.x or 5.0.x release (the ones rodrunner is checked against)."""

    def ask() -> tuple[int, ...]:
        with translate_errors():
            return tuple(int(x) for x in session.server_version)

    version = call_with_retries(ask, operation="connect")
    text = ".".join(map(str, version))
    if version[:2] in SUPPORTED_SERVERS:
        log.info("irods.server_version", version=text)
    else:
        log.warning(
            "irods.server_version",
            version=text,
            problem="not an iRODS version rodrunner was checked against "
            "(4.3.x, 5.0.x); watch the first ingests closely",
        )
    return version


def hash_scheme(
    configured: str,
    pool: SessionPool,
    home: str,
    resource: str | None,
    stored: Callable[[str], str],
) -> HashScheme:
    """``configured`` unless ``auto``, else the hinted scheme, else the probe's (see
    :func:`probe_hash_scheme`); logged (``irods.hash_scheme`` with its source)."""
    source = "irods.hash_scheme"
    scheme = scheme_from_hint(configured)
    if scheme is None:
        scheme, source = hinted_hash_scheme(pool.main), "client_hints"
    if scheme is None:
        scheme, source = probe_hash_scheme(pool, home, resource, stored), "probe"
    log.info("irods.hash_scheme", scheme=scheme, source=source)
    return scheme


def hinted_hash_scheme(session: iRODSSession) -> HashScheme | None:
    """``hash_scheme`` of CLIENT_HINTS (iRODS 4.3 and 5.0); None when not usable."""

    def ask() -> Any:
        with translate_errors():
            return session.client_hints

    try:
        hints = call_with_retries(ask, operation="client_hints")
    except IRODSError as exc:
        log.warning("irods.client_hints_failed", error=str(exc))
        return None
    except Exception as exc:  # a reply that is not the JSON object 4.3/5.0 send
        log.warning("irods.client_hints_failed", error=f"{type(exc).__name__}: {exc}")
        return None
    value = str(hints.get("hash_scheme", "")) if isinstance(hints, dict) else ""
    scheme = scheme_from_hint(value)
    if scheme is None:
        log.warning("irods.client_hints_failed", error=f"hash_scheme {value!r}")
    return scheme


def probe_hash_scheme(
    pool: SessionPool, home: str, resource: str | None, stored: Callable[[str], str]
) -> HashScheme:
    """The scheme of what the server stores for a probe object put in ``home`` (``stored``
    reads a path's checksum as the server holds it); the probe is removed again."""
    path = f"{home}/.rodrunner-hash-probe-{uuid.uuid4().hex[:12]}"
    fix = (
        "set irods.hash_scheme to the zone's default_hash_scheme (sha256 or md5; ask the "
        "iRODS administrator)"
    )
    try:
        with pool.worker() as session:
            call_with_retries(
                lambda: _wire.put_single(session, path, b"\n", resource),
                operation="put",
                path=path,
                on_retry=session.cleanup,
            )
        value = stored(path)
    except IRODSError as exc:
        raise ConfigError(
            f"cannot tell the zone's checksum scheme: the probe object '{path}' could not "
            f"be stored and checksummed ({exc}); {fix}",
            key="irods.hash_scheme",
        ) from None
    finally:
        with contextlib.suppress(Exception), translate_errors(path):
            pool.main.data_objects.unlink(path, force=True)
    scheme = scheme_of_checksum(value)
    if scheme is None:
        raise ConfigError(
            f"cannot tell the zone's checksum scheme: iRODS stored {value!r} for a probe "
            f"object, neither SHA-256 ('sha2:...') nor MD5 (32 hex digits); {fix}",
            key="irods.hash_scheme",
        )
    return scheme

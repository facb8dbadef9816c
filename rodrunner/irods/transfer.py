"""Moving bytes over one session: make a collection, put a file or bytes, read an object.

Files up to :data:`SINGLE_PUT_MAX` go in one ``DATA_OBJ_PUT`` round trip; larger ones are
opened, streamed chunk by chunk (read and hashed ahead, :mod:`rodrunner.irods.localio`) and
closed with the checksum registered at close. Each call is retried on transient errors with
:mod:`rodrunner.irods.retry`, the session's connections renewed between attempts.
"""

from __future__ import annotations

import contextlib

from irods import keywords as kw
from irods.session import iRODSSession

from rodrunner.errors import IRODSError, PermanentIRODSError
from rodrunner.irods import _wire
from rodrunner.irods.checksums import Digests, LocalDigest, digest_bytes
from rodrunner.irods.errors import translate_errors
from rodrunner.irods.localio import (
    CHUNK,
    BytesSource,
    FileSource,
    LocalFileError,
    Prefetcher,
    Source,
    open_local,
)
from rodrunner.irods.retry import call_with_retries
from rodrunner.irods.walk import LocalFile

__all__ = ["SINGLE_PUT_MAX", "make_collection", "put_data", "put_file", "read_object"]

SINGLE_PUT_MAX = CHUNK  # files up to this size go in one DATA_OBJ_PUT round trip
ALREADY_EXISTS = "CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME"
_WRITE = _wire.O_WRONLY | _wire.O_CREAT | _wire.O_TRUNC


def make_collection(session: iRODSSession, path: str) -> None:
    """Create ``path`` and its parents unless they exist."""

    def attempt() -> None:
        try:
            _wire.create_collection(session, path)
        except IRODSError as exc:
            if exc.name != ALREADY_EXISTS:
                raise

    call_with_retries(attempt, operation="mkdir", path=path, on_retry=session.cleanup)


def put_data(session: iRODSSession, path: str, data: bytes, resource: str | None) -> None:
    """Write ``data`` to data object ``path`` (replacing it), checksum registered."""

    def attempt() -> None:
        if len(data) <= SINGLE_PUT_MAX:
            _wire.put_single(session, path, data, resource)
        else:
            _write(session, path, len(data), BytesSource(data), resource)

    call_with_retries(attempt, operation="put", path=path, on_retry=session.cleanup)


def put_file(
    session: iRODSSession, local: LocalFile, target: str, resource: str | None, *, md5: bool
) -> LocalDigest:
    """Write the local file ``local`` to data object ``target``; its digests as sent."""

    def attempt() -> LocalDigest:
        with open_local(local) as fh:
            if local.size <= SINGLE_PUT_MAX:
                data = FileSource(fh, local).read(local.size + 1)
                if len(data) <= SINGLE_PUT_MAX:  # else it grew past it: stream it
                    _wire.put_single(session, target, data, resource)
                    return digest_bytes(data, md5=md5)
                fh.seek(0)
            return _write(session, target, local.size, FileSource(fh, local), resource, md5=md5)

    return call_with_retries(attempt, operation="put", path=target, on_retry=session.cleanup)


def read_object(session: iRODSSession, path: str, max_bytes: int) -> bytes:
    """The content of data object ``path``; PermanentIRODSError if it exceeds ``max_bytes``."""
    return call_with_retries(
        lambda: _read(session, path, max_bytes),
        operation="get",
        path=path,
        on_retry=session.cleanup,
    )


def _write(
    session: iRODSSession,
    path: str,
    size: int,
    source: Source,
    resource: str | None,
    *,
    md5: bool = False,
) -> LocalDigest:
    """Create or truncate ``path``, stream ``source`` into it; the local digests.

    If the local file fails mid-way the partial object is removed.
    """
    options = {kw.REG_CHKSUM_KW: "", kw.DATA_SIZE_KW: str(size)}
    if resource:
        options[kw.DEST_RESC_NAME_KW] = resource
    digest = Digests(md5)
    with translate_errors(path):
        raw = _wire.open_raw(session, path, _WRITE, size, options)
    chunks = Prefetcher(source, digest)
    try:
        while (chunk := chunks.next_chunk()) is not None:
            with translate_errors(path):
                _wire.write_chunk(raw, chunk)
    except LocalFileError:
        _wire.close_raw(raw, path, quiet=True)
        with contextlib.suppress(Exception):
            session.data_objects.unlink(path, force=True)
        raise
    except BaseException:
        _wire.close_raw(raw, path, quiet=True)
        raise
    finally:
        chunks.close()
    _wire.close_raw(raw, path, quiet=False)
    return digest.result()


def _read(session: iRODSSession, path: str, max_bytes: int) -> bytes:
    with translate_errors(path):
        raw = _wire.open_raw(session, path, _wire.O_RDONLY, -1, {})
    parts: list[bytes] = []
    total = 0
    try:
        while True:
            buf = bytearray(min(CHUNK, max_bytes + 1 - total) or 1)
            with translate_errors(path):
                n = _wire.read_into(raw, buf)
            if not n:
                break
            parts.append(bytes(buf[:n]))
            total += n
            if total > max_bytes:
                raise PermanentIRODSError(
                    f"data object '{path}' is larger than {max_bytes} bytes; "
                    "raise max_bytes or read it another way",
                    path=path,
                    name="TOO_LARGE",
                )
    except BaseException:
        _wire.close_raw(raw, path, quiet=True)
        raise
    _wire.close_raw(raw, path, quiet=False)
    return b"".join(parts)

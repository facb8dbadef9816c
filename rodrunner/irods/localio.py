"""Local reads for transfers: files and byte strings as chunk sources, read and hashed ahead.

Two reused buffers per thread: while one chunk is on the wire (and the server writes and
hashes it), a helper thread reads and hashes the next one into the other buffer, so the
client's SHA-256 (and MD5) overlaps the round trip instead of adding to it. A file that
cannot be opened or read raises :class:`LocalFileError` naming the file, which an upload
reports for that file alone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import IO, Any

from rodrunner.errors import RodrunnerError
from rodrunner.irods.checksums import Digests, LocalDigest
from rodrunner.irods.walk import LocalFile

__all__ = [
    "CHUNK",
    "BytesSource",
    "FileSource",
    "LocalFileError",
    "Prefetcher",
    "Source",
    "hash_file",
    "open_local",
]

CHUNK = 4 * 1024 * 1024


class LocalFileError(RodrunnerError):
    """A local file could not be read (internal: becomes a per-file error)."""


class Source:
    """Bytes to send, read chunk by chunk into a caller's buffer."""

    def readinto(self, buf: bytearray) -> int:
        """Fill ``buf`` from the next bytes; how many (0 at the end)."""
        raise NotImplementedError


class BytesSource(Source):
    """The bytes of one byte string, without copies."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def readinto(self, buf: bytearray) -> int:
        chunk = self._data[self._pos : self._pos + len(buf)]
        buf[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


class FileSource(Source):
    """An open local file; read errors become :class:`LocalFileError` naming ``local``."""

    def __init__(self, fh: IO[bytes], local: LocalFile) -> None:
        self._fh = fh
        self._local = local

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes."""
        try:
            return self._fh.read(n)
        except OSError as exc:
            raise self._error(exc) from None

    def readinto(self, buf: bytearray) -> int:
        try:
            return int(self._fh.readinto(buf))  # type: ignore[attr-defined]
        except OSError as exc:
            raise self._error(exc) from None

    def _error(self, exc: OSError) -> LocalFileError:
        return LocalFileError(
            f"'{self._local.relative}' cannot be read: {exc.strerror}; check the file"
        )


_buffers = threading.local()


def _chunk_buffers() -> tuple[bytearray, bytearray]:
    """This thread's two transfer buffers (CHUNK bytes each, allocated once per thread)."""
    pair: tuple[bytearray, bytearray] | None = getattr(_buffers, "pair", None)
    if pair is None:
        pair = _buffers.pair = (bytearray(CHUNK), bytearray(CHUNK))
    return pair


class Prefetcher:
    """Chunks of ``source``, each read and hashed one step ahead in a helper thread.

    ``next_chunk()`` returns a view of the chunk read last (valid until the next call) and
    starts reading the following one into this thread's other buffer; the digest is updated
    in file order, one chunk at a time. hashlib and file reads release the GIL, so the helper
    hashes while the caller sends. ``close()`` waits for the helper (no buffer is in use
    after it); read errors (LocalFileError) surface from ``next_chunk``.
    """

    def __init__(self, source: Source, digest: Any) -> None:
        self._source = source
        self._digest = digest
        self._buffers = _chunk_buffers()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="irods-read")
        self._index = 0
        self._pending: Future[int] | None = self._pool.submit(self._fill, 0)

    def _fill(self, index: int) -> int:
        buf = self._buffers[index]
        n = self._source.readinto(buf)
        if n:
            self._digest.update(memoryview(buf)[:n])
        return n

    def next_chunk(self) -> memoryview | None:
        """The next chunk (hashed already), or None at the end of the source."""
        if self._pending is None:
            return None
        n = self._pending.result()
        if not n:
            self._pending = None
            return None
        ready = self._index
        self._index ^= 1
        self._pending = self._pool.submit(self._fill, self._index)
        return memoryview(self._buffers[ready])[:n]

    def close(self) -> None:
        """Wait for the helper thread to finish and stop it."""
        self._pending = None
        self._pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def open_local(local: LocalFile) -> Iterator[IO[bytes]]:
    """``local`` open for reading; LocalFileError naming it when it cannot be opened."""
    try:
        fh = open(local.source, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise LocalFileError(
            f"'{local.relative}' cannot be opened: {exc.strerror}; check its permissions"
        ) from None
    with fh:
        yield fh


def hash_file(local: LocalFile, *, md5: bool = False) -> LocalDigest:
    """The digests of ``local`` (SHA-256, and MD5 with ``md5``), read in this thread's buffer."""
    digest = Digests(md5)
    with open_local(local) as fh:
        source = FileSource(fh, local)
        buf = _chunk_buffers()[0]
        while n := source.readinto(buf):
            digest.update(memoryview(buf)[:n])
    return digest.result()

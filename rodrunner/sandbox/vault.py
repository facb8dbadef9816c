"""The sandbox's data files: ``<root>/vault/<shard>/<data_id>``, and their checksums.

Files are named by data id, not by logical path, so renaming an object or a collection is a
catalog change only. Checksums are formatted as iRODS does: ``sha2:<base64(sha256)>`` by
default, bare md5 hex with ``hash_scheme="md5"``.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

CHUNK = 4 * 1024 * 1024


def new_hasher(scheme: str) -> Any:
    """A hashlib object for ``scheme`` (``sha256`` or ``md5``)."""
    if scheme == "md5":
        return hashlib.md5(usedforsecurity=False)
    return hashlib.sha256()


def format_checksum(hasher: Any, scheme: str) -> str:
    """The iRODS form of a finished hash."""
    if scheme == "md5":
        return str(hasher.hexdigest())
    return "sha2:" + base64.b64encode(hasher.digest()).decode()


def scheme_of(checksum: str, default: str) -> str:
    """The hash scheme a checksum string is written in (``default`` if unrecognised)."""
    if checksum.startswith("sha2:"):
        return "sha256"
    if len(checksum) == 32 and all(c in "0123456789abcdef" for c in checksum.lower()):
        return "md5"
    return default


class Vault:
    """Where the bytes of data objects live."""

    def __init__(self, root: Path, *, hash_scheme: str = "sha256") -> None:
        if hash_scheme not in ("sha256", "md5"):
            raise ValueError(f"hash scheme {hash_scheme!r} is not sha256 or md5")
        self.root = root
        self.hash_scheme = hash_scheme
        root.mkdir(parents=True, exist_ok=True)
        self._root = os.fspath(root)
        self._shards: set[int] = set()  # shard directories known to exist

    def path_for(self, data_id: int) -> Path:
        """The file that holds data object ``data_id``."""
        return self.root / f"{data_id % 256:02x}" / str(data_id)

    def _create_path(self, data_id: int) -> str:
        """The file name for ``data_id`` as a string, its shard directory made once."""
        shard = data_id % 256
        directory = f"{self._root}/{shard:02x}"
        if shard not in self._shards:
            os.makedirs(directory, exist_ok=True)
            self._shards.add(shard)
        return f"{directory}/{data_id}"

    def open(self, data_id: int, *, write: bool, truncate: bool = False) -> int:
        """An OS file descriptor on the object's file (created when writing)."""
        path = self.path_for(data_id)
        if write:
            flags = os.O_RDWR | os.O_CREAT | (os.O_TRUNC if truncate else 0)
            return os.open(self._create_path(data_id), flags, 0o600)
        try:
            return os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # a zero-byte object whose file was never written
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
            return os.open(path, os.O_RDONLY)

    def write(self, data_id: int, data: bytes | memoryview) -> None:
        """Replace the object's file with ``data``."""
        fd = os.open(self._create_path(data_id), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            done = 0
            while done < len(view):
                done += os.write(fd, view[done:])
        finally:
            os.close(fd)

    def size(self, data_id: int) -> int:
        """The current size of the object's file (0 if there is none)."""
        try:
            return self.path_for(data_id).stat().st_size
        except FileNotFoundError:
            return 0

    def checksum(self, data_id: int, scheme: str | None = None) -> str:
        """Read the whole file and return its checksum in iRODS form."""
        scheme = scheme or self.hash_scheme
        hasher = new_hasher(scheme)
        try:
            with self.path_for(data_id).open("rb", buffering=0) as f:
                buf = bytearray(CHUNK)
                view = memoryview(buf)
                while n := f.readinto(buf):
                    hasher.update(view[:n])
        except FileNotFoundError:
            pass
        return format_checksum(hasher, scheme)

    def hash_tail(self, data_id: int, hasher: Any, offset: int) -> None:
        """Feed the object's bytes from ``offset`` to the end into ``hasher``."""
        try:
            with self.path_for(data_id).open("rb", buffering=0) as f:
                f.seek(offset)
                buf = bytearray(CHUNK)
                view = memoryview(buf)
                while n := f.readinto(buf):
                    hasher.update(view[:n])
        except FileNotFoundError:
            pass

    def remove(self, data_id: int) -> None:
        """Delete the object's file (no error if it is gone)."""
        self.path_for(data_id).unlink(missing_ok=True)

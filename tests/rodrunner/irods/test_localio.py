"""rodrunner.irods.localio: local sources read and hashed ahead, and local read errors."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from rodrunner.irods.checksums import digest_bytes
from rodrunner.irods.localio import (
    CHUNK,
    BytesSource,
    LocalFileError,
    Prefetcher,
    hash_file,
    open_local,
)
from rodrunner.irods.walk import walk_tree


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_prefetcher_yields_chunks_in_order_with_their_digest() -> None:
    """The read-ahead hands out every chunk in file order and hashes exactly those bytes."""
    data = os.urandom(3 * CHUNK + 7)
    digest = hashlib.sha256()
    chunks = Prefetcher(BytesSource(data), digest)
    got = bytearray()
    try:
        while (chunk := chunks.next_chunk()) is not None:
            got += chunk
    finally:
        chunks.close()
    assert bytes(got) == data
    assert digest.hexdigest() == _sha(data)
    assert chunks.next_chunk() is None


def test_prefetcher_raises_a_read_error_of_a_later_chunk() -> None:
    """A read failing on the second chunk surfaces from next_chunk after the first chunk."""

    class Failing(BytesSource):
        calls = 0

        def readinto(self, buf: bytearray) -> int:
            self.calls += 1
            if self.calls == 2:
                raise LocalFileError("'x' cannot be read: Input/output error; check the file")
            return super().readinto(buf)

    chunks = Prefetcher(Failing(os.urandom(2 * CHUNK)), hashlib.sha256())
    try:
        first = chunks.next_chunk()
        assert first is not None
        assert len(first) == CHUNK
        with pytest.raises(LocalFileError, match="cannot be read"):
            chunks.next_chunk()
    finally:
        chunks.close()


def test_hash_file_gives_both_digests_of_one_read(tmp_path: Path) -> None:
    """A file of more than one buffer hashes to the SHA-256 and MD5 of its bytes."""
    data = os.urandom(CHUNK + 99)
    (tmp_path / "f.bin").write_bytes(data)
    (local,) = walk_tree(tmp_path).files
    assert hash_file(local, md5=True) == digest_bytes(data, md5=True)
    assert hash_file(local).md5 is None


def test_a_file_that_cannot_be_opened_is_a_local_file_error(tmp_path: Path) -> None:
    """A file gone between listing and reading is a LocalFileError naming its relative path."""
    (tmp_path / "gone.txt").write_bytes(b"x")
    (local,) = walk_tree(tmp_path).files
    (tmp_path / "gone.txt").unlink()
    with pytest.raises(LocalFileError, match=r"'gone\.txt' cannot be opened"), open_local(local):
        pass

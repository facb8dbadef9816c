"""Pure: checksums as iRODS stores them and as rodrunner computes them, and their comparison.

iRODS stores SHA-256 as ``sha2:<base64>`` and MD5 as 32 hex digits (a zone's
``default_hash_scheme``); rodrunner always computes the SHA-256 of a file and, in an MD5 zone,
its MD5 from the same read. A catalog listing (one row per replica) becomes one
:class:`RemoteObject` per data object here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rodrunner.errors import ChecksumMismatchError, PermanentIRODSError

__all__ = [
    "GOOD_REPLICA",
    "Digests",
    "HashScheme",
    "LocalDigest",
    "RemoteObject",
    "digest_bytes",
    "known_or_refuse",
    "md5_hex_from_irods",
    "merge_replicas",
    "remote_checksum",
    "require_match",
    "scheme_from_hint",
    "scheme_of_checksum",
    "sha256_hex_from_irods",
    "sha256_or_refuse",
]

HashScheme = Literal["sha256", "md5"]
GOOD_REPLICA = "1"


@dataclass(frozen=True)
class RemoteObject:
    """A data object as the catalog lists it: size and SHA-256 hex (None when not recorded).

    ``good`` is False when no replica is good (all stale, or still being written): then the
    catalog's size and checksum need not describe the stored bytes, and the object counts as
    not there.
    """

    size: int
    checksum: str | None
    good: bool = True
    md5: str | None = None  # MD5 hex, when the catalog holds an MD5 (an MD5 zone)

    @property
    def has_checksum(self) -> bool:
        """Whether the catalog holds a SHA-256 or MD5 checksum (agreed by the good replicas)."""
        return self.checksum is not None or self.md5 is not None


@dataclass(frozen=True)
class LocalDigest:
    """A local file's SHA-256 hex, and its MD5 hex where the zone stores MD5 (same read)."""

    sha256: str
    md5: str | None = None

    def matches(self, obj: RemoteObject) -> bool | None:
        """Whether the catalog's checksum equals this file's; None when the catalog holds
        no checksum in a scheme computed here."""
        if obj.checksum is not None:
            return obj.checksum == self.sha256
        if obj.md5 is not None and self.md5 is not None:
            return obj.md5 == self.md5
        return None

    def describe(self) -> str:
        """``SHA-256 <hex>`` (and ``MD5 <hex>``) for messages."""
        return f"SHA-256 {self.sha256}" + (f", MD5 {self.md5}" if self.md5 else "")


class Digests:
    """SHA-256 always, MD5 as well for an MD5 zone, fed from one read of the data."""

    def __init__(self, md5: bool) -> None:
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None

    def update(self, data: Any) -> None:
        """Feed ``data`` (bytes or a buffer) to every digest."""
        self._sha256.update(data)
        if self._md5 is not None:
            self._md5.update(data)

    def result(self) -> LocalDigest:
        """The digests of everything fed so far."""
        return LocalDigest(
            self._sha256.hexdigest(), self._md5.hexdigest() if self._md5 is not None else None
        )


def digest_bytes(data: bytes | memoryview, *, md5: bool = False) -> LocalDigest:
    """The :class:`LocalDigest` of ``data``."""
    digests = Digests(md5)
    digests.update(data)
    return digests.result()


def sha256_hex_from_irods(checksum: str | None) -> str | None:
    """``sha2:<base64>`` as lowercase hex; None for empty or other hash schemes."""
    if not checksum or not checksum.startswith("sha2:"):
        return None
    try:
        return base64.b64decode(checksum[5:], validate=True).hex()
    except (binascii.Error, ValueError):
        return None


def md5_hex_from_irods(checksum: str | None) -> str | None:
    """A bare 32-digit MD5 hex (how iRODS stores MD5, optionally ``md5:``-prefixed); else None."""
    if not checksum:
        return None
    value = checksum[4:] if checksum.startswith("md5:") else checksum
    if len(value) == 32 and all(c in "0123456789abcdef" for c in value.lower()):
        return value.lower()
    return None


def scheme_of_checksum(value: str | None) -> HashScheme | None:
    """``sha256`` for ``sha2:<base64>``, ``md5`` for 32 hex digits, else None."""
    if sha256_hex_from_irods(value) is not None:
        return "sha256"
    if md5_hex_from_irods(value) is not None:
        return "md5"
    return None


def scheme_from_hint(value: str) -> HashScheme | None:
    """The scheme a server's ``hash_scheme`` client hint names (any case); None otherwise."""
    if value.lower() == "sha256":
        return "sha256"
    if value.lower() == "md5":
        return "md5"
    return None


def remote_checksum(value: str | None, size: int = -1) -> RemoteObject:
    """A checksum string as iRODS returns it, as a :class:`RemoteObject` to compare with."""
    return RemoteObject(
        size=size, checksum=sha256_hex_from_irods(value), md5=md5_hex_from_irods(value)
    )


def sha256_or_refuse(value: str, path: str) -> str:
    """The SHA-256 hex of the checksum ``value`` iRODS holds for ``path``; PermanentIRODSError
    for any other scheme."""
    hexsum = sha256_hex_from_irods(value)
    if hexsum is None:
        raise PermanentIRODSError(
            f"iRODS returned checksum {value!r} for '{path}', not SHA-256 (an MD5 zone "
            "stores MD5: use checksum_of())",
            path=path,
            name="UNSUPPORTED_HASH_SCHEME",
        )
    return hexsum


def known_or_refuse(value: str, path: str) -> RemoteObject:
    """The checksum ``value`` iRODS holds for ``path`` (SHA-256 or MD5; ``size`` -1);
    PermanentIRODSError for any other scheme."""
    if scheme_of_checksum(value) is None:
        raise PermanentIRODSError(
            f"iRODS returned checksum {value!r} for '{path}', neither SHA-256 nor MD5; "
            "rodrunner supports zones whose default_hash_scheme is SHA256 or MD5",
            path=path,
            name="UNSUPPORTED_HASH_SCHEME",
        )
    return remote_checksum(value)


def require_match(expected: LocalDigest, stored: RemoteObject, path: str) -> None:
    """ChecksumMismatchError naming ``path`` and both checksums unless ``stored`` matches."""
    if not expected.matches(stored):
        raise ChecksumMismatchError(
            f"iRODS stored '{path}' with checksum {stored.checksum or stored.md5}, expected "
            f"{expected.describe()}; write it again",
            path=path,
            name="USER_CHKSUM_MISMATCH",
        )


def merge_replicas(
    rows: Mapping[str, Sequence[tuple[int, str, str]]],
) -> dict[str, RemoteObject]:
    """One :class:`RemoteObject` per path from its replicas' ``(size, checksum, status)``.

    Good replicas win; their checksum is None unless they all agree, their size -1 unless
    they all agree. An object without a good replica is ``good=False`` with checksum None.
    """
    out: dict[str, RemoteObject] = {}
    for rel, replicas in rows.items():
        good = [r for r in replicas if r[2] == GOOD_REPLICA]
        if not good:
            out[rel] = RemoteObject(size=replicas[0][0], checksum=None, good=False)
            continue
        sizes = {r[0] for r in good}
        sums = {r[1] for r in good}
        agreed = sums.pop() if len(sums) == 1 else None
        out[rel] = RemoteObject(
            size=good[0][0] if len(sizes) == 1 else -1,
            checksum=sha256_hex_from_irods(agreed),
            md5=md5_hex_from_irods(agreed),
        )
    return out

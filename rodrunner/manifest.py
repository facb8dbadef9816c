"""The run manifest: every file's relative path, size and SHA-256, as canonical JSON.

Pure: the manifest is built from values the upload already computed (it never reads files),
serialised deterministically (same files → same bytes → same ``sha256``), parsed back with
checks, and compared. Stored in the run collection as ``rodrunner.manifest.json``.

SHA-256 is always recorded. ``irods_checksum`` names the scheme the zone stored the objects'
checksums in (``sha256`` or ``md5``, its default_hash_scheme); in an MD5 zone each entry also
carries the ``md5`` that was compared with the server's. Both keys are written only when set,
so manifests from before they existed keep their bytes. :func:`compare_checksum` is the one
comparison of a catalog checksum with a manifest entry (the ingest's catalog check, ``verify``
and ``deletable`` all use it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rodrunner.errors import ManifestError, PathError
from rodrunner.plan import check_relative_path

FORMAT = "rodrunner.manifest/1"
_HEX = frozenset("0123456789abcdef")

__all__ = [
    "FORMAT",
    "ChecksumComparison",
    "Manifest",
    "ManifestDiff",
    "ManifestEntry",
    "ManifestError",
    "build_manifest",
    "compare",
    "compare_checksum",
    "compare_sizes",
    "parse_manifest",
]


@dataclass(frozen=True, order=True)
class ManifestEntry:
    """One file: path relative to the run folder (``/``-separated), size, sha256 hex (and
    md5 hex in an MD5 zone)."""

    path: str
    size: int
    sha256: str
    md5: str | None = None


@dataclass(frozen=True)
class Manifest:
    """Every file of a run, sorted by path."""

    run_id: str
    entries: tuple[ManifestEntry, ...]
    irods_checksum: str | None = None  # the zone's scheme: "sha256" or "md5"

    @property
    def files(self) -> int:
        """How many files."""
        return len(self.entries)

    @property
    def total_bytes(self) -> int:
        """Their total size."""
        return sum(e.size for e in self.entries)

    def to_bytes(self) -> bytes:
        """Canonical JSON: sorted keys, no whitespace, UTF-8, one final newline."""
        files: list[dict[str, Any]] = []
        for e in self.entries:
            item: dict[str, Any] = {"path": e.path, "size": e.size, "sha256": e.sha256}
            if e.md5 is not None:
                item["md5"] = e.md5
            files.append(item)
        doc: dict[str, Any] = {"format": FORMAT, "run_id": self.run_id, "files": files}
        if self.irods_checksum is not None:
            doc["irods_checksum"] = self.irods_checksum
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8") + b"\n"

    @property
    def sha256(self) -> str:
        """The SHA-256 of :meth:`to_bytes` (the ``rodrunner::manifest_sha256`` AVU)."""
        return hashlib.sha256(self.to_bytes()).hexdigest()

    def sizes(self) -> dict[str, int]:
        """``{path: size}``."""
        return {e.path: e.size for e in self.entries}

    def checksums(self) -> dict[str, str]:
        """``{path: sha256}``."""
        return {e.path: e.sha256 for e in self.entries}


def _check_sha256(path: str, value: str) -> str:
    value = value.lower()
    if len(value) != 64 or not set(value) <= _HEX:
        raise ManifestError(f"manifest entry {path!r} has sha256 {value!r}, not 64 hex digits")
    return value


def _check_md5(path: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 32 or not set(value.lower()) <= _HEX:
        raise ManifestError(f"manifest entry {path!r} has md5 {value!r}, not 32 hex digits")
    return value.lower()


def build_manifest(
    run_id: str,
    sizes: Mapping[str, int],
    checksums: Mapping[str, str],
    *,
    md5s: Mapping[str, str] | None = None,
    irods_checksum: str | None = None,
) -> Manifest:
    """A manifest of the files in ``sizes`` with their ``checksums`` (both keyed by path),
    their ``md5s`` where given, and the zone's checksum scheme ``irods_checksum``.

    Raises ManifestError when a file has no checksum, PathError for a path that climbs out.
    """
    missing = sorted(set(sizes) - set(checksums))
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise ManifestError(f"no sha256 for {len(missing)} file(s) of run {run_id}: {shown}")
    entries = []
    for path in sorted(sizes):
        check_relative_path(path)
        md5 = _check_md5(path, (md5s or {}).get(path))
        entries.append(
            ManifestEntry(path, int(sizes[path]), _check_sha256(path, checksums[path]), md5)
        )
    if irods_checksum not in (None, "sha256", "md5"):
        raise ManifestError(f"irods_checksum {irods_checksum!r} is not sha256 or md5")
    return Manifest(run_id=run_id, entries=tuple(entries), irods_checksum=irods_checksum)


def parse_manifest(data: bytes) -> Manifest:
    """Read a stored manifest back; ManifestError names what is wrong with it."""
    try:
        doc: Any = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"manifest is not UTF-8 JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ManifestError(f"manifest is not a {FORMAT} document")
    run_id, files = doc.get("run_id"), doc.get("files")
    if not isinstance(run_id, str) or not isinstance(files, list):
        raise ManifestError("manifest lacks 'run_id' (string) or 'files' (list)")
    entries: list[ManifestEntry] = []
    for item in files:
        if not isinstance(item, dict):
            raise ManifestError(f"manifest entry {item!r} is not an object")
        path, size, sha = item.get("path"), item.get("size"), item.get("sha256")
        if not isinstance(path, str) or not isinstance(sha, str):
            raise ManifestError(f"manifest entry {item!r} lacks a string path or sha256")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ManifestError(f"manifest entry {path!r} has size {size!r}")
        try:
            check_relative_path(path)
        except PathError as exc:
            raise ManifestError(f"manifest entry: {exc}") from None
        md5 = _check_md5(path, item.get("md5"))
        entries.append(ManifestEntry(path, size, _check_sha256(path, sha), md5))
    scheme = doc.get("irods_checksum")
    if scheme not in (None, "sha256", "md5"):
        raise ManifestError(f"manifest irods_checksum {scheme!r} is not sha256 or md5")
    return Manifest(run_id=run_id, entries=tuple(sorted(entries)), irods_checksum=scheme)


@dataclass(frozen=True)
class ManifestDiff:
    """How a tree differs from a manifest (paths, sorted)."""

    missing: tuple[str, ...] = field(default=())  # in the manifest, not in the other
    extra: tuple[str, ...] = field(default=())  # in the other, not in the manifest
    changed: tuple[str, ...] = field(default=())  # in both, size or checksum differ

    @property
    def same(self) -> bool:
        """Whether nothing differs."""
        return not (self.missing or self.extra or self.changed)


def compare_sizes(manifest: Manifest, sizes: Mapping[str, int]) -> ManifestDiff:
    """Compare paths and sizes only (the cheap skip check: no local re-hash)."""
    return _diff(manifest.sizes(), dict(sizes))


def compare(manifest: Manifest, other: Manifest | Iterable[ManifestEntry]) -> ManifestDiff:
    """Compare paths, sizes and checksums."""
    entries = other.entries if isinstance(other, Manifest) else tuple(other)
    mine = {e.path: (e.size, e.sha256) for e in manifest.entries}
    theirs = {e.path: (e.size, e.sha256) for e in entries}
    return _diff(mine, theirs)


def _diff(mine: Mapping[str, object], theirs: Mapping[str, object]) -> ManifestDiff:
    return ManifestDiff(
        missing=tuple(sorted(set(mine) - set(theirs))),
        extra=tuple(sorted(set(theirs) - set(mine))),
        changed=tuple(sorted(p for p in set(mine) & set(theirs) if mine[p] != theirs[p])),
    )


@dataclass(frozen=True)
class ChecksumComparison:
    """A catalog checksum set against the manifest entry's digest in the same scheme."""

    scheme: str | None  # "SHA-256" or "MD5"; None when the catalog holds neither
    catalog: str | None  # the catalog's digest, hex
    manifest: str | None  # the entry's digest in that scheme, hex; None when it has none

    @property
    def compared(self) -> bool:
        """Whether there were two digests of one scheme to compare."""
        return self.catalog is not None and self.manifest is not None

    @property
    def agrees(self) -> bool:
        """Whether they were compared and are equal."""
        return self.compared and self.catalog == self.manifest

    @property
    def differs(self) -> bool:
        """Whether they were compared and differ."""
        return self.compared and self.catalog != self.manifest

    @property
    def why_not(self) -> str | None:
        """Why nothing was compared (then only the size can be); None when it was."""
        if self.compared:
            return None
        if self.scheme == "MD5":
            return "the manifest has no MD5"
        return "the catalog checksum is neither SHA-256 nor MD5"


def compare_checksum(
    entry: ManifestEntry, *, sha256: str | None, md5: str | None
) -> ChecksumComparison:
    """The one comparison of a catalog checksum (given as SHA-256 hex or MD5 hex, as decoded
    from ``sha2:<base64>`` or a 32-digit MD5) with the manifest entry: SHA-256 against its
    ``sha256``, MD5 against its ``md5``. An MD5 the entry lacks (a manifest from a SHA-256
    zone, or from before MD5 zones were recorded) is not compared: :attr:`why_not` says so."""
    if sha256 is not None:
        return ChecksumComparison("SHA-256", sha256.lower(), entry.sha256)
    if md5 is not None:
        return ChecksumComparison("MD5", md5.lower(), entry.md5)
    return ChecksumComparison(None, None, None)

"""Is a stored run whole? Pure comparisons of the folder, the stored manifest and the catalog.

Values in, problems out: no disk, no iRODS (``rodrunner.stored_run`` gathers the values).
Each :class:`Problem` has a stable ``kind``, the relative path it is about (``""`` for the run
as a whole) and a sentence for people:

=================  ===========================================================================
kind               meaning
=================  ===========================================================================
``status``         ``rodrunner::status`` is not ``complete``
``manifest``       the stored manifest is missing or unreadable
``manifest_sha``   the manifest's SHA-256 differs from the ``rodrunner::manifest_sha256`` AVU
``missing``        a manifest file has no data object
``extra``          a data object the manifest does not list
``no_good``        an object has no good replica
``size``           a good replica's catalog size differs from the manifest
``checksum``       a good replica's catalog checksum differs from the manifest's digest in its
                   scheme (SHA-256, or MD5 in an MD5 zone)
``no_checksum``    a good replica has no checksum in the catalog
``stale``          a replica is not good (stale, or being written)
``storage``        the server re-read a replica and it differs from the catalog (``--deep``)
``local_missing``  a manifest file is gone from the run folder
``local_extra``    the run folder has a file the manifest does not list
``local_changed``  a run folder file's size or SHA-256 differs from the manifest
=================  ===========================================================================

Notes are not problems: a run with notes is whole. :func:`catalog_notes` gives one of kind
``size_only`` when good replicas hold a checksum that cannot be compared with the manifest (an
MD5 where the manifest has none: one from a SHA-256 zone, or from before MD5 zones were
recorded; or a scheme that is neither SHA-256 nor MD5), so only their sizes were.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rodrunner.manifest import ChecksumComparison, Manifest, ManifestEntry, compare_checksum
from rodrunner.plan import MANIFEST_NAME, STATUS_COMPLETE

if TYPE_CHECKING:
    from rodrunner.irods.replicas import Replica, ReplicaVerification

__all__ = [
    "LocalFile",
    "Problem",
    "StoredState",
    "catalog_comparison",
    "catalog_notes",
    "check_catalog",
    "check_deep",
    "check_local",
    "check_stored",
    "md5_hex",
    "sha256_hex",
]


@dataclass(frozen=True)
class Problem:
    """One way in which a stored run is not whole."""

    kind: str
    path: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return asdict(self)


@dataclass(frozen=True)
class LocalFile:
    """A run folder file now: its size, (when hashed) SHA-256 hex and (when read) mtime."""

    size: int
    sha256: str | None = None
    mtime: float | None = None


@dataclass(frozen=True)
class StoredState:
    """The run collection's status AVUs and stored manifest, as read."""

    status: str | None
    manifest_sha256_avu: str | None
    manifest: Manifest | None
    manifest_problem: str | None = None  # why there is no manifest
    manifest_digest: str | None = None  # SHA-256 of the stored manifest's bytes


def sha256_hex(checksum: str) -> str | None:
    """A catalog checksum ``sha2:<base64>`` as hex; None for other schemes or garbage."""
    if not checksum.startswith("sha2:"):
        return None
    try:
        return base64.b64decode(checksum[5:], validate=True).hex()
    except (binascii.Error, ValueError):
        return None


def md5_hex(checksum: str) -> str | None:
    """A catalog checksum that is an MD5 (32 hex digits, optionally ``md5:``) as lowercase hex;
    None for other schemes."""
    value = checksum[4:] if checksum.startswith("md5:") else checksum
    if len(value) == 32 and all(c in "0123456789abcdef" for c in value.lower()):
        return value.lower()
    return None


def catalog_comparison(entry: ManifestEntry, checksum: str) -> ChecksumComparison:
    """A replica's catalog checksum string compared with the manifest entry (its scheme's
    digest; see :func:`rodrunner.manifest.compare_checksum`)."""
    return compare_checksum(entry, sha256=sha256_hex(checksum), md5=md5_hex(checksum))


def check_stored(stored: StoredState) -> list[Problem]:
    """The status AVU says complete; the manifest is there and its digest is the AVU's."""
    problems: list[Problem] = []
    if stored.status != STATUS_COMPLETE:
        shown = stored.status or "not set"
        problems.append(
            Problem("status", "", f"rodrunner::status is {shown}, not {STATUS_COMPLETE}")
        )
    if stored.manifest is None:
        why = stored.manifest_problem or "not found"
        problems.append(Problem("manifest", MANIFEST_NAME, f"stored manifest: {why}"))
    elif stored.manifest_digest != stored.manifest_sha256_avu:
        problems.append(
            Problem(
                "manifest_sha",
                MANIFEST_NAME,
                f"manifest SHA-256 {stored.manifest_digest} differs from "
                f"rodrunner::manifest_sha256 {stored.manifest_sha256_avu or '(not set)'}",
            )
        )
    return problems


def _replica_name(replica: Replica) -> str:
    return f"replica {replica.number} on {replica.resource}"


def check_catalog(manifest: Manifest, catalog: Mapping[str, Sequence[Replica]]) -> list[Problem]:
    """Every manifest file is an object whose good replicas carry its size and checksum
    (SHA-256, or MD5 where the manifest has it); nothing else is in the collection but the
    manifest itself."""
    problems: list[Problem] = []
    for entry in manifest.entries:
        replicas = catalog.get(entry.path)
        if not replicas:
            problems.append(Problem("missing", entry.path, "no data object in iRODS"))
            continue
        good = [r for r in replicas if r.good]
        for replica in replicas:
            if not replica.good:
                problems.append(
                    Problem("stale", entry.path, f"{_replica_name(replica)} is {replica.status}")
                )
        if not good:
            problems.append(Problem("no_good", entry.path, "no good replica in iRODS"))
        for replica in good:
            if replica.size != entry.size:
                problems.append(
                    Problem(
                        "size",
                        entry.path,
                        f"{_replica_name(replica)} has size {replica.size} in the catalog, "
                        f"the manifest says {entry.size}",
                    )
                )
            elif not replica.checksum:
                problems.append(
                    Problem("no_checksum", entry.path, f"{_replica_name(replica)} has no checksum")
                )
            else:
                found = catalog_comparison(entry, replica.checksum)
                if found.differs:
                    problems.append(
                        Problem(
                            "checksum",
                            entry.path,
                            f"{_replica_name(replica)} has {found.scheme} {found.catalog} in the "
                            f"catalog, the manifest says {found.manifest}",
                        )
                    )
    listed = {e.path for e in manifest.entries}
    for rel in sorted(set(catalog) - listed - {MANIFEST_NAME}):
        problems.append(Problem("extra", rel, "data object not in the manifest"))
    return problems


def catalog_notes(manifest: Manifest, catalog: Mapping[str, Sequence[Replica]]) -> list[Problem]:
    """One ``size_only`` note per reason a good replica's catalog checksum could not be compared
    with the manifest (then :func:`check_catalog` compared its size only)."""
    unchecked: dict[str, list[str]] = {}  # why -> a path per replica
    for entry in manifest.entries:
        for replica in catalog.get(entry.path, ()):
            if replica.good and replica.size == entry.size and replica.checksum:
                why = catalog_comparison(entry, replica.checksum).why_not
                if why is not None:
                    unchecked.setdefault(why, []).append(entry.path)
    notes = []
    for why, paths in sorted(unchecked.items()):
        files = sorted(set(paths))
        shown = ", ".join(files[:3]) + (", ..." if len(files) > 3 else "")
        notes.append(
            Problem(
                "size_only",
                "",
                f"cannot compare: {why} ({len(paths)} replica(s) of {len(files)} file(s): "
                f"{shown}); their sizes were compared, not their checksums",
            )
        )
    return notes


def check_local(
    manifest: Manifest, local: Mapping[str, LocalFile], *, changed_after: datetime | None = None
) -> list[Problem]:
    """The run folder holds exactly the manifest's files, each with its size (and SHA-256,
    when it was hashed); with ``changed_after``, none was modified after that moment."""
    problems: list[Problem] = []
    for entry in manifest.entries:
        now = local.get(entry.path)
        if now is None:
            problems.append(Problem("local_missing", entry.path, "gone from the run folder"))
        elif now.size != entry.size:
            problems.append(
                Problem(
                    "local_changed",
                    entry.path,
                    f"size {now.size} in the run folder, the manifest says {entry.size}",
                )
            )
        elif now.sha256 is not None and now.sha256 != entry.sha256:
            problems.append(
                Problem(
                    "local_changed",
                    entry.path,
                    f"SHA-256 {now.sha256} in the run folder, the manifest says {entry.sha256}",
                )
            )
        elif (
            changed_after is not None
            and now.mtime is not None
            and now.mtime >= changed_after.timestamp() + 1  # the AVU has whole seconds
        ):
            when = datetime.fromtimestamp(now.mtime, UTC).isoformat(timespec="seconds")
            problems.append(
                Problem("local_changed", entry.path, f"modified at {when}, after the ingest")
            )
    listed = {e.path for e in manifest.entries}
    for rel in sorted(set(local) - listed):
        problems.append(Problem("local_extra", rel, "in the run folder, not in the manifest"))
    return problems


CAT_NO_CHECKSUM_FOR_REPLICA = -862000
USER_CHKSUM_MISMATCH = -314000


def _said_by_the_catalog(severity: str, code: int) -> bool:
    """Findings :func:`check_catalog` reports already: skipped (stale) replicas, replicas
    without a checksum, and good replicas whose catalog checksums differ."""
    return (
        severity == "info"
        or code == CAT_NO_CHECKSUM_FOR_REPLICA
        or (severity == "warning" and code == USER_CHKSUM_MISMATCH)
    )


def check_deep(results: Mapping[str, ReplicaVerification]) -> list[Problem]:
    """What the server found re-reading every good replica from its storage (one problem per
    finding, with the computed and catalog checksums when the server gave them)."""
    problems: list[Problem] = []
    for rel in sorted(results):
        result = results[rel]
        for finding in result.findings:
            if _said_by_the_catalog(finding.severity, finding.code):
                continue
            text = f"{finding.message} ({finding.code})"
            for line in result.details:  # the computed and the catalog checksum, when given
                if finding.replica is not None and f"replica number [{finding.replica}]" in line:
                    text = f"{text}: {line}"
            problems.append(Problem("storage", rel, text))
    return problems

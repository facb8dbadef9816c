"""What an ingest decides from what iRODS already holds: skip, conflict, or a mismatch. Pure.

The tasks in :mod:`rodrunner.tasks.irods` read the catalog and call these; nothing here does
I/O, so every rule is tested with plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rodrunner.irods.checksums import RemoteObject
from rodrunner.manifest import Manifest, compare_checksum, compare_sizes
from rodrunner.plan import STATUS_COMPLETE, source_avus


@dataclass(frozen=True)
class StoredRun:
    """What iRODS already holds for a run collection."""

    exists: bool
    status: str | None = None
    manifest_sha256: str | None = None
    manifest: Manifest | None = None
    manifest_problem: str | None = None
    source_host: str | None = None
    source_dir: str | None = None


@dataclass(frozen=True)
class Source:
    """Where an ingest reads from: the host the flow runs on and the run folder."""

    host: str
    run_dir: str

    def avus(self) -> list[tuple[str, str, str]]:
        """``rodrunner::source_host`` and ``rodrunner::source_dir``."""
        return source_avus(self.host, self.run_dir)


def already_ingested(stored: StoredRun, sizes: Mapping[str, int]) -> bool:
    """Whether the stored run is complete and its manifest lists exactly these paths and sizes.

    Pure; the cheap skip check (no local hashing): the status is ``complete``, the stored
    manifest's SHA-256 equals the ``rodrunner::manifest_sha256`` AVU, and paths and sizes agree.
    """
    if stored.status != STATUS_COMPLETE or stored.manifest is None:
        return False
    if stored.manifest_sha256 != stored.manifest.sha256:
        return False
    return compare_sizes(stored.manifest, sizes).same


def catalog_problems(manifest: Manifest, remote: Mapping[str, RemoteObject]) -> tuple[str, ...]:
    """Pure: one line per manifest entry the catalog does not hold as recorded.

    Missing, without a good replica, another size, no checksum, or a SHA-256 checksum other
    than the manifest's; an MD5 is compared where the manifest has one (else only required).
    """
    problems: list[str] = []
    for entry in manifest.entries:
        obj = remote.get(entry.path)
        if obj is None:
            problems.append(f"{entry.path}: missing in iRODS")
        elif not obj.good:
            problems.append(f"{entry.path}: no good replica in iRODS")
        elif obj.size != entry.size:
            problems.append(f"{entry.path}: size {obj.size} in iRODS, {entry.size} in the manifest")
        elif not obj.has_checksum:
            problems.append(f"{entry.path}: no checksum in iRODS")
        elif (found := compare_checksum(entry, sha256=obj.checksum, md5=obj.md5)).differs:
            problems.append(f"{entry.path}: {found.scheme} in iRODS differs from the manifest")
    return tuple(problems)


def provenance_conflict(
    stored: StoredRun, collection: str, source: Source, sizes: Mapping[str, int]
) -> str | None:
    """Why ``source`` must not write into ``collection``, or None when it may. Pure.

    - no collection, or one whose recorded ``rodrunner::source_dir`` is this run folder: fine
      (the host is recorded, not compared: runners on several hosts read one share at one path);
    - a collection from another run folder: a conflict, whatever its status;
    - a collection without source AVUs (an older rodrunner, or made by hand): adopted when it
      is not complete yet (resumed, as before) or when its stored manifest lists exactly this
      folder's paths and sizes; a complete one whose manifest differs is a conflict.
    """
    if not stored.exists or stored.source_dir == source.run_dir:
        return None
    fix = (
        f"nothing was changed in iRODS. Decide: `rodrunner ingest '{source.run_dir}' --replace` "
        f"(the old collection is kept as {collection}.replaced-<time>) or `--suffix TEXT` "
        f"(into {collection}_TEXT), then `rodrunnerd retry '{source.run_dir}'`; or drop "
        ".rodrunner-skip into the folder"
    )
    if stored.source_dir is None:
        if stored.status != STATUS_COMPLETE or already_ingested(stored, sizes):
            return None
        return (
            f"{collection} is complete but records no source folder (an older rodrunner) and its "
            f"manifest differs from run folder {source.run_dir}; {fix}"
        )
    return (
        f"{collection} already holds this run id from run folder {stored.source_dir} "
        f"(host {stored.source_host or '?'}, status {stored.status or 'none'}); run folder "
        f"{source.run_dir} has the same run id; {fix}"
    )


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify_run`: counts and the objects that differ."""

    verified: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether every object matched."""
        return not self.problems


def compare_objects(
    remote: Mapping[str, RemoteObject],
    sizes: Mapping[str, int],
    checksums: Mapping[str, str],
    md5s: Mapping[str, str] | None = None,
) -> Verification:
    """Pure: every local file must exist remotely with its size, and with its SHA-256 as
    checksum (or, in an MD5 zone, its MD5 from ``md5s``)."""
    problems: list[str] = []
    verified = 0
    for rel in sorted(sizes):
        obj = remote.get(rel)
        if obj is None:
            problems.append(f"{rel}: missing in iRODS")
            continue
        if not obj.good:
            problems.append(f"{rel}: no good replica in iRODS (stale or being written)")
            continue
        if obj.size != sizes[rel]:
            problems.append(f"{rel}: size {obj.size} in iRODS, {sizes[rel]} local")
            continue
        local = checksums.get(rel)
        local_md5 = (md5s or {}).get(rel)
        if local is None:
            problems.append(f"{rel}: no local sha256")
        elif obj.checksum:
            if obj.checksum.lower() != local.lower():
                problems.append(f"{rel}: server sha256 {obj.checksum} != local {local}")
            else:
                verified += 1
        elif obj.md5 and local_md5:
            if obj.md5 != local_md5.lower():
                problems.append(f"{rel}: server md5 {obj.md5} != local {local_md5}")
            else:
                verified += 1
        else:
            problems.append(f"{rel}: no server checksum" + (" in SHA-256" if obj.md5 else ""))
    return Verification(verified=verified, problems=tuple(problems))

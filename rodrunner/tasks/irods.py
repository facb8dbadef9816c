"""Prefect tasks that move a run into iRODS: upload, verify, manifest, tag.

Each task takes an open :class:`rodrunner.irods.client.iRODSClient` (from
:func:`rodrunner.connect.open_irods`), so a user flow can compose them with its own steps::

    with open_irods(config.irods) as client:
        mark_ingesting(client, plan.collection)
        report = upload_run(client, run_dir, plan.collection, exclude=plan.exclude)
        verify_run(client, plan.collection, sizes, report.checksums)
        sha = write_manifest(client, plan.collection, manifest)
        ensure_replicas(client, plan.collection, manifest, 2, 600.0)
        tag_run(client, plan, manifest)

None caches or persists its result (an ingest must really happen, and results stay small).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import structlog
from prefect import task
from prefect.cache_policies import NO_CACHE

from rodrunner.errors import IngestVerificationError, ManifestError, PermanentIRODSError
from rodrunner.irods.checksums import RemoteObject
from rodrunner.irods.client import iRODSClient
from rodrunner.irods.replication import wait_for_replicas
from rodrunner.irods.upload import Progress, UploadReport
from rodrunner.manifest import (
    Manifest,
    ManifestEntry,
    compare_checksum,
    compare_sizes,
    parse_manifest,
)
from rodrunner.plan import (
    MANIFEST_NAME,
    MANIFEST_SHA256_ATTR,
    SOURCE_DIR_ATTR,
    SOURCE_HOST_ATTR,
    STATUS_ATTR,
    STATUS_COMPLETE,
    STATUS_INGESTING,
    IngestPlan,
    run_attributes,
    source_avus,
    status_avu,
    status_avus,
)

log = structlog.get_logger()

_progress: ContextVar[Progress | None] = ContextVar("rodrunner_progress", default=None)


@contextmanager
def report_progress(callback: Progress | None) -> Iterator[None]:
    """Within the block, :func:`upload_run` hands ``callback`` to the client's upload.

    Progress callbacks cannot travel as flow parameters (they are not data); the command
    line sets one here and runs the flow in-process.
    """
    token = _progress.set(callback)
    try:
        yield
    finally:
        _progress.reset(token)


_TASK_OPTIONS: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}


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


@task(name="check-catalog", task_run_name="check-catalog-{collection}", **_TASK_OPTIONS)
def check_catalog(
    client: iRODSClient, collection: str, manifest: Manifest | None
) -> tuple[str, ...]:
    """The manifest entries the catalog does not hold as recorded (one listing query)."""
    if manifest is None:
        return ("no readable manifest",)
    problems = catalog_problems(manifest, client.list_objects(collection))
    if problems:
        log.warning(
            "ingest.catalog_differs",
            collection=collection,
            objects=len(problems),
            first=list(problems[:5]),
        )
    return problems


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


@task(name="read-ingest-state", task_run_name="read-ingest-state-{collection}", **_TASK_OPTIONS)
def read_ingest_state(client: iRODSClient, collection: str) -> StoredRun:
    """Status and source AVUs and manifest of ``collection`` (one metadata query, one read)."""
    if not client.collection_exists(collection):
        return StoredRun(exists=False)
    wanted = (STATUS_ATTR, MANIFEST_SHA256_ATTR, SOURCE_HOST_ATTR, SOURCE_DIR_ATTR)
    values: dict[str, str] = {}
    for avu in client.get_metadata(collection):
        if avu.attr in wanted:
            values[avu.attr] = avu.value
    status = values.get(STATUS_ATTR)
    host, folder = values.get(SOURCE_HOST_ATTR), values.get(SOURCE_DIR_ATTR)
    if status != STATUS_COMPLETE:
        return StoredRun(exists=True, status=status, source_host=host, source_dir=folder)
    sha = values.get(MANIFEST_SHA256_ATTR)
    manifest: Manifest | None = None
    problem: str | None = None
    try:
        data = client.read_bytes(f"{collection}/{MANIFEST_NAME}")
        manifest = parse_manifest(data)
    except (ManifestError, PermanentIRODSError) as exc:  # missing or damaged: ingest again
        problem = str(exc)
    else:
        if hashlib.sha256(data).hexdigest() != manifest.sha256:
            manifest, problem = None, "stored manifest is not in canonical form"
    return StoredRun(True, status, sha, manifest, problem, source_host=host, source_dir=folder)


@task(name="move-aside", task_run_name="move-aside-{collection}", **_TASK_OPTIONS)
def move_aside(client: iRODSClient, collection: str, stamp: str) -> str:
    """Rename ``collection`` to ``<collection>.replaced-<stamp>`` (kept, recoverable)."""
    target = f"{collection}.replaced-{stamp}"
    client.move_collection(collection, target)
    return target


@task(name="mark-ingesting", task_run_name="mark-ingesting-{collection}", **_TASK_OPTIONS)
def mark_ingesting(client: iRODSClient, collection: str, source: Source | None = None) -> None:
    """Create the run collection and set ``rodrunner::status=ingesting`` (replacing any status),
    with the ``source`` AVUs when given (a later folder with the run id then sees the owner)."""
    client.ensure_collection(collection)
    avus = [status_avu(STATUS_INGESTING), *(source.avus() if source else [])]
    client.set_metadata(collection, avus, replace_attributes=sorted(run_attributes(avus)))


@task(name="upload-run", task_run_name="upload-{collection}", **_TASK_OPTIONS)
def upload_run(
    client: iRODSClient,
    run_dir: str | os.PathLike[str],
    collection: str,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    threads: int | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> UploadReport:
    """Upload every file of ``run_dir`` below ``collection``; resumes, sends only what differs.

    ``force`` makes the server recompute the checksum of every object already there (instead
    of trusting the catalog's) before deciding it need not be sent. ``progress(rel, nbytes)``
    is called once per finished file. Returns the client's ``UploadReport``.
    """
    report = client.upload_directory(
        run_dir,
        collection,
        include=list(include) or None,
        exclude=list(exclude) or None,
        threads=threads,
        progress=progress or _progress.get(),
        force=force,
    )
    log.info(
        "ingest.uploaded",
        collection=collection,
        files=report.files,
        bytes=report.bytes,
        skipped=report.skipped,
        errors=len(report.errors),
        seconds=round(report.seconds, 3),
    )
    return report


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


@task(name="verify-run", task_run_name="verify-{collection}", **_TASK_OPTIONS)
def verify_run(
    client: iRODSClient,
    collection: str,
    sizes: Mapping[str, int],
    checksums: Mapping[str, str],
    md5s: Mapping[str, str] | None = None,
) -> Verification:
    """Check every object's server checksum against the local SHA-256, or in an MD5 zone
    the local MD5 from ``md5s`` (one listing).

    Raises :class:`IngestVerificationError` naming the first objects that differ.
    """
    remote = client.list_objects(collection)
    result = compare_objects(remote, sizes, checksums, md5s)
    if not result.ok:
        shown = "; ".join(result.problems[:5])
        more = f" (and {len(result.problems) - 5} more)" if len(result.problems) > 5 else ""
        raise IngestVerificationError(
            f"{len(result.problems)} object(s) in {collection} do not match the run folder: "
            f"{shown}{more}; ingest again to resend them"
        )
    log.info("ingest.verified", collection=collection, files=result.verified)
    return result


@task(name="write-manifest", task_run_name="write-manifest-{collection}", **_TASK_OPTIONS)
def write_manifest(client: iRODSClient, collection: str, manifest: Manifest) -> str:
    """Store ``rodrunner.manifest.json`` in ``collection``; returns its SHA-256."""
    client.put_bytes(f"{collection}/{MANIFEST_NAME}", manifest.to_bytes())
    return manifest.sha256


@task(name="ensure-replicas", task_run_name="ensure-replicas-{collection}", **_TASK_OPTIONS)
def ensure_replicas(
    client: iRODSClient,
    collection: str,
    manifest: Manifest,
    min_replicas: int,
    timeout: float,
) -> None:
    """Wait until every run file and the manifest have ``min_replicas`` good replicas (made by
    the zone's replication policy), at most ``timeout`` seconds; raises
    :class:`rodrunner.errors.ReplicaShortfallError` naming the objects short of them. Replicas
    count by size and by checksum in the zone's scheme (the manifest's SHA-256 or MD5)."""
    expected = {entry.path: entry for entry in manifest.entries}
    data = manifest.to_bytes()
    expected[MANIFEST_NAME] = ManifestEntry(
        MANIFEST_NAME,
        len(data),
        hashlib.sha256(data).hexdigest(),
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
    )
    wait_for_replicas(client, collection, expected, min_replicas=min_replicas, timeout=timeout)


@task(name="tag-run", task_run_name="tag-{plan.collection}", **_TASK_OPTIONS)
def tag_run(
    client: iRODSClient, plan: IngestPlan, manifest: Manifest, source: Source | None = None
) -> None:
    """Run AVUs (replacing previous ones), status AVUs (with ``source``'s), then
    ``rodrunner::status=complete`` last."""
    collection = plan.collection
    client.set_metadata(
        collection,
        plan.run_avus,
        replace_attributes=sorted(plan.replace_attributes | run_attributes(plan.run_avus)),
    )
    status = status_avus(
        files=manifest.files, total_bytes=manifest.total_bytes, manifest_sha256=manifest.sha256
    ) + (source.avus() if source else [])
    client.set_metadata(collection, status, replace_attributes=sorted(run_attributes(status)))
    client.set_metadata(collection, [status_avu(STATUS_COMPLETE)], replace_attributes=[STATUS_ATTR])

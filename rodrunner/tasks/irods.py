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
from typing import Any

import structlog
from prefect import task
from prefect.cache_policies import NO_CACHE

from rodrunner.errors import IngestVerificationError, ManifestError, PermanentIRODSError
from rodrunner.ingest_rules import (
    Source,
    StoredRun,
    Verification,
    catalog_problems,
    compare_objects,
)
from rodrunner.irods.client import iRODSClient
from rodrunner.irods.replication import wait_for_replicas
from rodrunner.irods.upload import Progress, UploadReport
from rodrunner.manifest import (
    Manifest,
    ManifestEntry,
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

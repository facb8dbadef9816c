"""Uploading a local tree into a collection (``iRODSClient.upload_directory``).

The fast path (measured in docs/benchmarks.md): one listing of the existing collections
and one of the existing data objects (a GenQuery each, paged), each missing collection
created once, then every file written on a bounded pool of sessions (one connection each)
with checksum registered at close and no per-file lookups, SHA-256 computed while the file is
read, and one final listing that compares every server checksum with the local digest.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from irods.session import iRODSSession

from rodrunner.errors import AuthenticationError, PermanentIRODSError, RunFolderError
from rodrunner.irods import queries
from rodrunner.irods.avus import AVU
from rodrunner.irods.checksums import HashScheme, LocalDigest, RemoteObject
from rodrunner.irods.localio import LocalFileError, hash_file
from rodrunner.irods.paths import child
from rodrunner.irods.retry import call_with_retries
from rodrunner.irods.session import SessionPool
from rodrunner.irods.transfer import make_collection, put_file
from rodrunner.irods.walk import LocalFile, walk_tree

__all__ = ["Catalog", "Progress", "UploadReport", "upload_tree"]

log = structlog.get_logger()

Progress = Callable[[str, int], None]


@dataclass
class UploadReport:
    """What :meth:`iRODSClient.upload_directory` did.

    ``files``/``bytes`` count every file of the tree now verified in iRODS (sent or already
    there); ``skipped``/``skipped_bytes`` those that were already there and not sent;
    ``uploaded`` the relative paths sent; ``checksums`` the SHA-256 hex of every file now in
    iRODS (``md5s`` their MD5 hex as well where the zone stores MD5); ``errors`` one
    ``(relative_path, message)`` per file that is not.
    """

    files: int = 0
    bytes: int = 0
    skipped: int = 0
    skipped_bytes: int = 0
    seconds: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)
    checksums: dict[str, str] = field(default_factory=dict)
    uploaded: list[str] = field(default_factory=list)
    md5s: dict[str, str] = field(default_factory=dict)  # MD5 hex too, in an MD5 zone

    @property
    def ok(self) -> bool:
        """True when every file of the tree is in iRODS with a verified checksum."""
        return not self.errors

    @property
    def bytes_sent(self) -> int:
        """Bytes actually transferred."""
        return self.bytes - self.skipped_bytes


class Catalog(Protocol):
    """What an upload asks of the client besides sessions (``iRODSClient`` is one)."""

    @property
    def server_version(self) -> tuple[int, ...]: ...
    @property
    def hash_scheme(self) -> HashScheme: ...
    def list_objects(self, collection: str) -> dict[str, RemoteObject]: ...
    def checksum_of(self, path: str, *, recompute: bool = False) -> RemoteObject: ...
    def set_metadata(
        self, path: str, avus: Iterable[AVU | tuple[str, ...]]
    ) -> tuple[list[AVU], list[AVU]]: ...


@dataclass(frozen=True)
class _Job:
    catalog: Catalog
    pool: SessionPool
    resource: str | None
    collection: str
    workers: int
    force: bool
    md5: bool


def upload_tree(
    catalog: Catalog,
    pool: SessionPool,
    resource: str | None,
    local_dir: str | os.PathLike[str],
    collection: str,
    avus: list[tuple[str, str, str]] | None,
    *,
    include: Sequence[str] | None,
    exclude: Sequence[str] | None,
    workers: int,
    progress: Progress | None,
    force: bool,
) -> UploadReport:
    """Upload the tree ``local_dir`` into the (clean) ``collection``, then add ``avus``."""
    start = time.perf_counter()
    try:
        listing = walk_tree(local_dir, include=include, exclude=exclude)
    except OSError as exc:
        raise RunFolderError(
            f"run folder '{os.fspath(local_dir)}' cannot be read: {exc}; check the path"
        ) from None
    report = UploadReport()
    report.errors.extend((e.relative, e.message) for e in listing.errors)
    bound = log.bind(collection=collection, local_dir=str(listing.root))
    bound.info("irods.upload_started", files=len(listing.files), bytes=listing.total_bytes)

    catalog.server_version  # noqa: B018 - logs it once
    job = _Job(catalog, pool, resource, collection, workers, force, catalog.hash_scheme == "md5")
    existing_colls = call_with_retries(
        lambda: queries.subtree_collections(pool.main, collection),
        operation="list",
        path=collection,
    )
    remote = catalog.list_objects(collection) if collection in existing_colls else {}
    wanted = {collection} | {f"{collection}/{d}" for d in listing.directories}
    _create_collections(pool, sorted(wanted - existing_colls), workers)

    progress_lock = threading.Lock()
    stop = threading.Event()
    results: dict[str, tuple[LocalDigest, bool]] = {}

    def task(local: LocalFile) -> None:
        if stop.is_set():
            return
        target = child(collection, local.relative)
        try:
            with pool.worker() as session:
                sha, sent = _upload_one(job, session, local, target, remote)
        except (LocalFileError, PermanentIRODSError) as exc:
            if isinstance(exc, AuthenticationError):
                stop.set()
                raise
            with progress_lock:
                report.errors.append((local.relative, str(exc)))
            bound.warning("ingest.file_failed", file=local.relative, error=str(exc))
            return
        except BaseException:
            stop.set()
            raise
        with progress_lock:
            results[local.relative] = (sha, sent)
            if progress is not None:
                progress(local.relative, local.size)
        if sent:
            bound.debug("ingest.file_uploaded", file=local.relative, bytes=local.size)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="irods-put") as executor:
        futures: list[Future[None]] = [executor.submit(task, f) for f in listing.files]
        wait(futures, return_when=FIRST_EXCEPTION)
        for fut in futures:
            if fut.done() and fut.exception() is not None:
                stop.set()
                for other in futures:
                    other.cancel()
                raise fut.exception()  # type: ignore[misc]

    _verify(catalog, collection, listing.files, results, report)
    if avus is not None:
        catalog.set_metadata(collection, avus)
    report.seconds = time.perf_counter() - start
    bound.info(
        "irods.upload_finished",
        files=report.files,
        bytes=report.bytes,
        skipped=report.skipped,
        errors=len(report.errors),
        seconds=round(report.seconds, 3),
    )
    return report


def _create_collections(pool: SessionPool, missing: Sequence[str], workers: int) -> None:
    """Create each missing collection once, parents before children, levels in parallel."""
    if not missing:
        return
    by_depth: dict[int, list[str]] = {}
    for path in missing:
        by_depth.setdefault(path.count("/"), []).append(path)

    def make(path: str) -> None:
        with pool.worker() as session:
            make_collection(session, path)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="irods-mkdir") as executor:
        for depth in sorted(by_depth):
            list(executor.map(make, by_depth[depth]))


def _upload_one(
    job: _Job,
    session: iRODSSession,
    local: LocalFile,
    target: str,
    remote: dict[str, RemoteObject],
) -> tuple[LocalDigest, bool]:
    """(local digests, whether it was sent) for one file.

    An object without a good replica (a write that never closed) is always sent again.
    """
    there = remote.get(local.relative)
    if there is not None and there.good and there.size == local.size:
        local_digest = hash_file(local, md5=job.md5)
        same = None if job.force else local_digest.matches(there)
        if same is None:
            same = local_digest.matches(job.catalog.checksum_of(target, recompute=job.force))
        if same:
            return local_digest, False
    return put_file(session, local, target, job.resource, md5=job.md5), True


def _verify(
    catalog: Catalog,
    collection: str,
    files: Sequence[LocalFile],
    results: dict[str, tuple[LocalDigest, bool]],
    report: UploadReport,
) -> None:
    """Compare every server checksum with the local digest of its scheme (one listing)."""
    after = catalog.list_objects(collection) if results else {}
    for local in files:
        if local.relative not in results:
            continue
        digest, sent = results[local.relative]
        there = after.get(local.relative)
        target = child(collection, local.relative)
        if there is not None and not there.good:
            report.errors.append(
                (
                    local.relative,
                    f"iRODS holds '{target}' without a good replica (stale or still being "
                    "written by another client); make sure no other ingest of this run is "
                    "running and ingest again",
                )
            )
            continue
        same = digest.matches(there) if there is not None else False
        server = there
        if there is not None and same is None:
            try:
                server = catalog.checksum_of(target)
            except PermanentIRODSError as exc:
                report.errors.append((local.relative, str(exc)))
                continue
            same = digest.matches(server)
        if there is None or there.size != local.size or not same:
            held = (server.checksum or server.md5) if server is not None else None
            report.errors.append(
                (
                    local.relative,
                    f"iRODS holds '{target}' with size "
                    f"{there.size if there else 'none'} and checksum {held}, the local "
                    f"file has {local.size} bytes and {digest.describe()}; it changed "
                    "while being read or the transfer was damaged: ingest again",
                )
            )
            continue
        report.files += 1
        report.bytes += local.size
        report.checksums[local.relative] = digest.sha256
        if digest.md5 is not None:
            report.md5s[local.relative] = digest.md5
        if sent:
            report.uploaded.append(local.relative)
        else:
            report.skipped += 1
            report.skipped_bytes += local.size

"""``iRODSClient``: rodrunner's only door to iRODS (wraps python-irodsclient).

A façade: sessions come from ``IRODSConfig`` (:mod:`rodrunner.irods.credentials`:
host/port/zone/user/password, or an iCommands ``irods_environment.json`` with its ``.irodsA``)
through :mod:`rodrunner.irods.session`; catalog queries are :mod:`rodrunner.irods.queries`
(every GenQuery keeps one connection for all its pages: a statement belongs to the server
agent that opened it); transfers :mod:`rodrunner.irods.transfer` and
:mod:`rodrunner.irods.upload` (the fast path); raw wire messages
:mod:`rodrunner.irods._wire`. The client connects to a running server: a configuration with
``irods.sandbox`` is opened with :func:`rodrunner.connect.open_irods`, which starts the
sandbox first. Every call runs inside :func:`rodrunner.irods.errors.translate_errors`;
per-file operations are retried on transient errors with :mod:`rodrunner.irods.retry`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from typing import Literal, Self

import structlog

from rodrunner.config import IRODSConfig
from rodrunner.errors import NameClashError
from rodrunner.irods import metadata as avu_catalog
from rodrunner.irods import queries, transfer, zone
from rodrunner.irods.avu_input import metadata_avus
from rodrunner.irods.avus import AVU, Change, changes_to_remove, changes_to_set, sorted_avus
from rodrunner.irods.checksums import (
    HashScheme,
    RemoteObject,
    digest_bytes,
    known_or_refuse,
    merge_replicas,
    require_match,
    sha256_or_refuse,
)
from rodrunner.irods.credentials import session_settings
from rodrunner.irods.errors import translate_errors
from rodrunner.irods.paths import check_irods_path
from rodrunner.irods.replicas import (
    Replica,
    ReplicaVerification,
    query_replicas,
    stored_checksum,
    verify_each,
    verify_replicas,
)
from rodrunner.irods.replication import target_resource
from rodrunner.irods.retry import call_with_retries
from rodrunner.irods.session import SessionPool
from rodrunner.irods.upload import Progress, UploadReport, upload_tree
from rodrunner.models import RunMetadata

__all__ = ["iRODSClient"]

log = structlog.get_logger()


class iRODSClient:
    """A connection to one iRODS zone; a context manager. Thread-safe for concurrent calls.

    ``on_close`` (optional) runs once after the last connection is closed, or when the
    constructor fails: the caller that started something for this client (a sandbox) stops
    it there.
    """

    def __init__(self, config: IRODSConfig, *, on_close: Callable[[], None] | None = None) -> None:
        self._config = config
        self._stack = ExitStack()
        if on_close is not None:
            self._stack.callback(on_close)
        self._probe_lock = threading.Lock()
        self._hash_scheme: HashScheme | None = None
        self._server_version: tuple[int, ...] | None = None
        try:
            self._resource = target_resource(config)  # where puts go (destRescName)
            self._sessions = SessionPool(session_settings(config), self._resource)
        except BaseException:
            self._stack.close()
            raise
        self._stack.callback(self._sessions.close)

    def close(self) -> None:
        """Close every connection (then run ``on_close``). Idempotent."""
        self._stack.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- identity

    @property
    def zone(self) -> str:
        """The zone the client logs into."""
        return str(self._sessions.main.zone)

    @property
    def user(self) -> str:
        """The user the client logs in as."""
        return str(self._sessions.main.username)

    @property
    def whoami(self) -> str:
        """``user#zone``."""
        return f"{self.user}#{self.zone}"

    @property
    def home(self) -> str:
        """The user's home collection."""
        return f"/{self.zone}/home/{self.user}"

    @property
    def server_version(self) -> tuple[int, ...]:
        """The server's release, e.g. ``(5, 0, 2)``; logged once (``irods.server_version``),
        a warning when it is not a 4.3.x or 5.0.x release (the ones rodrunner is checked
        against)."""
        with self._probe_lock:
            if self._server_version is None:
                self._server_version = zone.server_version(self._sessions.main)
            return self._server_version

    @property
    def hash_scheme(self) -> HashScheme:
        """The zone's checksum scheme: ``irods.hash_scheme``, or (``auto``, asked once per
        client) the ``hash_scheme`` the server states in its client hints (its
        ``default_hash_scheme``), else what it stored for a 1-byte probe object put without
        a checksum.

        Raises ConfigError when it cannot be told (no usable hint, and the probe fails or
        the server stores neither SHA-256 nor MD5).
        """

        def stored(path: str) -> str:
            return self._checksum_value(path, recompute=False)

        with self._probe_lock:
            if self._hash_scheme is None:
                self._hash_scheme = zone.hash_scheme(
                    self._config.hash_scheme, self._sessions, self.home, self._resource, stored
                )
            return self._hash_scheme

    def ping(self) -> float:
        """Log in and run a cheap query; the seconds it took. Raises IRODSError on failure.

        Also logs the server's version (see :attr:`server_version`).
        """
        start = time.perf_counter()
        queries.find_user(self._sessions.main, self.user)
        seconds = time.perf_counter() - start
        self.server_version  # noqa: B018 - logs it once
        return seconds

    # --------------------------------------------------------------- collections

    def collection_exists(self, path: str) -> bool:
        """Whether ``path`` is a collection."""
        path = check_irods_path(path)
        return call_with_retries(
            lambda: queries.collection_exists(self._sessions.main, path),
            operation="stat",
            path=path,
        )

    def ensure_collection(self, path: str) -> None:
        """Create ``path`` and its parents unless they exist."""
        path = check_irods_path(path)
        with self._sessions.worker() as session:
            transfer.make_collection(session, path)

    def move_collection(self, path: str, target: str) -> None:
        """Rename collection ``path`` (and everything below it) to ``target``, which must not
        exist; data and AVUs move with it."""
        path = check_irods_path(path)
        target = check_irods_path(target)
        session = self._sessions.main
        with translate_errors(path):
            if session.collections.exists(target):
                raise NameClashError(f"cannot move {path} to {target}: {target} exists")
            session.collections.move(path, target)
        log.info("irods.collection_moved", path=path, target=target)

    def remove_collection(self, path: str) -> None:
        """Remove ``path`` and everything below it, bypassing the trash."""
        path = check_irods_path(path)
        with translate_errors(path):
            self._sessions.main.collections.remove(path, recurse=True, force=True)

    # -------------------------------------------------------------- data objects

    def list_objects(self, collection: str) -> dict[str, RemoteObject]:
        """Every data object at or below ``collection`` by relative path (one GenQuery, paged).

        With several replicas, good ones win; their checksum is None unless they all agree.
        An object without a good replica is listed with ``good=False`` and checksum None.
        """
        collection = check_irods_path(collection)
        rows = call_with_retries(
            lambda: queries.object_rows(self._sessions.main, collection),
            operation="list",
            path=collection,
        )
        return merge_replicas(rows)

    def checksum(self, path: str, *, recompute: bool = False) -> str:
        """The SHA-256 hex of data object ``path``, computed by the server if missing.

        ``recompute`` makes the server read the stored bytes again and *store* what it finds
        (``forceChksum``): that is not a verification; use :meth:`verify_replicas` for one.
        """
        path = check_irods_path(path)
        return sha256_or_refuse(self._checksum_value(path, recompute=recompute), path)

    def checksum_of(self, path: str, *, recompute: bool = False) -> RemoteObject:
        """The server's checksum of ``path`` in whichever scheme it holds (SHA-256 or MD5;
        ``size`` -1); PermanentIRODSError for any other. ``recompute``: as :meth:`checksum`
        (the server uses the zone's default_hash_scheme)."""
        path = check_irods_path(path)
        return known_or_refuse(self._checksum_value(path, recompute=recompute), path)

    def _checksum_value(self, path: str, *, recompute: bool) -> str:
        return call_with_retries(
            lambda: stored_checksum(self._sessions.main, path, recompute=recompute),
            operation="checksum",
            path=path,
        )

    def list_replicas(self, collection: str) -> dict[str, list[Replica]]:
        """Every replica of every data object at or below ``collection``, by relative path."""
        collection = check_irods_path(collection)
        return call_with_retries(
            lambda: query_replicas(self._sessions.main, collection),
            operation="list",
            path=collection,
        )

    def verify_replicas(self, path: str) -> ReplicaVerification:
        """Have the server re-read every good replica of ``path`` and compare it with the catalog.

        A real verification (``verifyChksum``): nothing is stored, unlike ``recompute``.
        """
        path = check_irods_path(path)
        with self._sessions.worker() as session:
            return call_with_retries(
                lambda: verify_replicas(session, path),
                operation="verify",
                path=path,
                on_retry=session.cleanup,
            )

    def verify_objects(
        self,
        paths: Sequence[str],
        *,
        threads: int | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> dict[str, ReplicaVerification]:
        """:meth:`verify_replicas` for every path, on ``threads`` connections of their own.

        An object the server refuses to verify (no permission, gone meanwhile) is a finding
        of its own; transient errors that outlast the retries end the call.
        """
        workers = max(1, threads or self._config.transfer_threads)
        return verify_each(self.verify_replicas, paths, workers, progress)

    def put_bytes(self, path: str, data: bytes) -> str:
        """Write ``data`` to data object ``path`` (replacing it); the verified SHA-256 hex."""
        path = check_irods_path(path)
        expected = digest_bytes(data, md5=self.hash_scheme == "md5")
        with self._sessions.worker() as session:
            transfer.put_data(session, path, data, self._resource)
        require_match(expected, self.checksum_of(path), path)
        return expected.sha256

    def read_bytes(self, path: str, max_bytes: int = 16 * 1024 * 1024) -> bytes:
        """The content of data object ``path``; PermanentIRODSError if it exceeds ``max_bytes``."""
        path = check_irods_path(path)
        with self._sessions.worker() as session:
            return transfer.read_object(session, path, max_bytes)

    # ------------------------------------------------------------------ metadata

    def get_metadata(self, path: str) -> list[AVU]:
        """Every AVU on collection or data object ``path`` (sorted)."""
        path = check_irods_path(path)
        is_collection = self.collection_exists(path)
        rows = call_with_retries(
            lambda: avu_catalog.read_avus(self._sessions.main, path, is_collection),
            operation="get_metadata",
            path=path,
        )
        return sorted_avus(rows)

    def set_metadata(
        self,
        path: str,
        avus: Iterable[AVU | tuple[str, ...]],
        *,
        replace_attributes: Iterable[str] | None = None,
    ) -> tuple[list[AVU], list[AVU]]:
        """Make ``avus`` present on ``path`` in one atomic operation; the (added, removed) AVUs.

        AVUs already there are left alone. Existing AVUs whose attribute is in
        ``replace_attributes`` but which are not in ``avus`` are removed in the same operation,
        so readers never see a half-replaced set.
        """
        path = check_irods_path(path)
        wanted = [AVU.of(a) for a in avus]  # a malformed AVU is refused before any query
        added, removed = changes_to_set(self.get_metadata(path), wanted, replace_attributes)
        self._apply_atomic(path, [("remove", a) for a in removed] + [("add", a) for a in added])
        return added, removed

    def remove_metadata(self, path: str, avus: Iterable[AVU | tuple[str, ...]]) -> None:
        """Remove ``avus`` from ``path`` atomically (AVUs that are not there are ignored)."""
        path = check_irods_path(path)
        gone = changes_to_remove(self.get_metadata(path), avus)
        self._apply_atomic(path, [("remove", a) for a in gone])

    def _apply_atomic(self, path: str, changes: Sequence[Change]) -> None:
        if changes:
            is_collection = self.collection_exists(path)
            avu_catalog.apply_changes(self._sessions.main, path, is_collection, changes)

    def search(
        self,
        attribute: str,
        value: str,
        *,
        kind: Literal["any", "collection", "data_object"] = "any",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[str]:
        """iRODS paths (sorted) of collections and/or data objects with AVU attribute=value."""
        if kind not in ("any", "collection", "data_object"):
            raise ValueError(f"kind must be any, collection or data_object, not {kind!r}")
        found = call_with_retries(
            lambda: avu_catalog.paths_with_avu(self._sessions.main, attribute, value, kind),
            operation="search",
        )
        paths = sorted(found)[offset:]
        return paths if limit is None else paths[:limit]

    # -------------------------------------------------------------------- upload

    def upload_directory(
        self,
        local_dir: str | os.PathLike[str],
        irods_path: str,
        metadata: RunMetadata | Iterable[AVU | tuple[str, ...]] | None = None,
        *,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        threads: int | None = None,
        progress: Progress | None = None,
        force: bool = False,
    ) -> UploadReport:
        """Upload the tree ``local_dir`` into collection ``irods_path`` (rodrunner.irods.upload).

        Resumable: an object already there with the local size and SHA-256 is not sent again
        (the local file is still read to hash it); ``force`` additionally makes the server
        re-read every such object to recompute its checksum. A differing object is replaced
        (truncated and rewritten). Per-file problems (unreadable file, bad name, symlink out
        of the tree, permission, checksum mismatch) land in ``report.errors``; a wrong password
        or a server that stays unreachable after the retries raises. ``progress(rel, nbytes)``
        is called once per finished file (from worker threads, one call at a time); ``metadata``
        (a ``RunMetadata``: the run AVUs the ingest flow writes, with ``irods.avu_prefix``; or
        ``(attribute, value, units)`` triples; anything else is a TypeError before any
        transfer) is added atomically on the collection at the end.
        """
        collection = check_irods_path(irods_path)
        avus = None if metadata is None else metadata_avus(metadata, self._config.avu_prefix)
        return upload_tree(
            self,
            self._sessions,
            self._resource,
            local_dir,
            collection,
            avus,
            include=include,
            exclude=exclude,
            workers=max(1, threads or self._config.transfer_threads),
            progress=progress,
            force=force,
        )

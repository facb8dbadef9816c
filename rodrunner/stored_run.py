"""What a stored run holds now, read from iRODS and from its run folder (the I/O of ``verify``).

:func:`resolve` finds the collection of a run folder (or takes a collection as given);
:func:`read_stored` reads the status AVUs and the manifest; :func:`list_local` lists (and with
``hash=True`` hashes) the run folder as ingest would; :func:`verify_run` puts them through
the pure checks of :mod:`rodrunner.verification` and, with ``deep``, asks the server to re-read
every replica. A deep verification records its outcome on the collection:
``rodrunner::verified_at`` when it found nothing, else ``rodrunner::verify_failed_at`` (each
replaces the other).
:func:`gate_input` reads what the safe-to-delete gate (:mod:`rodrunner.deletable`) judges.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from rodrunner.config import AppConfig
from rodrunner.deletable import GateInput
from rodrunner.errors import IRODSError, ManifestError, RodrunnerError, RunFolderError
from rodrunner.irods.walk import walk_tree
from rodrunner.manifest import parse_manifest
from rodrunner.plan import (
    INGESTED_AT_ATTR,
    KEEP_FILE,
    MANIFEST_NAME,
    MANIFEST_SHA256_ATTR,
    STATUS_ATTR,
    VERIFIED_AT_ATTR,
    VERIFY_FAILED_AT_ATTR,
    make_plan,
)
from rodrunner.verification import (
    LocalFile,
    Problem,
    StoredState,
    catalog_notes,
    check_catalog,
    check_deep,
    check_local,
    check_stored,
)

if TYPE_CHECKING:
    from rodrunner.irods.client import iRODSClient
    from rodrunner.irods.replicas import Replica

__all__ = [
    "Progress",
    "Target",
    "VerifyReport",
    "gate_input",
    "list_local",
    "parse_time",
    "read_stored",
    "resolve",
    "verify_run",
]

log = structlog.get_logger()

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; stages ``hash`` (local files) and ``verify`` (objects)."""

HASH_CHUNK = 4 * 1024 * 1024
MANIFEST_MAX = 256 * 1024 * 1024  # about two million files


@dataclass(frozen=True)
class Target:
    """A stored run: its collection, and its run folder when there is one here."""

    collection: str
    run_dir: Path | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def resolve(arg: str, config: AppConfig, sequencer_type: str | None = None) -> Target:
    """A run folder (when ``arg`` is a directory here) or an iRODS collection (otherwise).

    A run folder's collection is where ingest puts it (its metadata and the configuration).
    """
    path = Path(arg)
    if not path.is_dir():
        if not arg.startswith("/"):
            raise RunFolderError(
                f"'{arg}' is neither a run folder here nor an absolute iRODS collection; "
                "give RUN_DIR or /zone/home/user/sequencer/<type>/<run_id>"
            )
        return Target(collection=arg.rstrip("/") or "/")
    from rodrunner.parsers import parse_run_folder
    from rodrunner.profiles import get_profile

    run_dir = path.absolute()
    metadata = parse_run_folder(run_dir, sequencer_type)
    stype = sequencer_type or metadata.sequencer_type
    plan = make_plan(metadata, config, stype, profile_exclude=get_profile(stype).default_excludes)
    return Target(plan.collection, run_dir, plan.include, plan.exclude)


def parse_time(value: str | None) -> datetime | None:
    """An ISO-8601 AVU value (``...Z``) as an aware datetime; None when absent or garbage."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def read_stored(client: iRODSClient, collection: str) -> tuple[StoredState, dict[str, str]]:
    """The run's status and stored manifest, and its ``rodrunner::*`` AVUs (one value each)."""
    avus = {
        a.attr: a.value for a in client.get_metadata(collection) if a.attr.startswith("rodrunner::")
    }
    manifest = None
    problem = None
    digest = None
    try:
        data = client.read_bytes(f"{collection}/{MANIFEST_NAME}", MANIFEST_MAX)
        digest = hashlib.sha256(data).hexdigest()
        manifest = parse_manifest(data)
    except (ManifestError, IRODSError) as exc:
        problem = str(exc)
    stored = StoredState(
        status=avus.get(STATUS_ATTR),
        manifest_sha256_avu=avus.get(MANIFEST_SHA256_ATTR),
        manifest=manifest,
        manifest_problem=problem,
        manifest_digest=digest,
    )
    return stored, avus


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def list_local(
    target: Target,
    *,
    hash: bool,
    threads: int = 4,
    progress: Progress | None = None,
) -> dict[str, LocalFile]:
    """The run folder's files as ingest sees them (sizes; SHA-256 too with ``hash``)."""
    assert target.run_dir is not None
    listing = walk_tree(target.run_dir, include=target.include, exclude=target.exclude)
    files = {f.relative: f for f in listing.files}
    if not hash:
        return {rel: LocalFile(f.size, mtime=f.source.stat().st_mtime) for rel, f in files.items()}
    out: dict[str, LocalFile] = {}
    total = len(files)
    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="verify-hash") as pool:
        sums = pool.map(lambda f: _hash(f.source), files.values())
        for done, (rel, sha) in enumerate(zip(files, sums, strict=True), 1):
            out[rel] = LocalFile(files[rel].size, sha)
            if progress is not None:
                progress("hash", done, total)
    return out


@dataclass
class VerifyReport:
    """The outcome of :func:`verify_run`."""

    collection: str
    run_dir: str | None
    deep: bool
    files: int = 0
    objects: int = 0
    replicas: int = 0
    problems: list[Problem] = field(default_factory=list)
    verified_at: str | None = None
    notes: list[Problem] = field(default_factory=list)  # said, but not problems

    @property
    def ok(self) -> bool:
        """Whether the run is whole."""
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {
            "collection": self.collection,
            "run_dir": self.run_dir,
            "deep": self.deep,
            "ok": self.ok,
            "files": self.files,
            "objects": self.objects,
            "replicas": self.replicas,
            "verified_at": self.verified_at,
            "problems": [p.as_dict() for p in self.problems],
            "notes": [n.as_dict() for n in self.notes],
        }


def _count(catalog: Mapping[str, list[Replica]]) -> int:
    return sum(len(r) for r in catalog.values())


def verify_run(
    client: iRODSClient,
    target: Target,
    *,
    deep: bool = False,
    threads: int | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> VerifyReport:
    """Compare folder (when here), stored manifest and catalog; with ``deep`` the storage too."""
    collection = target.collection
    report = VerifyReport(collection, str(target.run_dir) if target.run_dir else None, deep)
    if not client.collection_exists(collection):
        report.problems.append(Problem("missing", "", f"no collection {collection} in iRODS"))
        return report
    stored, _avus = read_stored(client, collection)
    report.problems += check_stored(stored)
    catalog = client.list_replicas(collection)
    report.objects, report.replicas = len(catalog), _count(catalog)
    if stored.manifest is not None:
        report.files = stored.manifest.files
        report.problems += check_catalog(stored.manifest, catalog)
        report.notes += catalog_notes(stored.manifest, catalog)
        if target.run_dir is not None:
            try:
                local = list_local(target, hash=True, progress=progress)
            except OSError as exc:
                report.problems.append(
                    Problem("local_missing", "", f"run folder {target.run_dir}: {exc}")
                )
            else:
                report.problems += check_local(stored.manifest, local)
    if deep:
        paths = {f"{collection}/{rel}": rel for rel in sorted(catalog)}
        done = [0]

        def tick(_path: str) -> None:
            done[0] += 1
            if progress is not None:
                progress("verify", done[0], len(paths))

        results = client.verify_objects(list(paths), threads=threads, progress=tick)
        report.problems += check_deep({paths[p]: r for p, r in results.items()})
        when = (now or datetime.now(UTC)).astimezone(UTC)
        stamp = when.isoformat(timespec="seconds").replace("+00:00", "Z")
        # The outcome replaces the previous one: a failure voids an earlier pass.
        outcome = VERIFIED_AT_ATTR if report.ok else VERIFY_FAILED_AT_ATTR
        client.set_metadata(
            collection,
            [(outcome, stamp, "")],
            replace_attributes=[VERIFIED_AT_ATTR, VERIFY_FAILED_AT_ATTR],
        )
        if report.ok:
            report.verified_at = stamp
    log.info(
        "run.verified" if report.ok else "run.verify_failed",
        collection=collection,
        deep=deep,
        files=report.files,
        problems=len(report.problems),
    )
    return report


def gate_input(
    client: iRODSClient, target: Target, config: AppConfig, *, now: datetime | None = None
) -> GateInput:
    """Everything :func:`rodrunner.deletable.evaluate` needs, read now (iRODS, ledger, folder)."""
    from rodrunner.ledger.store import Ledger

    assert target.run_dir is not None
    now = now or datetime.now(UTC)
    ledger_state = ledger_problem = None
    try:
        with Ledger.open_read_only(config.daemon.state_dir) as ledger:
            entry = ledger.get(str(target.run_dir))
        ledger_state = entry.state.value if entry is not None else None
    except RodrunnerError as exc:
        ledger_problem = str(exc)
    if client.collection_exists(target.collection):
        stored, avus = read_stored(client, target.collection)
        catalog: Mapping[str, list[Replica]] = client.list_replicas(target.collection)
    else:
        problem = f"no collection {target.collection} in iRODS"
        stored, avus, catalog = StoredState(None, None, None, problem), {}, {}
    local: dict[str, LocalFile] | None = None
    local_problem = None
    try:
        local = list_local(target, hash=False)
    except OSError as exc:
        local_problem = f"run folder {target.run_dir} cannot be listed: {exc}"
    retention = config.retention
    return GateInput(
        now=now,
        ledger_state=ledger_state,
        ledger_problem=ledger_problem,
        stored=stored,
        catalog=catalog,
        local=local,
        local_problem=local_problem,
        ingested_at=parse_time(avus.get(INGESTED_AT_ATTR)),
        verified_at=parse_time(avus.get(VERIFIED_AT_ATTR)),
        verify_failed_at=parse_time(avus.get(VERIFY_FAILED_AT_ATTR)),
        keep_file=os.path.lexists(target.run_dir / KEEP_FILE),
        min_replicas=retention.min_replicas,
        keep_days=retention.keep_days,
        verify_within=retention.verify_within,
    )

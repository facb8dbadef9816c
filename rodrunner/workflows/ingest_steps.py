"""The steps of one ingest after planning, and what "Ingest Run" reports on the way.

:func:`store_run`: the run's collection and its source (a conflict held, an earlier
``--suffix`` home found) → (a complete stored manifest the catalog agrees with: skipped) →
``rodrunner::status=ingesting`` → upload → verify → manifest → replicas → AVUs, the status AVU
last. The flow around it (:mod:`rodrunner.workflows.ingest`) turns what it returns or raises
into the :class:`~rodrunner.run.IngestSummary`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import time
from pathlib import Path
from typing import Any

from prefect.artifacts import create_table_artifact

from rodrunner.config import AppConfig
from rodrunner.errors import ConfigError, IngestConflictError, IngestError, RodrunnerError
from rodrunner.ingest_rules import Source, already_ingested, provenance_conflict
from rodrunner.irods.client import iRODSClient
from rodrunner.irods.walk import walk_tree
from rodrunner.manifest import build_manifest
from rodrunner.plan import SOURCE_DIR_ATTR, IngestPlan, make_plan
from rodrunner.profiles import get_profile
from rodrunner.run import IngestSummary
from rodrunner.tasks.irods import (
    check_catalog,
    ensure_replicas,
    mark_ingesting,
    move_aside,
    read_ingest_state,
    tag_run,
    upload_run,
    verify_run,
    write_manifest,
)
from rodrunner.tasks.parsing import parse_sequencer_run

__all__ = ["FailedWith", "checked_suffix", "plan_run", "publish_artifact", "store_run"]


def _artifact_key(run_id: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", run_id.lower()).strip("-")
    return f"ingest-{slug or 'run'}"[:100]


def publish_artifact(summary: IngestSummary) -> None:
    """The ingest's one-row table artifact in Prefect (``ingest-<run id>``)."""
    seconds = float(summary.seconds or 0.0)
    sent = int(summary.uploaded_bytes or 0)
    throughput = f"{sent / seconds / 2**20:.1f} MiB/s" if seconds > 0 and sent else "-"
    row = {
        "run_id": summary.run_id or "",
        "status": summary.status,
        "files": summary.files,
        "bytes": summary.bytes,
        "files_sent": summary.uploaded_files or 0,
        "bytes_sent": sent,
        "seconds": round(seconds, 2),
        "throughput": throughput,
        "verified": summary.verified or 0,
        "irods_path": summary.irods_path or "",
    }
    create_table_artifact(
        table=[row],
        key=_artifact_key(summary.run_id or Path(summary.run_dir).name),
        description=f"rodrunner ingest of {summary.run_dir}: {summary.status}",
    )


def plan_run(run_dir: str, sequencer_type: str | None, cfg: AppConfig) -> IngestPlan:
    """Parse the run folder's metadata and plan its ingest; a RodrunnerError if it cannot."""
    if not Path(run_dir).is_dir():
        raise IngestError(f"run folder '{run_dir}' does not exist or is not a directory")
    metadata = parse_sequencer_run(run_dir, sequencer_type)
    stype = sequencer_type or metadata.sequencer_type
    profile = get_profile(stype)
    return make_plan(metadata, cfg, stype, profile_exclude=profile.default_excludes)


def store_run(
    client: iRODSClient,
    plan: IngestPlan,
    run_dir: str,
    *,
    force: bool,
    threads: int,
    log: Any,
    min_replicas: int = 1,
    replica_wait: float = 0.0,
    replace: bool = False,
) -> dict[str, Any]:
    """The steps after planning: the counts and status; a RodrunnerError on failure
    (:class:`FailedWith` when counts were gathered first)."""
    listing = walk_tree(run_dir, include=plan.include, exclude=plan.exclude)
    sizes = {f.relative: f.size for f in listing.files}
    total = sum(sizes.values())
    # Resolved: the daemon's configured root and an operator's shell may name one folder
    # through different symlinks; the recorded source must not tell them apart.
    source = Source(host=socket.gethostname(), run_dir=os.path.realpath(run_dir))
    stored = read_ingest_state(client, plan.collection)
    conflict = provenance_conflict(stored, plan.collection, source, sizes)
    if conflict is not None and replace:  # the operator decided: keep the old one aside
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = move_aside(client, plan.collection, stamp)
        log.warning("ingest.replaced", irods_path=plan.collection, moved_to=aside)
        stored = read_ingest_state(client, plan.collection)
        conflict = None
    if conflict is not None:
        moved = _suffixed_home(client, plan.collection, source.run_dir)
        if moved is not None:  # an operator ingested this folder with --suffix before
            plan = dataclasses.replace(plan, collection=moved)
            stored = read_ingest_state(client, plan.collection)
            conflict = None
    if conflict is not None:
        log.warning("ingest.conflict", irods_path=plan.collection, error=conflict)
        raise IngestConflictError(conflict)
    if not force:
        if already_ingested(stored, sizes) and not check_catalog(
            client, plan.collection, stored.manifest
        ):
            if stored.source_dir is None:  # adopted (an older rodrunner's): say where from
                client.set_metadata(plan.collection, source.avus())
            log.info("ingest.skipped", irods_path=plan.collection, files=len(sizes), bytes=total)
            return {
                "status": "skipped",
                "irods_path": plan.collection,
                "files": len(sizes),
                "bytes": total,
                "skipped_files": len(sizes),
            }
        if stored.manifest_problem:
            log.warning("ingest.manifest_unreadable", problem=stored.manifest_problem)
    mark_ingesting(client, plan.collection, source)
    report = upload_run(
        client,
        run_dir,
        plan.collection,
        include=plan.include,
        exclude=plan.exclude,
        threads=threads,
        force=force,
    )
    sent = {
        "uploaded_files": len(report.uploaded),
        "uploaded_bytes": report.bytes_sent,
        "skipped_files": report.skipped,
        "files": len(sizes),
        "bytes": total,
    }
    if report.errors:
        first = "; ".join(f"{_printable(rel)}: {msg}" for rel, msg in report.errors[:5])
        more = f" (and {len(report.errors) - 5} more)" if len(report.errors) > 5 else ""
        raise FailedWith(
            IngestError(
                f"{len(report.errors)} file(s) of {run_dir} were not stored: {first}{more}; "
                "fix or exclude them and ingest again (what is stored is kept)"
            ),
            sent,
        )
    try:
        verification = verify_run(client, plan.collection, sizes, report.checksums, report.md5s)
        manifest = build_manifest(
            plan.run_id,
            sizes,
            report.checksums,
            md5s=report.md5s,
            irods_checksum=client.hash_scheme,
        )
        write_manifest(client, plan.collection, manifest)
        ensure_replicas(client, plan.collection, manifest, min_replicas, replica_wait)
        tag_run(client, plan, manifest, source)
    except RodrunnerError as exc:
        raise FailedWith(exc, sent) from exc
    return {
        **sent,
        "status": "complete",
        "irods_path": plan.collection,
        "verified": verification.verified,
    }


def _suffixed_home(client: iRODSClient, collection: str, run_dir: str) -> str | None:
    """The ``<collection>_<suffix>`` whose recorded source is ``run_dir``, if there is one."""
    try:
        found = client.search(SOURCE_DIR_ATTR, run_dir, kind="collection")
    except RodrunnerError:  # a name the query cannot carry: no such collection known
        return None
    homes = [path for path in found if path.startswith(f"{collection}_")]
    return homes[0] if len(homes) == 1 else None


def _printable(name: str) -> str:
    """A file name with its line breaks and NULs escaped (error messages stay one line)."""
    return name.translate({10: "\\n", 13: "\\r", 0: "\\0"})


class FailedWith(Exception):
    """Carries the counts gathered before a failure up to the flow."""

    def __init__(self, error: RodrunnerError, counts: dict[str, Any]) -> None:
        super().__init__(str(error))
        self.error = error
        self.counts = counts


def checked_suffix(value: str) -> str:
    """A collection name suffix: letters, digits, '.', '_' and '-' only."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        raise ConfigError(
            f"suffix {value!r} is not a plain name; use letters, digits, '.', '_' or '-' "
            "(at most 64), e.g. --suffix redemux",
            key="suffix",
        )
    return value

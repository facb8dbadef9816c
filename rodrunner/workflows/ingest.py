"""The ingest flows.

``ingest_run`` ("Ingest Run") is the unit the daemon submits: parse → plan → (a run marked
complete: its manifest against the catalog, one query; skipped when they agree) →
``rodrunner::status=ingesting`` → upload → verify → manifest → (``irods.min_replicas`` good
replicas of every object) → run AVUs → status AVUs → ``rodrunner::status=complete`` last.
``ingest_sequencer_runs`` and ``ingest_all_sequencer_runs`` find complete runs under the
sequencer roots and ingest each.

Every flow returns small plain dicts; a failed ingest ends its flow run in the Failed state
with the summary as its data (``state.result(raise_on_failure=False)``).
"""

# No ``from __future__ import annotations`` here: a flow run started by a runner may get
# the flow by value (cloudpickle), without this module's globals, and must still read the
# ``config`` parameter's type.

import dataclasses
import os
import re
import socket
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from pathlib import Path
from typing import Any, cast

import structlog
import structlog.contextvars
from prefect import Flow, flow, runtime
from prefect.artifacts import create_table_artifact
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext
from prefect.states import Failed

from rodrunner.config import AppConfig
from rodrunner.config.loading import ConfigArgument, load_config
from rodrunner.connect import open_irods
from rodrunner.errors import ConfigError, IngestConflictError, IngestError, RodrunnerError
from rodrunner.ingest_rules import Source, already_ingested, provenance_conflict
from rodrunner.irods.client import iRODSClient
from rodrunner.irods.walk import walk_tree
from rodrunner.manifest import build_manifest
from rodrunner.notify import notify_ingest
from rodrunner.plan import SOURCE_DIR_ATTR, IngestPlan, make_plan
from rodrunner.profiles import PROFILES, get_profile
from rodrunner.tasks.filesystem import find_run_entries_task
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

__all__ = [
    "ingest_all_sequencer_runs",
    "ingest_run",
    "ingest_sequencer_runs",
    "result_entry",
    "summary_from_state",
]

RESULT_KEYS = (
    "run_dir",
    "run_id",
    "irods_path",
    "success",
    "status",
    "error",
    "files",
    "bytes",
    "seconds",
)
"""The keys of every entry ``ingest_sequencer_runs``/``ingest_all_sequencer_runs`` return."""


def result_entry(**known: Any) -> dict[str, Any]:
    """One result entry: every key of :data:`RESULT_KEYS`, None where unknown."""
    return {key: known.get(key) for key in RESULT_KEYS}


def _ingest_run_name() -> str:
    run_dir = str(runtime.flow_run.parameters.get("run_dir", "run"))
    return f"ingest-{Path(run_dir).name or run_dir}"


def _flow_run_id() -> str | None:
    value = runtime.flow_run.id
    return str(value) if value else None


def _artifact_key(run_id: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", run_id.lower()).strip("-")
    return f"ingest-{slug or 'run'}"[:100]


def _publish_artifact(summary: Mapping[str, Any]) -> None:
    seconds = float(summary.get("seconds") or 0.0)
    sent = int(summary.get("uploaded_bytes") or 0)
    throughput = f"{sent / seconds / 2**20:.1f} MiB/s" if seconds > 0 and sent else "-"
    row = {
        "run_id": summary.get("run_id") or "",
        "status": summary["status"],
        "files": summary["files"],
        "bytes": summary["bytes"],
        "files_sent": summary.get("uploaded_files", 0),
        "bytes_sent": sent,
        "seconds": round(seconds, 2),
        "throughput": throughput,
        "verified": summary.get("verified", 0),
        "irods_path": summary.get("irods_path") or "",
    }
    create_table_artifact(
        table=[row],
        key=_artifact_key(str(summary.get("run_id") or Path(str(summary["run_dir"])).name)),
        description=f"rodrunner ingest of {summary['run_dir']}: {summary['status']}",
    )


def _ingest(
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
    """The steps after planning; raises a RodrunnerError on failure."""
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
        raise _FailedWith(
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
        raise _FailedWith(exc, sent) from exc
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


class _FailedWith(Exception):
    """Carries the counts gathered before a failure up to the flow."""

    def __init__(self, error: RodrunnerError, counts: dict[str, Any]) -> None:
        super().__init__(str(error))
        self.error = error
        self.counts = counts


@flow(name="Ingest Run", flow_run_name=_ingest_run_name, persist_result=False)
def ingest_run(
    run_dir: str,
    sequencer_type: str | None = None,
    config: ConfigArgument = None,
    force: bool = False,
    replace: bool = False,
    suffix: str | None = None,
) -> Any:
    """Ingest one run folder into iRODS, verified; skip it when iRODS already holds it.

    The collection records its source folder; a collection from another folder with the same
    run id is never written into: the flow run ends Failed named ``Conflict`` (status
    ``conflict``) until an operator decides: ``replace`` moves the other folder's collection
    aside to ``<collection>.replaced-<time>`` first, ``suffix`` ingests into
    ``<collection>_<suffix>`` instead.

    ``config`` is the :class:`AppConfig` to use as it is, a configuration file path, or None
    (the usual search, where the flow runs); a deployment run is given a path.
    ``force`` re-verifies every object against the local files and re-sends what differs
    instead of trusting a complete stored manifest. Returns the summary dict
    ``{run_dir, run_id, sequencer_type, irods_path, success, status, error, files, bytes,
    skipped_files, uploaded_files, uploaded_bytes, verified, seconds, flow_run_id}``; on
    failure the flow run is Failed and carries the same summary as its data.
    """
    started = time.monotonic()
    run_dir = os.fspath(run_dir)
    summary: dict[str, Any] = {
        "run_dir": run_dir,
        "run_id": None,
        "sequencer_type": sequencer_type,
        "irods_path": None,
        "success": False,
        "status": "failed",
        "error": None,
        "files": 0,
        "bytes": 0,
        "skipped_files": 0,
        "uploaded_files": 0,
        "uploaded_bytes": 0,
        "verified": 0,
        "seconds": 0.0,
        "flow_run_id": _flow_run_id(),
    }
    log = structlog.get_logger().bind(
        run_dir=run_dir, sequencer_type=sequencer_type, flow_run_id=summary["flow_run_id"]
    )
    cfg: AppConfig | None = None
    try:
        cfg = load_config(config)
        if not Path(run_dir).is_dir():
            raise IngestError(f"run folder '{run_dir}' does not exist or is not a directory")
        metadata = parse_sequencer_run(run_dir, sequencer_type)
        stype = sequencer_type or metadata.sequencer_type
        profile = get_profile(stype)
        plan = make_plan(metadata, cfg, stype, profile_exclude=profile.default_excludes)
        if suffix is not None:
            plan = dataclasses.replace(plan, collection=f"{plan.collection}_{_suffix(suffix)}")
        summary.update(run_id=plan.run_id, sequencer_type=stype, irods_path=plan.collection)
        log = log.bind(run_id=plan.run_id, sequencer_type=stype)
        log.info("ingest.started", irods_path=plan.collection, force=force)
        # Task-level events (ingest.uploaded, ingest.verified, irods.*) get the run context
        # through structlog's contextvars where the entry point merges them.
        with (
            structlog.contextvars.bound_contextvars(
                run_id=plan.run_id,
                run_dir=run_dir,
                sequencer_type=stype,
                flow_run_id=summary["flow_run_id"],
            ),
            open_irods(cfg.irods) as client,
        ):
            summary.update(
                _ingest(
                    client,
                    plan,
                    run_dir,
                    force=force,
                    threads=cfg.irods.transfer_threads,
                    log=log,
                    min_replicas=cfg.irods.min_replicas,
                    replica_wait=cfg.irods.replica_wait,
                    replace=replace,
                )
            )
        summary["success"] = True
    except IngestConflictError as exc:  # held: changes nothing, waits for an operator
        summary.update(status="conflict", error=str(exc), error_type=type(exc).__name__)
    except _FailedWith as exc:
        summary.update(exc.counts, error=str(exc.error), error_type=type(exc.error).__name__)
    except RodrunnerError as exc:
        summary.update(error=str(exc), error_type=type(exc).__name__)
    except OSError as exc:
        summary.update(error=f"run folder '{run_dir}': {exc}", error_type=type(exc).__name__)
    except Exception as exc:  # a bug or an untranslated error: still a failed, announced ingest
        log.exception("ingest.crashed")
        summary.update(error=f"unexpected {type(exc).__name__}: {exc}", error_type="crash")
    summary["seconds"] = round(time.monotonic() - started, 3)
    if summary["success"]:
        if summary["status"] == "complete":
            log.info(
                "ingest.complete",
                irods_path=summary["irods_path"],
                files=summary["files"],
                bytes=summary["bytes"],
                uploaded_files=summary["uploaded_files"],
                seconds=summary["seconds"],
            )
    elif summary["status"] != "conflict":  # ingest.conflict was logged where it was found
        summary["status"] = "failed"
        log.error("ingest.failed", error=summary["error"], irods_path=summary["irods_path"])
    _publish_artifact(summary)
    if cfg is not None:
        notify_ingest(summary, cfg)
    if not summary["success"]:
        name = "Conflict" if summary["status"] == "conflict" else "Failed"
        return Failed(message=str(summary["error"]), data=summary, name=name)
    return summary


def _suffix(value: str) -> str:
    """A collection name suffix: letters, digits, '.', '_' and '-' only."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        raise ConfigError(
            f"suffix {value!r} is not a plain name; use letters, digits, '.', '_' or '-' "
            "(at most 64), e.g. --suffix redemux",
            key="suffix",
        )
    return value


def summary_from_state(state: State[Any], run_dir: str = "") -> dict[str, Any]:
    """The summary an ``ingest_run`` flow run ended with, whatever its final state."""
    try:
        data = state.result(raise_on_failure=False)
    except Exception as exc:  # a crashed or cancelled run has no summary: report what is known
        data = exc
    if isinstance(data, dict):
        return data
    return result_entry(
        run_dir=run_dir,
        success=False,
        status="failed",
        error=state.message or (str(data) if data is not None else state.type.value),
    )


def _call_for_state(subflow: Flow[..., Any], *args: Any) -> State[Any]:
    """Run ``subflow`` (sync) and return its final state instead of raising on failure."""
    return cast("State[Any]", subflow(*args, return_state=True))


def _short(summary: Mapping[str, Any]) -> dict[str, Any]:
    return result_entry(**summary)


@flow(name="Ingest Sequencer Runs", persist_result=False)
def ingest_sequencer_runs(
    config: ConfigArgument,
    sequencer_type: str,
    root_dir: str | None = None,
    completion_indicator: str | None = None,
) -> list[dict[str, Any]]:
    """Ingest every complete run of one sequencer type, one ``Ingest Run`` subflow each.

    ``config``: the :class:`AppConfig` itself, a configuration file path, or None. Returns
    one entry per complete run with the keys of :data:`RESULT_KEYS` (None where unknown). A
    root that does not exist is one failed entry (``run_dir`` the root) and a warning.
    """
    cfg = load_config(config)
    get_profile(sequencer_type)
    entry = cfg.sequencer.types.get(sequencer_type)
    root = os.fspath(root_dir) if root_dir else os.fspath(cfg.sequencer.root_for(sequencer_type))
    indicator = completion_indicator or (entry.completion_indicator if entry else None)
    # Called through ``.fn`` outside any flow run (a user's thread), the scan runs as a plain
    # function: a task there would have no flow run to report to.
    find = find_run_entries_task if FlowRunContext.get() is not None else find_run_entries_task.fn
    try:
        runs = find(
            root,
            sequencer_type,
            completion_indicator=indicator,
            trigger_file=cfg.daemon.trigger_file,
            skip_file=cfg.daemon.skip_file,
        )
    except ConfigError as exc:
        if Path(root).is_dir():
            raise
        structlog.get_logger().warning(
            "ingest.root_missing", sequencer_type=sequencer_type, root=root, error=str(exc)
        )
        return [result_entry(run_dir=root, success=False, status="failed", error=str(exc))]
    results = []
    for run in runs:
        state = _call_for_state(ingest_run, run["run_dir"], sequencer_type, config, False)
        results.append(_short(summary_from_state(state, run["run_dir"])))
    return results


@flow(name="Ingest All Sequencer Runs", persist_result=False)
def ingest_all_sequencer_runs(
    config: ConfigArgument,
    root_dir: str | None = None,
    completion_indicator: str | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Ingest the complete runs of every configured sequencer type, the types concurrently.

    The types are those under ``sequencer.types``; without any, the profile names that exist
    as folders below ``root_dir`` (default ``sequencer.base_dir``). ``root_dir`` given: each
    type's root is ``root_dir/<type>``. Returns ``{type: [entry, ...]}``, each entry with the
    keys of :data:`RESULT_KEYS`; a configured type whose root is missing gets one failed entry.
    """
    cfg = load_config(config)
    base = Path(root_dir) if root_dir else cfg.sequencer.base_dir
    types = list(cfg.sequencer.types) or sorted(t for t in PROFILES if (base / t).is_dir())

    def root_of(stype: str) -> str | None:
        return os.fspath(base / stype) if root_dir else None

    if not types:
        return {}
    with ThreadPoolExecutor(max_workers=len(types), thread_name_prefix="ingest-type") as pool:
        futures = {
            stype: pool.submit(
                copy_context().run,
                _call_for_state,
                ingest_sequencer_runs,
                config,
                stype,
                root_of(stype),
                completion_indicator,
            )
            for stype in types
        }
        results: dict[str, list[dict[str, Any]]] = {}
        for stype, future in futures.items():
            state = future.result()
            data = state.result(raise_on_failure=False)
            if isinstance(data, list):
                results[stype] = data
            else:
                results[stype] = [
                    result_entry(
                        run_dir=root_of(stype) or os.fspath(cfg.sequencer.root_for(stype)),
                        success=False,
                        status="failed",
                        error=state.message or str(data),
                    )
                ]
    return results

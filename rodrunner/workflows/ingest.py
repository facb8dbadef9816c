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
import time
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from pathlib import Path
from typing import Any, cast

import structlog
import structlog.contextvars
from prefect import Flow, flow, runtime
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext
from prefect.states import Failed

from rodrunner.config import AppConfig
from rodrunner.config.loading import ConfigArgument, load_config
from rodrunner.connect import open_irods
from rodrunner.errors import ConfigError, IngestConflictError, RodrunnerError
from rodrunner.notify import notify_ingest
from rodrunner.profiles import PROFILES, get_profile
from rodrunner.run import IngestSummary
from rodrunner.tasks.filesystem import find_run_entries_task
from rodrunner.workflows.ingest_steps import (
    FailedWith,
    checked_suffix,
    plan_run,
    publish_artifact,
    store_run,
)

__all__ = ["ingest_all_sequencer_runs", "ingest_run", "ingest_sequencer_runs"]


ZERO_COUNTS = {
    "files": 0,
    "bytes": 0,
    "skipped_files": 0,
    "uploaded_files": 0,
    "uploaded_bytes": 0,
    "verified": 0,
}
"""What "Ingest Run" reports before it knows more."""


def _ingest_run_name() -> str:
    run_dir = str(runtime.flow_run.parameters.get("run_dir", "run"))
    return f"ingest-{Path(run_dir).name or run_dir}"


def _flow_run_id() -> str | None:
    value = runtime.flow_run.id
    return str(value) if value else None


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
    known: dict[str, Any] = {
        "run_dir": run_dir,
        "sequencer_type": sequencer_type,
        "flow_run_id": _flow_run_id(),
        **ZERO_COUNTS,
    }
    log = structlog.get_logger().bind(
        run_dir=run_dir, sequencer_type=sequencer_type, flow_run_id=known["flow_run_id"]
    )
    cfg: AppConfig | None = None
    try:
        cfg = load_config(config)
        plan = plan_run(run_dir, sequencer_type, cfg)
        if suffix is not None:
            collection = f"{plan.collection}_{checked_suffix(suffix)}"
            plan = dataclasses.replace(plan, collection=collection)
        stype = plan.sequencer_type
        known.update(run_id=plan.run_id, sequencer_type=stype, irods_path=plan.collection)
        log = log.bind(run_id=plan.run_id, sequencer_type=stype)
        log.info("ingest.started", irods_path=plan.collection, force=force)
        # Task-level events (ingest.uploaded, ingest.verified, irods.*) get the run context
        # through structlog's contextvars where the entry point merges them.
        with (
            structlog.contextvars.bound_contextvars(
                run_id=plan.run_id,
                run_dir=run_dir,
                sequencer_type=stype,
                flow_run_id=known["flow_run_id"],
            ),
            open_irods(cfg.irods) as client,
        ):
            stored = store_run(
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
            known.update(stored)
        known["success"] = True
    except IngestConflictError as exc:  # held: changes nothing, waits for an operator
        known.update(status="conflict", error=str(exc), error_type=type(exc).__name__)
    except FailedWith as exc:
        known.update(exc.counts, error=str(exc.error), error_type=type(exc.error).__name__)
    except RodrunnerError as exc:
        known.update(error=str(exc), error_type=type(exc).__name__)
    except OSError as exc:
        known.update(error=f"run folder '{run_dir}': {exc}", error_type=type(exc).__name__)
    except Exception as exc:  # a bug or an untranslated error: still a failed, announced ingest
        log.exception("ingest.crashed")
        known.update(error=f"unexpected {type(exc).__name__}: {exc}", error_type="crash")
    if not known.get("success") and known.get("status") != "conflict":
        known["status"] = "failed"
    summary = IngestSummary(**known, seconds=round(time.monotonic() - started, 3))
    if summary.success:
        if summary.status == "complete":
            log.info(
                "ingest.complete",
                irods_path=summary.irods_path,
                files=summary.files,
                bytes=summary.bytes,
                uploaded_files=summary.uploaded_files,
                seconds=summary.seconds,
            )
    elif summary.status != "conflict":  # ingest.conflict was logged where it was found
        log.error("ingest.failed", error=summary.error, irods_path=summary.irods_path)
    publish_artifact(summary)
    result = summary.as_result()
    if cfg is not None:
        notify_ingest(result, cfg)
    if not summary.success:
        name = "Conflict" if summary.status == "conflict" else "Failed"
        return Failed(message=str(summary.error), data=result, name=name)
    return result


def _call_for_state(subflow: Flow[..., Any], *args: Any) -> State[Any]:
    """Run ``subflow`` (sync) and return its final state instead of raising on failure."""
    return cast("State[Any]", subflow(*args, return_state=True))


@flow(name="Ingest Sequencer Runs", persist_result=False)
def ingest_sequencer_runs(
    config: ConfigArgument,
    sequencer_type: str,
    root_dir: str | None = None,
    completion_indicator: str | None = None,
) -> list[dict[str, Any]]:
    """Ingest every complete run of one sequencer type, one ``Ingest Run`` subflow each.

    ``config``: the :class:`AppConfig` itself, a configuration file path, or None. Returns
    one entry per complete run with the keys of :data:`rodrunner.run.ENTRY_KEYS` (None where
    unknown). A root that does not exist is one failed entry (``run_dir`` the root) and a
    warning. The configuration is read once and handed to each subflow as it is.
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
        return [IngestSummary.failed(root, str(exc)).as_entry()]
    results = []
    for run in runs:
        state = _call_for_state(ingest_run, run["run_dir"], sequencer_type, cfg, False)
        results.append(IngestSummary.from_state(state, run["run_dir"]).as_entry())
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
    keys of :data:`rodrunner.run.ENTRY_KEYS`; a configured type whose root is missing gets one
    failed entry. The configuration is read once and handed to each subflow as it is.
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
                cfg,
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
                root = root_of(stype) or os.fspath(cfg.sequencer.root_for(stype))
                error = state.message or str(data)
                results[stype] = [IngestSummary.failed(root, error).as_entry()]
    return results

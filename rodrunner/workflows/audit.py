"""The "Audit Ingested Runs" flow: keep proving that the stored runs are whole.

Every run collection below the configured collection root (:func:`rodrunner.audit.collection_root`)
marked ``rodrunner::status=complete`` is a candidate; those not deep-verified within
``audit.max_age`` days are due (``null``: all), at most ``audit.limit`` per flow run, the
never-verified and then the longest-unverified first. Each is checked by
:func:`rodrunner.stored_run.verify_run`, the same comparison as ``rodrunner verify``: stored
manifest against the catalog, and with ``audit.deep`` (the default) every replica re-read by the
server, which records ``rodrunner::verified_at`` on a pass and ``rodrunner::verify_failed_at``
on a failure. A catalog-only audit (``deep: false``) records nothing: ``verified_at`` means
the storage was re-read.

Events: ``audit.started``, ``audit.mismatch`` (one per run that fails, with its problem kinds),
``audit.run_error`` (a run that could not be checked), ``audit.finished`` (the figures), with
``audit.metrics_file`` set also written there for Prometheus (:mod:`rodrunner.audit_metrics`;
``audit.metrics_write_failed`` when it cannot be, the audit stands). Runs
failing are announced through the notifier and listed in a table artifact
(``audit-ingested-runs``). The flow run returns the :class:`rodrunner.audit.AuditSummary` as a
dict; it ends Failed (with that dict as data) when a run is not whole.
"""

# No ``from __future__ import annotations`` here: a flow run started by a runner may get
# the flow by value (cloudpickle), without this module's globals, and must still read the
# ``config`` parameter's type.

from datetime import UTC, datetime
from typing import Any

import structlog
from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.states import Failed

from rodrunner.audit import (
    AuditRun,
    AuditSummary,
    Candidate,
    collection_root,
    problem_lines,
    select_due,
)
from rodrunner.audit_metrics import publish_audit_metrics
from rodrunner.config import AppConfig
from rodrunner.config.loading import ConfigArgument, load_config
from rodrunner.connect import open_irods
from rodrunner.errors import RodrunnerError
from rodrunner.irods.client import iRODSClient
from rodrunner.notify import notify_audit
from rodrunner.plan import STATUS_ATTR, STATUS_COMPLETE, VERIFIED_AT_ATTR
from rodrunner.stored_run import Target, parse_time, verify_run

__all__ = ["audit_ingested_runs", "run_audit"]

ARTIFACT_KEY = "audit-ingested-runs"


def _candidates(client: iRODSClient, root: str) -> list[Candidate]:
    """Complete run collections below ``root`` with their last deep verification."""
    found = client.search(STATUS_ATTR, STATUS_COMPLETE, kind="collection")
    below = [c for c in found if c.startswith(root.rstrip("/") + "/")]
    out = []
    for collection in below:
        stamps = [a.value for a in client.get_metadata(collection) if a.attr == VERIFIED_AT_ATTR]
        out.append(Candidate(collection, parse_time(max(stamps)) if stamps else None))
    return out


def _check(client: iRODSClient, collection: str, *, deep: bool, threads: int) -> AuditRun:
    log = structlog.get_logger().bind(collection=collection)
    try:
        report = verify_run(client, Target(collection), deep=deep, threads=threads)
    except RodrunnerError as exc:  # this run could not be checked; the others still are
        log.error("audit.run_error", error=str(exc))
        return AuditRun(collection, False, (f"error (run): {exc}",), ("error",))
    lines, kinds = problem_lines(report.problems)
    if not report.ok:
        log.warning(
            "audit.mismatch",
            problems=len(report.problems),
            kinds=sorted(set(kinds)),
            first=lines[0],
            deep=deep,
        )
    return AuditRun(collection, report.ok, lines, kinds, report.verified_at)


def run_audit(
    client: iRODSClient, config: AppConfig, *, now: datetime | None = None
) -> AuditSummary:
    """Audit the due runs (see the module docstring) with an open client."""
    audit = config.audit
    root = collection_root(config.irods.collection_template, zone=client.zone, user=client.user)
    candidates = _candidates(client, root)
    due = select_due(
        candidates, now=now or datetime.now(UTC), max_age_days=audit.max_age, limit=audit.limit
    )
    log = structlog.get_logger().bind(root=root, deep=audit.deep)
    log.info("audit.started", complete=len(candidates), due=len(due))
    runs = tuple(
        _check(client, c.collection, deep=audit.deep, threads=config.irods.transfer_threads)
        for c in due
    )
    summary = AuditSummary(root=root, deep=audit.deep, complete=len(candidates), runs=runs)
    log.info(
        "audit.finished",
        checked=summary.checked,
        failing=summary.failing,
        problems=summary.problems,
    )
    if audit.metrics_file is not None:
        publish_audit_metrics(summary, audit.metrics_file, now=datetime.now(UTC))
    return summary


def _publish_artifact(summary: AuditSummary) -> None:
    rows = [
        {
            "collection": run.collection,
            "ok": run.ok,
            "problems": len(run.problems),
            "kinds": ", ".join(sorted(set(run.kinds))),
            "first_problem": run.problems[0] if run.problems else "",
            "verified_at": run.verified_at or "",
        }
        for run in summary.runs
    ]
    create_table_artifact(
        table=rows,
        key=ARTIFACT_KEY,
        description=(
            f"rodrunner audit of {summary.root}: {summary.checked} checked, "
            f"{summary.failing} failing, {summary.problems} problems"
        ),
    )


@flow(name="Audit Ingested Runs", persist_result=False)
def audit_ingested_runs(config: ConfigArgument = None) -> Any:
    """Re-verify the stored runs that are due (see the module docstring).

    ``config``: the :class:`AppConfig` itself, a configuration file path, or None (the usual
    search, where the flow runs).
    Returns ``{root, deep, complete, checked, failing, problems, ok, runs: [{collection, ok,
    problems, kinds, verified_at}]}``; Failed with that dict as data when a run is not whole.
    """
    log = structlog.get_logger()
    try:
        cfg = load_config(config)
        with open_irods(cfg.irods) as client:
            summary = run_audit(client, cfg)
    except RodrunnerError as exc:
        log.error("audit.failed", error=str(exc))
        return Failed(message=f"the audit could not run: {exc}")
    _publish_artifact(summary)
    notify_audit(summary, cfg)
    result = summary.as_dict()
    if not summary.ok:
        return Failed(
            message=f"{summary.failing} of {summary.checked} audited run(s) are not whole",
            data=result,
        )
    return result

"""The figures of an audit as a Prometheus textfile, for node_exporter's textfile collector.

The audit runs as a flow (a batch job, perhaps on a runner host), not inside the daemon, so it
publishes through a file: point node_exporter's ``--collector.textfile.directory`` at the
directory of ``audit.metrics_file`` (its name must end in ``.prom``). Each audit replaces the
file atomically (written beside it, then renamed). Names::

    rodrunner_audit_runs_checked                     gauge: runs the last audit checked
    rodrunner_audit_runs_failing                     gauge: of those, runs not whole
    rodrunner_audit_problems{kind}                   gauge: problems per kind (see
                                                     rodrunner.verification)
    rodrunner_audit_last_run_timestamp_seconds       gauge: when the last audit finished
    rodrunner_audit_last_success_timestamp_seconds   gauge: when the last audit with no failing
                                                     run finished (kept from the file's previous
                                                     contents across failing audits)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import structlog
from prometheus_client import CollectorRegistry, Gauge, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from rodrunner.audit import AuditSummary

__all__ = ["publish_audit_metrics", "write_audit_metrics"]

LAST_SUCCESS = "rodrunner_audit_last_success_timestamp_seconds"


def _previous_success(path: Path) -> float | None:
    """The last-success time the file holds now, if it is there and readable."""
    try:
        text = path.read_text(encoding="utf-8")
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == LAST_SUCCESS:
                    return float(sample.value)
    except (OSError, ValueError):  # absent or not ours: no earlier success to keep
        return None
    return None


def write_audit_metrics(summary: AuditSummary, path: Path, *, now: datetime) -> None:
    """Replace ``path`` with the figures of ``summary`` (finished at ``now``); raises OSError."""
    registry = CollectorRegistry()
    Gauge("rodrunner_audit_runs_checked", "Runs the last audit checked", registry=registry).set(
        summary.checked
    )
    Gauge(
        "rodrunner_audit_runs_failing", "Runs the last audit found not whole", registry=registry
    ).set(summary.failing)
    problems = Gauge(
        "rodrunner_audit_problems",
        "Problems the last audit found, per kind",
        ["kind"],
        registry=registry,
    )
    for kind, count in summary.by_kind().items():
        problems.labels(kind=kind).set(count)
    Gauge(
        "rodrunner_audit_last_run_timestamp_seconds",
        "When the last audit finished",
        registry=registry,
    ).set(now.timestamp())
    success = now.timestamp() if summary.ok else _previous_success(path)
    if success is not None:
        Gauge(
            LAST_SUCCESS, "When the last audit with no failing run finished", registry=registry
        ).set(success)
    write_to_textfile(str(path), registry)


def publish_audit_metrics(summary: AuditSummary, path: Path, *, now: datetime) -> bool:
    """:func:`write_audit_metrics`, logging ``audit.metrics_write_failed`` instead of raising
    (the audit itself stands); whether the file was written."""
    try:
        write_audit_metrics(summary, path, now=now)
    except OSError as exc:
        structlog.get_logger().error("audit.metrics_write_failed", path=str(path), error=str(exc))
        return False
    return True

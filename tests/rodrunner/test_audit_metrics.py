"""The audit's figures written as a Prometheus textfile (node_exporter's textfile collector)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import structlog
import structlog.testing
from prometheus_client.parser import text_string_to_metric_families

from rodrunner.audit import AuditRun, AuditSummary
from rodrunner.audit_metrics import publish_audit_metrics, write_audit_metrics

T1 = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
T2 = datetime(2026, 1, 3, 3, 0, tzinfo=UTC)


def samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a textfile."""
    text = path.read_text(encoding="utf-8")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def summary(*runs: AuditRun) -> AuditSummary:
    return AuditSummary(root="/z/home/u/sequencer", deep=True, complete=len(runs), runs=runs)


GOOD = AuditRun("/z/home/u/sequencer/novaseq/a", True)
BAD = AuditRun(
    "/z/home/u/sequencer/novaseq/b",
    False,
    ("missing x: gone", "storage y: differs", "storage z: differs"),
    ("missing", "storage", "storage"),
)


def test_a_clean_audit_writes_its_figures_and_the_success_time(tmp_path: Path) -> None:
    """checked, failing 0, no problem series, and both timestamps set to the audit's time."""
    path = tmp_path / "audit.prom"
    write_audit_metrics(summary(GOOD), path, now=T1)
    found = samples(path)
    assert found[("rodrunner_audit_runs_checked", ())] == 1
    assert found[("rodrunner_audit_runs_failing", ())] == 0
    assert found[("rodrunner_audit_last_run_timestamp_seconds", ())] == T1.timestamp()
    assert found[("rodrunner_audit_last_success_timestamp_seconds", ())] == T1.timestamp()
    assert not [k for k in found if k[0] == "rodrunner_audit_problems"]


def test_a_failing_audit_keeps_the_previous_success_time(tmp_path: Path) -> None:
    """Failing runs and problems per kind; the last success stays the earlier clean audit's."""
    path = tmp_path / "audit.prom"
    write_audit_metrics(summary(GOOD), path, now=T1)
    write_audit_metrics(summary(GOOD, BAD), path, now=T2)
    found = samples(path)
    assert found[("rodrunner_audit_runs_checked", ())] == 2
    assert found[("rodrunner_audit_runs_failing", ())] == 1
    assert found[("rodrunner_audit_problems", (("kind", "missing"),))] == 1
    assert found[("rodrunner_audit_problems", (("kind", "storage"),))] == 2
    assert found[("rodrunner_audit_last_run_timestamp_seconds", ())] == T2.timestamp()
    assert found[("rodrunner_audit_last_success_timestamp_seconds", ())] == T1.timestamp()
    assert [p.name for p in tmp_path.iterdir()] == ["audit.prom"]  # no temporary file left


def test_a_failing_first_audit_has_no_success_time(tmp_path: Path) -> None:
    """Without an earlier clean audit there is no last-success series at all."""
    path = tmp_path / "audit.prom"
    write_audit_metrics(summary(BAD), path, now=T1)
    names = {name for name, _ in samples(path)}
    assert "rodrunner_audit_last_success_timestamp_seconds" not in names
    assert "rodrunner_audit_runs_failing" in names


def test_an_unwritable_file_is_logged_not_raised(tmp_path: Path) -> None:
    """A directory that does not exist: audit.metrics_write_failed naming the file, no error."""
    path = tmp_path / "missing" / "audit.prom"
    structlog.reset_defaults()
    with structlog.testing.capture_logs() as logs:
        assert publish_audit_metrics(summary(GOOD), path, now=T1) is False
    [event] = [e for e in logs if e["event"] == "audit.metrics_write_failed"]
    assert event["path"] == str(path)
    assert not path.parent.exists()

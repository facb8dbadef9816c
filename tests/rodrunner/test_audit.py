"""Which runs an audit picks and the figures it reports (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rodrunner.audit import AuditRun, AuditSummary, Candidate, collection_root, select_due
from rodrunner.notify import format_audit_message

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def test_collection_root_is_the_template_above_the_first_per_run_part() -> None:
    """The default template gives /zone/home/user/sequencer; a run-id-only one its parent."""
    default = "/{zone}/home/{user}/sequencer/{sequencer_type}/{run_id}"
    assert collection_root(default, zone="z", user="u") == "/z/home/u/sequencer"
    assert collection_root("/z/archive/run_{run_id}", zone="z", user="u") == "/z/archive"
    assert collection_root("/{zone}/{run_id}", zone="z", user="u") == "/z"


def test_never_verified_first_then_oldest_within_the_limit() -> None:
    """Runs never verified come first, then the longest unverified; fresh ones are not due."""
    runs = [
        Candidate("/z/fresh", NOW - timedelta(hours=1)),
        Candidate("/z/old", NOW - timedelta(days=10)),
        Candidate("/z/older", NOW - timedelta(days=20)),
        Candidate("/z/never"),
    ]
    due = select_due(runs, now=NOW, max_age_days=3, limit=None)
    assert [c.collection for c in due] == ["/z/never", "/z/older", "/z/old"]
    assert [c.collection for c in select_due(runs, now=NOW, max_age_days=3, limit=2)] == [
        "/z/never",
        "/z/older",
    ]


def test_without_max_age_every_run_is_due() -> None:
    """max_age null audits every complete run, every time."""
    runs = [Candidate("/z/a", NOW), Candidate("/z/b")]
    assert [c.collection for c in select_due(runs, now=NOW, max_age_days=None, limit=None)] == [
        "/z/b",
        "/z/a",
    ]


def summary() -> AuditSummary:
    return AuditSummary(
        root="/z/home/u/sequencer",
        deep=True,
        complete=5,
        runs=(
            AuditRun("/z/home/u/sequencer/novaseq/A", True, verified_at="2026-12-06T03:00:00Z"),
            AuditRun(
                "/z/home/u/sequencer/novaseq/B",
                False,
                ("storage x.cbcl: mismatch", "missing y.cbcl: no data object in iRODS"),
                ("missing", "storage"),
            ),
        ),
    )


def test_summary_figures_for_an_exporter() -> None:
    """checked, failing and problems count runs and problems; by_kind counts kinds."""
    result = summary()
    assert (result.checked, result.failing, result.problems, result.ok) == (2, 1, 2, False)
    assert result.by_kind() == {"missing": 1, "storage": 1}
    data = result.as_dict()
    assert (data["checked"], data["failing"], data["problems"]) == (2, 1, 2)
    assert data["runs"][1]["kinds"] == ["missing", "storage"]


def test_audit_message_names_each_failing_run_and_its_problems() -> None:
    """The mail lists only the failing runs, each problem on its own line, and the next step."""
    title, body = format_audit_message(summary())
    assert "1 run(s) NOT WHOLE" in title
    assert "/z/home/u/sequencer/novaseq/B:" in body
    assert "  storage x.cbcl: mismatch" in body
    assert "novaseq/A" not in body
    assert "rodrunner verify COLLECTION --deep" in body

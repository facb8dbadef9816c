"""rodrunner's read model of the daemon's ledger, against a ledger the daemon's own code wrote."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from rodrunner.errors import LedgerUnavailableError, LedgerViewError, RunConflictError
from rodrunner.ledger_view import RETRYABLE, STATES, LedgerView
from rodrunnerd.ledger import Ledger
from rodrunnerd.states import RETRYABLE_BY_OPERATOR, RunState


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A daemon ledger with a failed run, an ingested one and one in flight."""
    led = Ledger.open(tmp_path)
    for name, path in (("RUN_A", "/seq/novaseq/RUN_A"), ("RUN_B", "/seq/miseq/RUN_B")):
        led.observe(path, name, path.split("/")[2])
        led.transition(path, RunState.QUEUED)
        led.transition(path, RunState.SUBMITTED, flow_run_id=f"fr-{name}")
    led.transition("/seq/novaseq/RUN_A", RunState.FAILED, error="iRODS said no")
    led.transition("/seq/miseq/RUN_B", RunState.RUNNING)
    led.observe("/seq/miseq/RUN_C", "RUN_C", "miseq")
    with led:
        yield led


def test_states_and_retryable_match_the_daemon() -> None:
    """The read model's state names and retryable set are the daemon's."""
    assert set(STATES) == {s.value for s in RunState}
    assert {s.value for s in RETRYABLE_BY_OPERATOR} == RETRYABLE


def test_missing_ledger_is_unavailable_and_never_created(tmp_path: Path) -> None:
    """No ledger file: LedgerUnavailableError naming daemon.state_dir; nothing is created."""
    view = LedgerView(tmp_path / "state")
    assert not view.exists()
    with pytest.raises(LedgerUnavailableError, match=r"daemon\.state_dir"):
        view.list()
    assert not (tmp_path / "state").exists()


def test_list_get_and_history_read_what_the_daemon_wrote(ledger: Ledger, tmp_path: Path) -> None:
    """Pages, state filter, lookup by run id or folder, and the transition history."""
    view = LedgerView(tmp_path)
    total, page = view.list(limit=2)
    assert total == 3
    assert [e.run_id for e in page] == ["RUN_A", "RUN_B"]
    assert view.list(offset=2)[1][0].run_id == "RUN_C"
    assert [e.run_id for e in view.list("failed")[1]] == ["RUN_A"]
    entry = view.get("RUN_A")
    assert entry is not None
    assert (entry.state, entry.attempts, entry.last_error) == ("failed", 1, "iRODS said no")
    assert entry.flow_run_id == "fr-RUN_A"
    assert view.get("/seq/novaseq/RUN_A") == entry
    assert view.get("NOPE") is None
    steps = [(t.from_state, t.to_state) for t in view.history(entry.run_dir)]
    assert steps == [(None, "seen"), ("seen", "queued"), ("queued", "submitted"),
                     ("submitted", "failed")]  # fmt: skip


def test_retry_makes_the_daemons_transition(ledger: Ledger, tmp_path: Path) -> None:
    """A failed run goes to queued with attempts reset; the daemon's Ledger sees it so."""
    view = LedgerView(tmp_path)
    entry = view.retry("RUN_A")
    assert entry is not None
    assert (entry.state, entry.attempts, entry.next_attempt_at) == ("queued", 0, None)
    record = ledger.get("RUN_A")
    assert record is not None
    assert record.state is RunState.QUEUED
    assert ledger.history("RUN_A")[-1][:2] == ("failed", "queued")
    assert ledger.history("RUN_A")[-1][3] == "operator"
    ledger.transition(record.run_dir, RunState.SUBMITTED)  # the daemon carries on from there


def test_retry_of_a_busy_or_unknown_run(ledger: Ledger, tmp_path: Path) -> None:
    """A running run is a conflict naming its state; an unknown one is None."""
    view = LedgerView(tmp_path)
    with pytest.raises(RunConflictError, match="running"):
        view.retry("RUN_B")
    assert view.retry("NOPE") is None
    record = ledger.get("RUN_B")
    assert record is not None
    assert record.state is RunState.RUNNING


def test_an_ambiguous_run_id_is_a_conflict(ledger: Ledger, tmp_path: Path) -> None:
    """Two folders with one run id: a conflict naming both folders."""
    ledger.observe("/other/novaseq/RUN_A", "RUN_A", "novaseq")
    with pytest.raises(RunConflictError, match="/other/novaseq/RUN_A"):
        LedgerView(tmp_path).get("RUN_A")


def test_a_file_that_is_not_a_ledger(tmp_path: Path) -> None:
    """Garbage or a foreign database: LedgerViewError naming the file, not sqlite3's error."""
    (tmp_path / "ledger.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises(LedgerViewError, match=r"ledger\.sqlite3"):
        LedgerView(tmp_path).ping()
    (tmp_path / "ledger.sqlite3").unlink()
    sqlite3.connect(tmp_path / "ledger.sqlite3").close()
    with pytest.raises(LedgerViewError, match="cannot be read"):
        LedgerView(tmp_path).ping()

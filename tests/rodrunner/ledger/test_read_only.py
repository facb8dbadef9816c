"""The ledger opened read-only (the API, `rodrunnerd status`, the safe-to-delete gate) against real
SQLite files the read-write ledger wrote."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from rodrunner.errors import (
    AmbiguousRunError,
    IllegalTransitionError,
    LedgerError,
    LedgerReadOnlyError,
    LedgerSchemaError,
    LedgerUnavailableError,
    RunConflictError,
)
from rodrunner.ledger.connection import ledger_file
from rodrunner.ledger.schema import LEDGER_FILE, MIGRATIONS, SCHEMA_VERSION
from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger
from rodrunnerd.lock import StateLock


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A read-write ledger with a failed run, one in flight and one just seen."""
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


def test_a_missing_ledger_is_unavailable_and_never_created(tmp_path: Path) -> None:
    """No ledger file: LedgerUnavailableError naming daemon.state_dir; nothing is created."""
    with pytest.raises(LedgerUnavailableError, match=r"daemon\.state_dir"):
        Ledger.open_read_only(tmp_path / "state")
    assert not (tmp_path / "state").exists()
    assert not ledger_file(tmp_path / "state").exists()


def test_reads_what_the_writer_wrote(ledger: Ledger, tmp_path: Path) -> None:
    """Pages, the state filter, lookup by run id or folder, counts and the history."""
    with Ledger.open_read_only(tmp_path) as reader:
        assert reader.read_only
        total, page = reader.page(limit=2)
        assert total == 3
        assert [r.run_id for r in page] == ["RUN_A", "RUN_B"]
        assert [r.run_id for r in reader.page(offset=2)[1]] == ["RUN_C"]
        assert [r.run_id for r in reader.page(RunState.FAILED)[1]] == ["RUN_A"]
        record = reader.get("RUN_A")
        assert record is not None
        assert (record.state, record.attempts, record.last_error) == (
            RunState.FAILED,
            1,
            "iRODS said no",
        )
        assert record.flow_run_id == "fr-RUN_A"
        assert reader.get("/seq/novaseq/RUN_A") == record
        assert reader.get("NOPE") is None
        assert reader.counts()[RunState.RUNNING] == 1
        steps = [(t.from_state, t.to_state) for t in reader.history(record.run_dir)]
    assert steps == [(None, "seen"), ("seen", "queued"), ("queued", "submitted"),
                     ("submitted", "failed")]  # fmt: skip


def test_every_write_is_refused_and_nothing_changes(ledger: Ledger, tmp_path: Path) -> None:
    """observe, transition, note_problem, retry and forget raise LedgerReadOnlyError naming the
    file; the writer's records stay as they were."""
    before = ledger.list()
    with Ledger.open_read_only(tmp_path) as reader:
        writes = [
            lambda: reader.observe("/seq/miseq/RUN_D", "RUN_D", "miseq"),
            lambda: reader.transition("/seq/novaseq/RUN_A", RunState.QUEUED),
            lambda: reader.note_problem("/seq/miseq/RUN_C", "a problem"),
            lambda: reader.retry("RUN_A"),
            lambda: reader.forget("RUN_C"),
        ]
        for write in writes:
            with pytest.raises(LedgerReadOnlyError, match=LEDGER_FILE):
                write()
    assert ledger.list() == before


def test_readable_while_a_daemon_holds_the_lock_and_writes(ledger: Ledger, tmp_path: Path) -> None:
    """The state directory's lock and an open write transaction do not stop a reader."""
    lock = StateLock.acquire(tmp_path)
    daemon = sqlite3.connect(ledger_file(tmp_path), isolation_level=None)
    try:
        daemon.execute("BEGIN IMMEDIATE")  # a write the daemon has not committed yet
        daemon.execute("UPDATE runs SET attempts = 9 WHERE run_id = 'RUN_C'")
        with Ledger.open_read_only(tmp_path) as reader:
            record = reader.get("RUN_C")
        daemon.execute("COMMIT")
        assert record is not None
        assert record.attempts == 0  # the reader sees the last committed state
        with Ledger.open_read_only(tmp_path) as reader:
            assert reader.get("RUN_C").attempts == 9  # type: ignore[union-attr]
    finally:
        daemon.close()
        lock.release()


def test_opening_read_only_does_not_migrate(tmp_path: Path) -> None:
    """A ledger at an older schema is refused with the fix named, and left at that schema."""
    db = sqlite3.connect(ledger_file(tmp_path))
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with pytest.raises(LedgerSchemaError, match="start rodrunnerd once"):
        Ledger.open_read_only(tmp_path)
    db = sqlite3.connect(ledger_file(tmp_path))
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    db.close()
    assert SCHEMA_VERSION > 1


def test_a_file_that_is_not_a_ledger(tmp_path: Path) -> None:
    """Garbage or a foreign database: LedgerError naming the file, not sqlite3's error."""
    ledger_file(tmp_path).write_bytes(b"not a database at all" * 100)
    with pytest.raises(LedgerError, match=r"ledger\.sqlite3"):
        Ledger.open_read_only(tmp_path)
    ledger_file(tmp_path).unlink()
    sqlite3.connect(ledger_file(tmp_path)).close()
    with pytest.raises(LedgerSchemaError, match="cannot be read"):
        Ledger.open_read_only(tmp_path)


def test_a_busy_or_ambiguous_request_is_a_conflict(ledger: Ledger, tmp_path: Path) -> None:
    """A running run cannot be retried (a conflict naming its state); an ambiguous run id is a
    conflict naming both folders."""
    with pytest.raises(IllegalTransitionError, match="running") as caught:
        ledger.retry("RUN_B")
    assert isinstance(caught.value, RunConflictError)
    assert "can be retried" in str(caught.value)
    ledger.observe("/other/novaseq/RUN_A", "RUN_A", "novaseq")
    with Ledger.open_read_only(tmp_path) as reader, pytest.raises(AmbiguousRunError) as ambiguous:
        reader.get("RUN_A")
    assert isinstance(ambiguous.value, RunConflictError)
    assert "/other/novaseq/RUN_A" in str(ambiguous.value)


def test_a_bare_name_is_never_resolved_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name without '/' is a run id, whatever folder the reader runs in; a name with one is
    a folder, a relative one taken from the working directory."""
    root = tmp_path / "root"
    (root / "RUN_X").mkdir(parents=True)
    with Ledger.open(tmp_path / "state") as writer:
        writer.observe(str(root / "RUN_X"), "OTHER_ID", "miseq")
        writer.observe("/seq/miseq/RUN_Y", "RUN_X", "miseq")
    monkeypatch.chdir(root)
    with Ledger.open_read_only(tmp_path / "state") as reader:
        by_id = reader.get("RUN_X")
        by_path = reader.get(f".{os.sep}RUN_X")
        by_untidy_path = reader.get(f"{root}{os.sep}{os.sep}RUN_X{os.sep}")
    assert by_id is not None
    assert by_id.run_dir == "/seq/miseq/RUN_Y"
    assert by_path is not None
    assert by_path.run_id == "OTHER_ID"
    assert by_untidy_path == by_path

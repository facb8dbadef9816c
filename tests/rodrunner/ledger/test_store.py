"""The ledger against real SQLite files in temporary directories."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from rodrunner.errors import (
    AmbiguousRunError,
    IllegalTransitionError,
    LedgerError,
    LedgerSchemaError,
    UnknownRunError,
)
from rodrunner.ledger.schema import LEDGER_FILE, MIGRATIONS, SCHEMA_VERSION
from rodrunner.ledger.states import ALLOWED_TRANSITIONS, RunState
from rodrunner.ledger.store import Ledger

S = RunState
RUN = "/seq/miseq/240101_M00001_0001_000000000-ABCDE"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """An open ledger in a fresh state directory."""
    with Ledger.open(tmp_path / "state") as opened:
        yield opened


def _walk(ledger: Ledger, *states: RunState) -> None:
    for state in states:
        ledger.transition(RUN, state)


def test_observe_inserts_seen_once(ledger: Ledger) -> None:
    """A new run folder is recorded as seen; observing it again returns the same record."""
    first = ledger.observe(RUN, "240101_M00001_0001_000000000-ABCDE", "miseq")
    assert first.state is S.SEEN
    assert first.attempts == 0
    ledger.transition(RUN, S.SETTLING)
    again = ledger.observe(RUN, "other-id", "novaseq")
    assert again.state is S.SETTLING
    assert again.run_id == "240101_M00001_0001_000000000-ABCDE"
    assert len(ledger.list()) == 1


def test_happy_path_and_history(ledger: Ledger) -> None:
    """seen to ingested records every step, the flow run id and the completion key."""
    ledger.observe(RUN, "r1", "miseq")
    ledger.transition(RUN, S.SETTLING)
    ledger.transition(RUN, S.QUEUED, completion_key="k1", trigger_mtime=5.0)
    ledger.transition(RUN, S.SUBMITTED, flow_run_id="fr-1")
    ledger.transition(RUN, S.RUNNING)
    done = ledger.transition(RUN, S.INGESTED)
    assert done.state is S.INGESTED
    assert done.flow_run_id == "fr-1"
    assert done.completion_key == "k1"
    assert done.trigger_mtime == 5.0
    steps = [to for _, to, _, _ in ledger.history("r1")]
    assert steps == ["seen", "settling", "queued", "submitted", "running", "ingested"]


@pytest.mark.parametrize("from_state", list(S))
@pytest.mark.parametrize("to_state", list(S))
def test_transition_table_is_enforced(tmp_path: Path, from_state: S, to_state: S) -> None:
    """Every pair of states is allowed exactly when the table says so."""
    with Ledger.open(tmp_path) as ledger:
        ledger.observe(RUN, "r1", "miseq")
        # Force the starting state directly: the table itself is under test.
        db = sqlite3.connect(tmp_path / LEDGER_FILE)
        with db:
            db.execute("UPDATE runs SET state = ?", (from_state.value,))
        db.close()
        if to_state in ALLOWED_TRANSITIONS[from_state]:
            assert ledger.transition(RUN, to_state).state is to_state
        else:
            with pytest.raises(IllegalTransitionError):
                ledger.transition(RUN, to_state)
            assert ledger.get(RUN) is not None
            assert ledger.get(RUN).state is from_state  # type: ignore[union-attr]


def test_illegal_transition_names_both_states(ledger: Ledger) -> None:
    """The error of an illegal transition names the run, the current and the wanted state."""
    ledger.observe(RUN, "r1", "miseq")
    with pytest.raises(IllegalTransitionError) as caught:
        ledger.transition(RUN, S.INGESTED)
    message = str(caught.value)
    assert "'seen'" in message
    assert "'ingested'" in message
    assert RUN in message
    assert caught.value.from_state == "seen"
    assert caught.value.to_state == "ingested"


def test_transition_of_unknown_run_raises(ledger: Ledger) -> None:
    """A transition of a folder never observed is an UnknownRunError."""
    with pytest.raises(UnknownRunError, match="rodrunnerd status"):
        ledger.transition("/nowhere", S.QUEUED)


def test_failure_counts_attempts_and_backoff(ledger: Ledger) -> None:
    """Each failure counts one attempt; due_for_retry honours backoff and max_attempts."""
    ledger.observe(RUN, "r1", "miseq")
    _walk(ledger, S.QUEUED, S.SUBMITTED)
    failed = ledger.transition(RUN, S.FAILED, error="iRODS down", next_attempt_at=100.0)
    assert failed.attempts == 1
    assert failed.last_error == "iRODS down"
    assert ledger.due_for_retry(now=99.0, max_attempts=3) == []
    assert [r.run_dir for r in ledger.due_for_retry(now=100.0, max_attempts=3)] == [RUN]
    assert ledger.due_for_retry(now=100.0, max_attempts=1) == []
    requeued = ledger.transition(RUN, S.QUEUED)
    assert requeued.next_attempt_at is None
    assert requeued.last_error == "iRODS down"
    _walk(ledger, S.SUBMITTED)
    assert ledger.transition(RUN, S.FAILED, error="again").attempts == 2
    _walk(ledger, S.QUEUED, S.SUBMITTED, S.RUNNING)
    done = ledger.transition(RUN, S.INGESTED)
    assert done.last_error is None
    assert done.attempts == 3  # two failed attempts and the one that succeeded
    assert ledger.transition(RUN, S.QUEUED).attempts == 0


def test_retry_and_forget_by_run_id_or_folder(ledger: Ledger) -> None:
    """Operators name a run by folder or id; retry requeues with attempts reset; forget drops."""
    ledger.observe(RUN, "r1", "miseq")
    _walk(ledger, S.QUEUED, S.SUBMITTED)
    ledger.transition(RUN, S.FAILED, error="boom", next_attempt_at=1e12)
    retried = ledger.retry("r1")
    assert retried.state is S.QUEUED
    assert retried.attempts == 0
    assert retried.next_attempt_at is None
    with pytest.raises(IllegalTransitionError, match="'queued'"):
        ledger.retry(RUN)
    assert ledger.forget(RUN) is True
    assert ledger.get("r1") is None
    assert ledger.forget("r1") is False
    with pytest.raises(UnknownRunError):
        ledger.retry("r1")


def test_submission_stores_the_metadata_run_id_and_notes_the_change(ledger: Ledger) -> None:
    """The run id given at submission is the one lookups, lists and reopening see; the folder
    still finds the run; the history row of the submission names both ids."""
    ledger.observe(RUN, "renamed-folder", "miseq")
    _walk(ledger, S.QUEUED)
    ledger.transition(RUN, S.SUBMITTED, run_id="240101_M00001")
    assert ledger.get("renamed-folder") is None
    assert ledger.get("240101_M00001") == ledger.get(RUN)
    assert [r.run_id for r in ledger.list()] == ["240101_M00001"]
    steps = ledger.history(RUN)
    assert steps[-1].error == (
        "run id '240101_M00001' from the run's metadata (was 'renamed-folder')"
    )
    assert steps[-1].to_state is S.SUBMITTED


def test_ambiguous_run_id(ledger: Ledger) -> None:
    """A run id shared by two folders is refused with both folders named."""
    ledger.observe("/a/run", "same", "miseq")
    ledger.observe("/b/run", "same", "miseq")
    with pytest.raises(AmbiguousRunError, match="/a/run, /b/run"):
        ledger.get("same")
    assert ledger.get("/b/run") is not None


def test_persists_across_reopen_in_wal_mode(tmp_path: Path) -> None:
    """State survives closing and reopening; the file is in WAL mode at the current schema."""
    with Ledger.open(tmp_path) as ledger:
        ledger.observe(RUN, "r1", "miseq")
        ledger.transition(RUN, S.QUEUED, completion_key="key")
    with Ledger.open(tmp_path) as ledger:
        record = ledger.get(RUN)
        assert record is not None
        assert record.state is S.QUEUED
        assert record.completion_key == "key"
        assert ledger.schema_version == SCHEMA_VERSION
        assert ledger.counts()[S.QUEUED] == 1
        assert ledger.counts()[S.SEEN] == 0
    db = sqlite3.connect(tmp_path / LEDGER_FILE)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_migrates_a_version_one_file(tmp_path: Path) -> None:
    """A ledger at schema 1 is migrated forward and keeps its rows."""
    db = sqlite3.connect(tmp_path / LEDGER_FILE)
    db.executescript(MIGRATIONS[0])
    db.execute(
        "INSERT INTO runs VALUES (?, 'r1', 'miseq', 'ingested', 1, NULL, NULL, NULL, NULL, "
        "NULL, 1.0, 1.0)",
        (RUN,),
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Ledger.open(tmp_path) as ledger:
        assert ledger.schema_version == SCHEMA_VERSION
        assert ledger.get("r1").state is S.INGESTED  # type: ignore[union-attr]
        ledger.transition(RUN, S.QUEUED)
        assert [to for _, to, _, _ in ledger.history(RUN)] == ["queued"]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A ledger written by a newer rodrunnerd is refused with the fix named."""
    db = sqlite3.connect(tmp_path / LEDGER_FILE)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(LedgerSchemaError, match="upgrade rodrunnerd"):
        Ledger.open(tmp_path)


def test_not_a_database_is_a_ledger_error(tmp_path: Path) -> None:
    """A file that is not SQLite gives a LedgerError naming the file."""
    (tmp_path / LEDGER_FILE).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LedgerError, match=LEDGER_FILE):
        Ledger.open(tmp_path)


def test_open_without_create_needs_the_file(tmp_path: Path) -> None:
    """create=False refuses a missing ledger instead of making one."""
    with pytest.raises(LedgerError, match="no ledger"):
        Ledger.open(tmp_path / "absent", create=False)
    assert not (tmp_path / "absent").exists()


def test_concurrent_threads_and_second_connection(tmp_path: Path) -> None:
    """Many threads on one ledger and a second connection on the file lose no update."""
    runs = [f"/seq/run{i}" for i in range(40)]
    with Ledger.open(tmp_path) as ledger, Ledger.open(tmp_path) as other:
        errors: list[BaseException] = []

        def work(handle: Ledger, chunk: list[str]) -> None:
            try:
                for run in chunk:
                    handle.observe(run, run.rsplit("/", 1)[1], "miseq")
                    handle.transition(run, S.QUEUED)
                    handle.transition(run, S.SUBMITTED, flow_run_id=run)
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [
            threading.Thread(target=work, args=(ledger if i % 2 else other, runs[i::4]))
            for i in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert ledger.counts()[S.SUBMITTED] == len(runs)
        assert {r.flow_run_id for r in other.list([S.SUBMITTED])} == set(runs)


def test_closed_ledger_raises_ledger_error(tmp_path: Path) -> None:
    """Using a closed ledger is a LedgerError, not a raw sqlite3 error."""
    ledger = Ledger.open(tmp_path)
    ledger.close()
    with pytest.raises(LedgerError):
        ledger.list()


def test_note_problem_says_why_a_run_waits_without_changing_its_state(ledger: Ledger) -> None:
    """A readiness problem is kept as last_error in the same state; None clears it."""
    ledger.observe("/seq/p", "p", "miseq")
    noted = ledger.note_problem("/seq/p", "completion indicator is a directory")
    assert noted.state is RunState.SEEN
    assert noted.last_error == "completion indicator is a directory"
    assert ledger.note_problem("/seq/p", None).last_error is None


def test_forced_survives_reopen_until_the_run_is_ingested(tmp_path: Path) -> None:
    """A forced submission is kept across a reopen (a restart) and cleared once ingested."""
    with Ledger.open(tmp_path) as ledger:
        ledger.observe(RUN, "r1", "miseq")
        ledger.transition(RUN, S.QUEUED, trigger_mtime=100.0, forced=True)
    with Ledger.open(tmp_path) as ledger:
        record = ledger.get(RUN)
        assert record is not None
        assert record.forced
        assert record.as_dict()["forced"] is True
        _walk(ledger, S.SUBMITTED, S.FAILED, S.QUEUED, S.SUBMITTED)
        assert ledger.get(RUN).forced  # type: ignore[union-attr]
        assert not ledger.transition(RUN, S.INGESTED).forced
        assert not ledger.transition(RUN, S.QUEUED, forced=False).forced


def test_migration_forces_runs_whose_trigger_is_newer_than_their_last_ingest(
    tmp_path: Path,
) -> None:
    """Upgrading a schema-2 ledger forces the waiting runs a trigger file queued, only them."""
    db = sqlite3.connect(tmp_path / LEDGER_FILE)
    db.executescript(MIGRATIONS[0] + MIGRATIONS[1])
    rows = [
        # run_dir, state, trigger_mtime, last ingested at (None: never ingested)
        ("/seq/first-trigger", "queued", 50.0, None),
        ("/seq/new-trigger", "submitted", 300.0, 200.0),
        ("/seq/old-trigger", "queued", 100.0, 200.0),
        ("/seq/no-trigger", "queued", None, None),
        ("/seq/done", "ingested", 300.0, 400.0),
    ]
    for run_dir, state, trigger, ingested_at in rows:
        db.execute(
            "INSERT INTO runs VALUES (?, ?, 'miseq', ?, 0, NULL, NULL, NULL, ?, NULL, 1.0, 1.0)",
            (run_dir, run_dir.rsplit("/", 1)[1], state, trigger),
        )
        if ingested_at is not None:
            db.execute(
                "INSERT INTO transitions (run_dir, from_state, to_state, at) "
                "VALUES (?, 'running', 'ingested', ?)",
                (run_dir, ingested_at),
            )
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    with Ledger.open(tmp_path) as ledger:
        forced = {r.run_dir for r in ledger.list() if r.forced}
    assert forced == {"/seq/first-trigger", "/seq/new-trigger"}


def test_any_file_name_is_kept_losslessly(tmp_path: Path) -> None:
    """A run folder whose name is not UTF-8 (or holds a newline) is stored, found and read
    back as the same str, and os.fsencode gives back the very bytes."""
    raw = os.path.join(os.fsencode(tmp_path), b"250101_M1_0001_caf\xe9\nx")
    run_dir = os.fsdecode(raw)
    name = os.path.basename(run_dir)
    with Ledger.open(tmp_path / "state") as ledger:
        ledger.observe(run_dir, name, "miseq")
        ledger.note_problem(run_dir, f"problem with {name}")
        rec = ledger.get(run_dir)
        assert rec is not None
        assert os.fsencode(rec.run_dir) == raw
        assert rec.run_id == name
        assert ledger.get(name) == rec
        assert [r.run_dir for r in ledger.list()] == [run_dir]
        ledger.transition(run_dir, RunState.SKIPPED)
        assert [h[1] for h in ledger.history(run_dir)] == ["seen", "skipped"]
        assert ledger.forget(run_dir)

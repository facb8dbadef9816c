"""The ledger store: one SQLite file of what the daemon decided about each run folder.

``daemon.state_dir/ledger.sqlite3`` (:mod:`rodrunner.ledger.schema`), WAL journal. With
:mod:`rodrunner.ledger.connection` (which opens the file and translates every sqlite3 error
into :class:`~rodrunner.errors.LedgerError`) the only module outside the sandbox that imports
:mod:`sqlite3`.

Two ways in:

- :meth:`Ledger.open`, read-write: creates and migrates the file as needed (the daemon), or
  with ``create=False`` only opens one that is there (``rodrunnerd retry|forget``, the API's
  retry);
- :meth:`Ledger.open_read_only`, read-only: never creates, never migrates, opens the file with
  ``mode=ro`` and refuses every write with :class:`~rodrunner.errors.LedgerReadOnlyError` (the
  API's reads, ``rodrunnerd status``, the safe-to-delete gate). It reads while a daemon holds the
  state directory's lock and writes.

One :class:`Ledger` is safe to share between threads (one connection, one lock), and several
processes may open the same file: every write is one ``BEGIN IMMEDIATE`` transaction and waits
up to :data:`~rodrunner.ledger.connection.BUSY_TIMEOUT` for the lock. What a change does to a
record is decided by the pure functions of :mod:`rodrunner.ledger.records`; this module only
reads and writes.
"""

from __future__ import annotations

import builtins
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from rodrunner.errors import AmbiguousRunError, LedgerReadOnlyError, UnknownRunError
from rodrunner.ledger import records
from rodrunner.ledger.connection import connect, connect_read_only, translate
from rodrunner.ledger.records import RunRecord, Transition
from rodrunner.ledger.schema import (
    COLUMNS,
    from_db,
    record_of,
    row_of,
    to_db,
    to_db_or_none,
)
from rodrunner.ledger.states import RunState

__all__ = ["Ledger"]


class Ledger:
    """The record of every run folder the daemon has seen (see the module docstring)."""

    def __init__(self, connection: sqlite3.Connection, path: Path, *, read_only: bool) -> None:
        self._db = connection
        self._lock = threading.RLock()
        self.path = path
        self.read_only = read_only

    @classmethod
    def open(cls, state_dir: Path | str, *, create: bool = True) -> Ledger:
        """Open ``state_dir/ledger.sqlite3`` read-write, migrating it as needed.

        Creates it (and ``state_dir``) when missing; with ``create=False`` a missing ledger
        raises :class:`~rodrunner.errors.LedgerUnavailableError` instead.
        """
        db, path = connect(state_dir, create=create)
        return cls(db, path, read_only=False)

    @classmethod
    def open_read_only(cls, state_dir: Path | str) -> Ledger:
        """Open ``state_dir/ledger.sqlite3`` read-only: nothing is created or migrated and
        every write raises :class:`~rodrunner.errors.LedgerReadOnlyError`.

        Raises :class:`~rodrunner.errors.LedgerUnavailableError` when there is no ledger,
        :class:`~rodrunner.errors.LedgerSchemaError` when its schema is not this rodrunner's.
        """
        db, path = connect_read_only(state_dir)
        return cls(db, path, read_only=True)

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        with self._lock, translate(self.path, read_only=self.read_only):
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Close the connection (checkpointing the WAL); further use raises LedgerError."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading and writing ------------------------------------------------------------------

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise LedgerReadOnlyError(
                f"ledger '{self.path}' is open read-only and cannot {what}; "
                "open it with Ledger.open (the daemon or rodrunnerd retry|forget) to change it"
            )
        with self._lock, translate(self.path):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock, translate(self.path, read_only=self.read_only):
            yield self._db

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[RunRecord]:
        with self._reading() as db:
            rows = db.execute(sql, tuple(params)).fetchall()
        return [record_of(row) for row in rows]

    @staticmethod
    def _row(db: sqlite3.Connection, run_dir: str) -> RunRecord | None:
        row = db.execute(
            f"SELECT {COLUMNS} FROM runs WHERE run_dir = ?",  # noqa: S608
            (to_db(run_dir),),
        ).fetchone()
        return None if row is None else record_of(row)

    def _find(self, db: sqlite3.Connection, run: str) -> RunRecord:
        """The run named by folder (:func:`~rodrunner.ledger.records.lookup_keys`) or run id."""
        for candidate in records.lookup_keys(run):
            record = self._row(db, candidate)
            if record is not None:
                return record
        rows = db.execute(
            f"SELECT {COLUMNS} FROM runs WHERE run_id = ? ORDER BY run_dir",  # noqa: S608
            (to_db(run),),
        ).fetchall()
        if len(rows) > 1:
            raise AmbiguousRunError(run, [from_db(row[0]) for row in rows])
        if not rows:
            raise UnknownRunError(run)
        return record_of(rows[0])

    @staticmethod
    def _save(
        db: sqlite3.Connection,
        record: RunRecord,
        step: Transition,
        *,
        insert: bool = False,
        flow_run_id: str | None = None,
    ) -> None:
        """Write ``record`` and its history row ``step`` (inside a write transaction)."""
        marks = ", ".join("?" * len(COLUMNS.split(",")))
        verb = "INSERT" if insert else "REPLACE"
        db.execute(f"{verb} INTO runs ({COLUMNS}) VALUES ({marks})", row_of(record))
        db.execute(
            "INSERT INTO transitions (run_dir, from_state, to_state, error, flow_run_id, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                to_db(record.run_dir),
                None if step.from_state is None else step.from_state.value,
                step.to_state.value,
                to_db_or_none(step.error),
                flow_run_id,
                step.at,
            ),
        )

    def observe(self, run_dir: str, run_id: str, sequencer_type: str) -> RunRecord:
        """Insert ``run_dir`` as ``seen`` if unknown; return its record either way."""
        with self._write("observe a run") as db:
            existing = self._row(db, run_dir)
            if existing is not None:
                return existing
            record, step = records.new_record(run_dir, run_id, sequencer_type, time.time())
            self._save(db, record, step, insert=True)
        return record

    def transition(
        self,
        run_dir: str,
        to: RunState,
        *,
        error: str | None = None,
        flow_run_id: str | None = None,
        completion_key: str | None = None,
        trigger_mtime: float | None = None,
        next_attempt_at: float | None = None,
        forced: bool | None = None,
        run_id: str | None = None,
    ) -> RunRecord:
        """Move ``run_dir`` to state ``to`` (:func:`rodrunner.ledger.records.transition`);
        ``run_id`` renames the run (its metadata's id, given at submission).

        Raises :class:`~rodrunner.errors.IllegalTransitionError` naming both states,
        :class:`~rodrunner.errors.UnknownRunError` for a folder never observed.
        """
        with self._write(f"move a run to {to}") as db:
            current = self._row(db, run_dir)
            if current is None:
                raise UnknownRunError(run_dir)
            record, step = records.transition(
                current,
                to,
                now=time.time(),
                error=error,
                flow_run_id=flow_run_id,
                completion_key=completion_key,
                trigger_mtime=trigger_mtime,
                next_attempt_at=next_attempt_at,
                forced=forced,
                run_id=run_id,
            )
            self._save(db, record, step, flow_run_id=flow_run_id)
        return record

    def note_problem(self, run_dir: str, problem: str | None) -> RunRecord:
        """Store why a run waits (a problem readiness reported) as its ``last_error``; the
        state does not change. ``None`` clears a problem that went away."""
        with self._write("note a problem") as db:
            current = self._row(db, run_dir)
            if current is None:
                raise UnknownRunError(run_dir)
            db.execute(
                "UPDATE runs SET last_error = ?, updated_at = ? WHERE run_dir = ?",
                (to_db_or_none(problem), time.time(), to_db(run_dir)),
            )
            record = self._row(db, run_dir)
        assert record is not None
        return record

    def retry(self, run: str) -> RunRecord:
        """Operator: put a failed, ingested, skipped, conflict or released run back to
        ``queued``, attempts reset (:func:`rodrunner.ledger.records.operator_retry`).

        Raises :class:`~rodrunner.errors.UnknownRunError`, or
        :class:`~rodrunner.errors.IllegalTransitionError` for a run the daemon is working on.
        """
        with self._write("retry a run") as db:
            record, step = records.operator_retry(self._find(db, run), now=time.time())
            self._save(db, record, step)
        return record

    def forget(self, run: str) -> bool:
        """Operator: drop ``run`` (and its history); ``False`` when it was not known.

        The next scan sees the folder as new; iRODS status then decides whether it is
        ingested again.
        """
        with self._write("forget a run") as db:
            try:
                current = self._find(db, run)
            except UnknownRunError:
                return False
            db.execute("DELETE FROM runs WHERE run_dir = ?", (to_db(current.run_dir),))
            db.execute("DELETE FROM transitions WHERE run_dir = ?", (to_db(current.run_dir),))
        return True

    def get(self, run: str) -> RunRecord | None:
        """The record of ``run`` (a run folder or a run id), or ``None``.

        Raises :class:`~rodrunner.errors.AmbiguousRunError` when a run id names several
        folders.
        """
        with self._reading() as db:
            try:
                return self._find(db, run)
            except UnknownRunError:
                return None

    def list(self, states: Iterable[RunState] | None = None) -> list[RunRecord]:
        """Every record (or those in ``states``), oldest first."""
        if states is None:
            return self._read(f"SELECT {COLUMNS} FROM runs ORDER BY created_at, run_dir")  # noqa: S608
        wanted = [RunState(s).value for s in states]
        if not wanted:
            return []
        marks = ", ".join("?" * len(wanted))
        return self._read(
            f"SELECT {COLUMNS} FROM runs WHERE state IN ({marks}) "  # noqa: S608
            "ORDER BY created_at, run_dir",
            wanted,
        )

    def page(
        self, state: RunState | None = None, *, limit: int = 100, offset: int = 0
    ) -> tuple[int, builtins.list[RunRecord]]:
        """``(total, page)`` of the runs (in ``state`` if given), oldest first."""
        where, params = ("WHERE state = ?", [RunState(state).value]) if state else ("", [])
        with self._reading() as db:
            total = int(
                db.execute(f"SELECT COUNT(*) FROM runs {where}", params).fetchone()[0]  # noqa: S608
            )
        items = self._read(
            f"SELECT {COLUMNS} FROM runs {where} "  # noqa: S608
            "ORDER BY created_at, run_dir LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return total, items

    def due_for_retry(self, now: float, max_attempts: int) -> builtins.list[RunRecord]:
        """Failed runs with attempts left whose backoff has passed at ``now``."""
        return self._read(
            f"SELECT {COLUMNS} FROM runs WHERE state = ? AND attempts < ? "  # noqa: S608
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
            "ORDER BY next_attempt_at, run_dir",
            (RunState.FAILED.value, max_attempts, now),
        )

    def counts(self) -> dict[RunState, int]:
        """How many runs are in each state (every state present, zeros included)."""
        with self._reading() as db:
            rows = db.execute("SELECT state, COUNT(*) FROM runs GROUP BY state").fetchall()
        counts = dict.fromkeys(RunState, 0)
        for state, count in rows:
            counts[RunState(state)] = count
        return counts

    def history(self, run: str) -> builtins.list[Transition]:
        """``(from, to, at, error)`` of every transition of ``run``, oldest first."""
        with self._reading() as db:
            record = self._find(db, run)
            rows = db.execute(
                "SELECT from_state, to_state, at, error FROM transitions WHERE run_dir = ? "
                "ORDER BY id",
                (to_db(record.run_dir),),
            ).fetchall()
        return [
            Transition(_state(row[0]), RunState(row[1]), row[2], from_db(row[3])) for row in rows
        ]


def _state(value: str | None) -> RunState | None:
    return None if value is None else RunState(value)

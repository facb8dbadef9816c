"""The ledger: one SQLite file of what the daemon decided about each run folder.

``daemon.state_dir/ledger.sqlite3``, WAL journal, versioned schema (``PRAGMA user_version``
plus the ordered :data:`MIGRATIONS`). The only module that imports :mod:`sqlite3`; every
sqlite3 error is translated into :class:`~rodrunnerd.errors.LedgerError` in :func:`_translate`.

One :class:`Ledger` is safe to share between threads (one connection, one lock), and several
processes may open the same file (the daemon and ``rodrunnerd retry`` at the same time): every
write is one ``BEGIN IMMEDIATE`` transaction and waits up to :data:`BUSY_TIMEOUT` for the lock.

Run folders and names are kept losslessly: any name the filesystem allows, UTF-8 or not
(a name that is not UTF-8 is stored as its raw bytes, see :func:`_db`).

The ledger is a cache of decisions: iRODS status wins on conflict.
"""

from __future__ import annotations

import builtins
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import structlog

from rodrunnerd.errors import (
    AmbiguousRunError,
    IllegalTransitionError,
    LedgerError,
    LedgerSchemaError,
    UnknownRunError,
)
from rodrunnerd.states import ALLOWED_TRANSITIONS, RETRYABLE_BY_OPERATOR, RunState

__all__ = [
    "ALLOWED_TRANSITIONS",
    "LEDGER_FILE",
    "Ledger",
    "RunRecord",
    "RunState",
]

LEDGER_FILE = "ledger.sqlite3"
BUSY_TIMEOUT = 30.0
"""Seconds a writer waits for another process's transaction before giving up."""

MIGRATIONS: tuple[str, ...] = (
    # 1: one row per run folder.
    """
    CREATE TABLE runs (
        run_dir         TEXT PRIMARY KEY,
        run_id          TEXT NOT NULL,
        sequencer_type  TEXT NOT NULL,
        state           TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        flow_run_id     TEXT,
        completion_key  TEXT,
        trigger_mtime   REAL,
        next_attempt_at REAL,
        created_at      REAL NOT NULL,
        updated_at      REAL NOT NULL
    );
    CREATE INDEX runs_state ON runs (state);
    CREATE INDEX runs_run_id ON runs (run_id);
    """,
    # 2: the history of every transition, for `rodrunnerd status` and post-mortems.
    """
    CREATE TABLE transitions (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        run_dir     TEXT NOT NULL,
        from_state  TEXT,
        to_state    TEXT NOT NULL,
        error       TEXT,
        flow_run_id TEXT,
        at          REAL NOT NULL
    );
    CREATE INDEX transitions_run_dir ON transitions (run_dir);
    """,
    # 3: the operator's trigger file forced the pending submission (it must survive a
    # restart). Runs already waiting are forced when their handled trigger is newer than
    # their last ingest (or they were never ingested: a first trigger always forces).
    """
    ALTER TABLE runs ADD COLUMN forced INTEGER NOT NULL DEFAULT 0;
    UPDATE runs SET forced = 1
     WHERE trigger_mtime IS NOT NULL
       AND state IN ('queued', 'submitted', 'running', 'failed')
       AND trigger_mtime > COALESCE(
           (SELECT MAX(t.at) FROM transitions t
             WHERE t.run_dir = runs.run_dir AND t.to_state = 'ingested'), 0);
    """,
)
"""Schema migrations in order; ``user_version`` is how many have been applied."""

SCHEMA_VERSION = len(MIGRATIONS)

# The column list and "?" placeholders are the only things formatted into SQL (S608 below):
# constants of this module, never values.
_COLUMNS = (
    "run_dir, run_id, sequencer_type, state, attempts, last_error, flow_run_id, "
    "completion_key, trigger_mtime, next_attempt_at, created_at, updated_at, forced"
)

log = structlog.get_logger()


@dataclass(frozen=True)
class RunRecord:
    """One run folder as the ledger knows it."""

    run_dir: str
    run_id: str
    sequencer_type: str
    state: RunState
    attempts: int
    last_error: str | None
    flow_run_id: str | None
    completion_key: str | None
    trigger_mtime: float | None
    next_attempt_at: float | None
    created_at: float
    updated_at: float
    forced: bool = False
    """The pending submission was asked for by the trigger file (flow parameter ``force``)."""

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (state as its string value)."""
        return {
            "run_dir": self.run_dir,
            "run_id": self.run_id,
            "sequencer_type": self.sequencer_type,
            "state": self.state.value,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "flow_run_id": self.flow_run_id,
            "completion_key": self.completion_key,
            "trigger_mtime": self.trigger_mtime,
            "next_attempt_at": self.next_attempt_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "forced": self.forced,
        }


def _db(value: str) -> str | bytes:
    """A path or name as SQLite keeps it losslessly: TEXT when it is UTF-8, else its raw bytes
    (``os.fsencode``) as a BLOB; :func:`_py` turns either back into the same ``str``."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(value)
    return value


def _dbn(value: str | None) -> str | bytes | None:
    return None if value is None else _db(value)


def _py(value: Any) -> Any:
    return os.fsdecode(value) if isinstance(value, bytes) else value


def _record(row: tuple[Any, ...]) -> RunRecord:
    return RunRecord(
        run_dir=_py(row[0]),
        run_id=_py(row[1]),
        sequencer_type=row[2],
        state=RunState(row[3]),
        attempts=row[4],
        last_error=_py(row[5]),
        flow_run_id=row[6],
        completion_key=_py(row[7]),
        trigger_mtime=row[8],
        next_attempt_at=row[9],
        created_at=row[10],
        updated_at=row[11],
        forced=bool(row[12]),
    )


@contextmanager
def _translate(path: Path) -> Iterator[None]:
    """Turn sqlite3's errors into LedgerError naming the file and the likely fix."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise LedgerError(
                f"ledger '{path}' stayed locked by another process for {BUSY_TIMEOUT:.0f} s; "
                "is a command holding it open?"
            ) from exc
        raise LedgerError(
            f"ledger '{path}' cannot be used: {text}; check that daemon.state_dir is a "
            "writable local directory"
        ) from exc
    except sqlite3.ProgrammingError as exc:
        raise LedgerError(f"ledger '{path}' is closed or misused: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise LedgerError(
            f"ledger '{path}' is damaged or not a ledger ({exc}); move it aside and restart "
            "(the daemon rebuilds it from the share and iRODS)"
        ) from exc


class Ledger:
    """The daemon's record of every run folder it has seen (see the module docstring)."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self._lock = threading.RLock()
        self.path = path

    @classmethod
    def open(cls, state_dir: Path, *, create: bool = True) -> Ledger:
        """Open (creating and migrating as needed) ``state_dir/ledger.sqlite3``.

        With ``create=False`` a missing ledger raises :class:`LedgerError` instead.
        """
        state_dir = Path(state_dir)
        path = state_dir / LEDGER_FILE
        if not create and not path.is_file():
            raise LedgerError(
                f"no ledger at '{path}'; has rodrunnerd run with this configuration "
                "(daemon.state_dir)?"
            )
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(
                f"cannot create daemon.state_dir '{state_dir}': {exc.strerror}; "
                "create it or point daemon.state_dir at a writable directory"
            ) from None
        with _translate(path):
            db = sqlite3.connect(
                path,
                timeout=BUSY_TIMEOUT,
                isolation_level=None,  # we issue BEGIN ourselves
                check_same_thread=False,  # guarded by the ledger's lock
            )
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA foreign_keys=ON")
                ledger = cls(db, path)
                ledger._migrate()
            except BaseException:
                db.close()
                raise
        return ledger

    def _migrate(self) -> None:
        with self._lock, _translate(self.path):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise LedgerSchemaError(
                        f"ledger '{self.path}' has schema version {version} but this "
                        f"rodrunnerd knows up to {SCHEMA_VERSION}; upgrade rodrunnerd "
                        "or restore the ledger from before the upgrade"
                    )
                for number in range(version, SCHEMA_VERSION):
                    for statement in MIGRATIONS[number].split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    log.info("ledger.migrated", path=str(self.path), schema_version=number + 1)
                # PRAGMA takes no parameters; the value is our own integer.
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        with self._lock, _translate(self.path):
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

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock, _translate(self.path):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[RunRecord]:
        with self._lock, _translate(self.path):
            rows = self._db.execute(sql, tuple(params)).fetchall()
        return [_record(row) for row in rows]

    def _row(self, db: sqlite3.Connection, run_dir: str) -> RunRecord | None:
        row = db.execute(
            f"SELECT {_COLUMNS} FROM runs WHERE run_dir = ?",  # noqa: S608
            (_db(run_dir),),
        ).fetchone()
        return None if row is None else _record(row)

    def _find(self, db: sqlite3.Connection, run: str) -> RunRecord:
        """The run named by folder (as given or made absolute) or by run id."""
        for candidate in dict.fromkeys((run, os.path.abspath(run))):
            record = self._row(db, candidate)
            if record is not None:
                return record
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM runs WHERE run_id = ? ORDER BY run_dir",  # noqa: S608
            (_db(run),),
        ).fetchall()
        if len(rows) > 1:
            raise AmbiguousRunError(run, [_py(row[0]) for row in rows])
        if not rows:
            raise UnknownRunError(run)
        return _record(rows[0])

    def _history(
        self,
        db: sqlite3.Connection,
        run_dir: str,
        from_state: RunState | None,
        to_state: RunState,
        now: float,
        error: str | None = None,
        flow_run_id: str | None = None,
    ) -> None:
        db.execute(
            "INSERT INTO transitions (run_dir, from_state, to_state, error, flow_run_id, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (_db(run_dir), from_state, to_state, _dbn(error), flow_run_id, now),
        )

    def observe(self, run_dir: str, run_id: str, sequencer_type: str) -> RunRecord:
        """Insert ``run_dir`` as ``seen`` if unknown; return its record either way."""
        now = time.time()
        with self._write() as db:
            existing = self._row(db, run_dir)
            if existing is not None:
                return existing
            db.execute(
                f"INSERT INTO runs ({_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, 0, NULL, NULL, NULL, NULL, NULL, ?, ?, 0)",
                (_db(run_dir), _db(run_id), sequencer_type, RunState.SEEN, now, now),
            )
            self._history(db, run_dir, None, RunState.SEEN, now)
            record = self._row(db, run_dir)
        assert record is not None
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
    ) -> RunRecord:
        """Move ``run_dir`` to state ``to`` if the table allows it.

        Keyword values given replace the stored ones; ``None`` keeps them, except:
        entering ``failed`` counts an attempt and stores ``error``; entering ``ingested`` from
        ``submitted``/``running`` counts the attempt that succeeded; entering ``ingested`` or
        ``skipped`` clears ``last_error`` and ``forced``; leaving ``failed`` clears
        ``next_attempt_at``; leaving ``ingested`` or ``skipped`` (a new completion) resets
        ``attempts``.
        Raises :class:`IllegalTransitionError` naming both states, :class:`UnknownRunError`
        for a folder never observed.
        """
        to = RunState(to)
        now = time.time()
        with self._write() as db:
            current = self._row(db, run_dir)
            if current is None:
                raise UnknownRunError(run_dir)
            if to not in ALLOWED_TRANSITIONS[current.state]:
                raise IllegalTransitionError(run_dir, current.state.value, to.value)
            attempts = current.attempts
            last_error = current.last_error if error is None else error
            next_at = current.next_attempt_at
            if current.state in (RunState.INGESTED, RunState.SKIPPED):
                attempts = 0
            if current.state is RunState.FAILED and to is not RunState.FAILED:
                next_at = None
            if to is RunState.FAILED and current.state is not RunState.FAILED:
                attempts += 1
            if to is RunState.INGESTED and current.state in (RunState.SUBMITTED, RunState.RUNNING):
                attempts += 1  # the attempt that succeeded counts too
                last_error = error or current.last_error or "failed without a reason"
            is_forced = current.forced if forced is None else forced
            if to in (RunState.INGESTED, RunState.SKIPPED):
                last_error = error
                is_forced = False
            if next_attempt_at is not None:
                next_at = next_attempt_at
            db.execute(
                "UPDATE runs SET state = ?, attempts = ?, last_error = ?, "
                "flow_run_id = COALESCE(?, flow_run_id), "
                "completion_key = COALESCE(?, completion_key), "
                "trigger_mtime = COALESCE(?, trigger_mtime), next_attempt_at = ?, "
                "updated_at = ?, forced = ? WHERE run_dir = ?",
                (
                    to,
                    attempts,
                    _dbn(last_error),
                    flow_run_id,
                    _dbn(completion_key),
                    trigger_mtime,
                    next_at,
                    now,
                    int(is_forced),
                    _db(run_dir),
                ),
            )
            self._history(db, run_dir, current.state, to, now, error, flow_run_id)
            record = self._row(db, run_dir)
        assert record is not None
        return record

    def note_problem(self, run_dir: str, problem: str | None) -> RunRecord:
        """Store why a run waits (a problem readiness reported) as its ``last_error``; the
        state does not change. ``None`` clears a problem that went away."""
        with self._write() as db:
            current = self._row(db, run_dir)
            if current is None:
                raise UnknownRunError(run_dir)
            db.execute(
                "UPDATE runs SET last_error = ?, updated_at = ? WHERE run_dir = ?",
                (_dbn(problem), time.time(), _db(run_dir)),
            )
            record = self._row(db, run_dir)
        assert record is not None
        return record

    def get(self, run: str) -> RunRecord | None:
        """The record of ``run`` (a run folder or a run id), or ``None``.

        Raises :class:`AmbiguousRunError` when a run id names several folders.
        """
        with self._lock, _translate(self.path):
            try:
                return self._find(self._db, run)
            except UnknownRunError:
                return None

    def list(self, states: Iterable[RunState] | None = None) -> list[RunRecord]:
        """Every record (or those in ``states``), oldest first."""
        if states is None:
            return self._read(
                f"SELECT {_COLUMNS} FROM runs ORDER BY created_at, run_dir"  # noqa: S608
            )
        wanted = [RunState(s).value for s in states]
        if not wanted:
            return []
        marks = ", ".join("?" * len(wanted))
        return self._read(
            f"SELECT {_COLUMNS} FROM runs WHERE state IN ({marks}) "  # noqa: S608
            "ORDER BY created_at, run_dir",
            wanted,
        )

    def due_for_retry(self, now: float, max_attempts: int) -> builtins.list[RunRecord]:
        """Failed runs with attempts left whose backoff has passed at ``now``."""
        return self._read(
            f"SELECT {_COLUMNS} FROM runs WHERE state = ? AND attempts < ? "  # noqa: S608
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
            "ORDER BY next_attempt_at, run_dir",
            (RunState.FAILED, max_attempts, now),
        )

    def counts(self) -> dict[RunState, int]:
        """How many runs are in each state (every state present, zeros included)."""
        with self._lock, _translate(self.path):
            rows = self._db.execute("SELECT state, COUNT(*) FROM runs GROUP BY state").fetchall()
        counts = dict.fromkeys(RunState, 0)
        for state, count in rows:
            counts[RunState(state)] = count
        return counts

    def history(self, run: str) -> builtins.list[tuple[str | None, str, float, str | None]]:
        """``(from, to, at, error)`` of every transition of ``run``, oldest first."""
        with self._lock, _translate(self.path):
            record = self._find(self._db, run)
            rows = self._db.execute(
                "SELECT from_state, to_state, at, error FROM transitions WHERE run_dir = ? "
                "ORDER BY id",
                (_db(record.run_dir),),
            ).fetchall()
        return [(row[0], row[1], row[2], _py(row[3])) for row in rows]

    def retry(self, run: str) -> RunRecord:
        """Operator: put a failed, ingested or skipped run back to ``queued``, attempts reset.

        Raises :class:`UnknownRunError`, or :class:`IllegalTransitionError` for a run the
        daemon is already working on.
        """
        now = time.time()
        with self._write() as db:
            current = self._find(db, run)
            if current.state not in RETRYABLE_BY_OPERATOR:
                raise IllegalTransitionError(
                    current.run_dir, current.state.value, RunState.QUEUED.value
                )
            db.execute(
                "UPDATE runs SET state = ?, attempts = 0, next_attempt_at = NULL, "
                "updated_at = ? WHERE run_dir = ?",
                (RunState.QUEUED, now, _db(current.run_dir)),
            )
            self._history(db, current.run_dir, current.state, RunState.QUEUED, now, "operator")
            record = self._row(db, current.run_dir)
        assert record is not None
        return record

    def forget(self, run: str) -> bool:
        """Operator: drop ``run`` (and its history); ``False`` when it was not known.

        The next scan sees the folder as new; iRODS status then decides whether it is
        ingested again.
        """
        with self._write() as db:
            try:
                current = self._find(db, run)
            except UnknownRunError:
                return False
            db.execute("DELETE FROM runs WHERE run_dir = ?", (_db(current.run_dir),))
            db.execute("DELETE FROM transitions WHERE run_dir = ?", (_db(current.run_dir),))
        return True

"""The ledger file: its name, its schema with the ordered migrations, and how values are kept.

``<daemon.state_dir>/ledger.sqlite3``, versioned by ``PRAGMA user_version`` (how many of
:data:`MIGRATIONS` have been applied). No I/O here: the store runs these statements.

Run folders and names are kept losslessly: any name the filesystem allows, UTF-8 or not (a
name that is not UTF-8 is stored as its raw bytes, see :func:`to_db`).
"""

from __future__ import annotations

import os
from typing import Any

from rodrunner.ledger.records import RunRecord
from rodrunner.ledger.states import RunState

__all__ = [
    "COLUMNS",
    "LEDGER_FILE",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "from_db",
    "record_of",
    "row_of",
    "to_db",
    "to_db_or_none",
]

LEDGER_FILE = "ledger.sqlite3"
"""The ledger's file name in ``daemon.state_dir``."""

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

# The column list and "?" placeholders are the only things formatted into SQL (the store's
# S608 ignores): constants of this module, never values.
COLUMNS = (
    "run_dir, run_id, sequencer_type, state, attempts, last_error, flow_run_id, "
    "completion_key, trigger_mtime, next_attempt_at, created_at, updated_at, forced"
)


def to_db(value: str) -> str | bytes:
    """A path or name as SQLite keeps it losslessly: TEXT when it is UTF-8, else its raw bytes
    (``os.fsencode``) as a BLOB; :func:`from_db` turns either back into the same ``str``."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(value)
    return value


def to_db_or_none(value: str | None) -> str | bytes | None:
    """:func:`to_db`, ``None`` kept."""
    return None if value is None else to_db(value)


def from_db(value: Any) -> Any:
    """A value as stored back to Python: raw bytes (a name that is not UTF-8) to ``str``."""
    return os.fsdecode(value) if isinstance(value, bytes) else value


def record_of(row: tuple[Any, ...]) -> RunRecord:
    """The record of one ``SELECT {COLUMNS}`` row."""
    return RunRecord(
        run_dir=from_db(row[0]),
        run_id=from_db(row[1]),
        sequencer_type=row[2],
        state=RunState(row[3]),
        attempts=row[4],
        last_error=from_db(row[5]),
        flow_run_id=row[6],
        completion_key=from_db(row[7]),
        trigger_mtime=row[8],
        next_attempt_at=row[9],
        created_at=row[10],
        updated_at=row[11],
        forced=bool(row[12]),
    )


def row_of(record: RunRecord) -> tuple[Any, ...]:
    """The values of :data:`COLUMNS` for ``record``, as stored."""
    return (
        to_db(record.run_dir),
        to_db(record.run_id),
        record.sequencer_type,
        record.state.value,
        record.attempts,
        to_db_or_none(record.last_error),
        record.flow_run_id,
        to_db_or_none(record.completion_key),
        record.trigger_mtime,
        record.next_attempt_at,
        record.created_at,
        record.updated_at,
        int(record.forced),
    )

"""A read model of the daemon's ledger, for rodrunner (the REST API) without importing rodrunnerd.

The daemon (``rodrunnerd.ledger``) owns ``<daemon.state_dir>/ledger.sqlite3`` and its schema:
a ``runs`` table (one row per run folder) and a ``transitions`` table (its history). This
module opens that file read-only (``file:...?mode=ro``) for every read and never creates it.

One write is allowed, the operator's retry, and it is the same transition the daemon's
``Ledger.retry`` makes, in one ``BEGIN IMMEDIATE`` transaction: a ``failed``, ``ingested`` or
``skipped`` run goes back to ``queued`` with its attempts reset, and a ``transitions`` row
says ``operator``. The daemon's loop submits queued runs, so it picks the retry up. Keep
:data:`RETRYABLE` and the SQL of :meth:`LedgerView.retry` in step with ``rodrunnerd.ledger``.
"""

from __future__ import annotations

import builtins
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import structlog

from rodrunner.errors import LedgerUnavailableError, LedgerViewError, RunConflictError
from rodrunner.names import shown

__all__ = ["LEDGER_FILE", "RETRYABLE", "STATES", "LedgerView", "RunEntry", "Transition"]

LEDGER_FILE = "ledger.sqlite3"
STATES = (
    "seen",
    "settling",
    "queued",
    "submitted",
    "running",
    "ingested",
    "failed",
    "skipped",
    "incomplete",
    "conflict",
)
"""The daemon's run states (``rodrunnerd.states.RunState``), in life order."""
RETRYABLE = frozenset({"failed", "ingested", "skipped", "conflict"})
"""States an operator may send back to ``queued`` (``rodrunnerd.states.RETRYABLE_BY_OPERATOR``)."""
BUSY_TIMEOUT = 10.0

# Constants of this module, never values, are the only text formatted into SQL (S608 below).
_COLUMNS = (
    "run_dir, run_id, sequencer_type, state, attempts, last_error, flow_run_id, "
    "next_attempt_at, created_at, updated_at"
)

log = structlog.get_logger()


@dataclass(frozen=True)
class RunEntry:
    """One run folder as the daemon's ledger knows it."""

    run_dir: str
    run_id: str
    sequencer_type: str
    state: str
    attempts: int
    last_error: str | None
    flow_run_id: str | None
    next_attempt_at: float | None
    created_at: float
    updated_at: float

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return asdict(self)


@dataclass(frozen=True)
class Transition:
    """One state change of a run."""

    from_state: str | None
    to_state: str
    at: float
    error: str | None


def _text(value: Any) -> Any:
    """The daemon keeps a name that is not UTF-8 as raw bytes; readers get it escaped."""
    return shown(os.fsdecode(value)) if isinstance(value, bytes) else value


def _entry(row: tuple[Any, ...]) -> RunEntry:
    return RunEntry(*(_text(v) for v in row))


class LedgerView:
    """The daemon's ledger at ``state_dir``, read-only but for :meth:`retry`."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LEDGER_FILE

    def exists(self) -> bool:
        """Whether the daemon has created its ledger there."""
        return self.path.is_file()

    @contextmanager
    def _connect(self, mode: str) -> Iterator[sqlite3.Connection]:
        if not self.exists():
            raise LedgerUnavailableError(
                f"no ledger at '{self.path}'; is rodrunnerd running with this configuration "
                "(daemon.state_dir)?"
            )
        uri = f"{self.path.resolve().as_uri()}?mode={mode}"
        try:
            with closing(
                sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)
            ) as db:
                yield db
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise RunConflictError(
                    f"ledger '{self.path}' stayed locked for {BUSY_TIMEOUT:.0f} s; try again"
                ) from None
            raise LedgerViewError(
                f"ledger '{self.path}' cannot be read ({text}); check that the API's user may "
                "read daemon.state_dir and the ledger files in it"
            ) from None
        except sqlite3.DatabaseError as exc:
            raise LedgerViewError(
                f"ledger '{self.path}' is damaged or not a rodrunnerd ledger ({exc})"
            ) from None

    def ping(self) -> int:
        """How many runs the ledger holds; raises :class:`LedgerUnavailableError`."""
        with self._connect("ro") as db:
            return int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def list(
        self, state: str | None = None, *, limit: int = 100, offset: int = 0
    ) -> tuple[int, list[RunEntry]]:
        """``(total, page)`` of runs (in ``state`` if given), oldest first."""
        where, params = ("WHERE state = ?", [state]) if state else ("", [])
        with self._connect("ro") as db:
            total = int(
                db.execute(f"SELECT COUNT(*) FROM runs {where}", params).fetchone()[0]  # noqa: S608
            )
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM runs {where} "  # noqa: S608
                "ORDER BY created_at, run_dir LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
        return total, [_entry(row) for row in rows]

    @staticmethod
    def _find(db: sqlite3.Connection, run: str) -> RunEntry | None:
        """The run named by run id or run folder; RunConflictError when the id is ambiguous."""
        row = db.execute(
            f"SELECT {_COLUMNS} FROM runs WHERE run_dir = ?",  # noqa: S608
            (os.path.normpath(run) if run.startswith("/") else run,),
        ).fetchone()
        if row is not None:
            return _entry(row)
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM runs WHERE run_id = ? ORDER BY run_dir",  # noqa: S608
            (run,),
        ).fetchall()
        if len(rows) > 1:
            folders = ", ".join(r[0] for r in rows)
            raise RunConflictError(
                f"run id {run!r} names several run folders ({folders}); name the folder instead"
            )
        return _entry(rows[0]) if rows else None

    def get(self, run: str) -> RunEntry | None:
        """The run named by run id (or run folder), or None."""
        with self._connect("ro") as db:
            return self._find(db, run)

    def history(self, run_dir: str) -> builtins.list[Transition]:
        """Every transition of ``run_dir``, oldest first."""
        with self._connect("ro") as db:
            rows = db.execute(
                "SELECT from_state, to_state, at, error FROM transitions WHERE run_dir = ? "
                "ORDER BY id",
                (run_dir,),
            ).fetchall()
        return [Transition(*(_text(v) for v in row)) for row in rows]

    def retry(self, run: str) -> RunEntry | None:
        """Send a failed, ingested or skipped run back to ``queued`` (as ``rodrunnerd retry``).

        None for an unknown run; :class:`RunConflictError` for a run the daemon is working on.
        """
        now = time.time()
        with self._connect("rw") as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                current = self._find(db, run)
                if current is None:
                    db.execute("ROLLBACK")
                    return None
                if current.state not in RETRYABLE:
                    raise RunConflictError(
                        f"run {current.run_id!r} ({current.run_dir}) is {current.state}; only "
                        f"{', '.join(sorted(RETRYABLE))} runs can be retried"
                    )
                db.execute(
                    "UPDATE runs SET state = 'queued', attempts = 0, next_attempt_at = NULL, "
                    "updated_at = ? WHERE run_dir = ?",
                    (now, current.run_dir),
                )
                db.execute(
                    "INSERT INTO transitions (run_dir, from_state, to_state, error, flow_run_id, "
                    "at) VALUES (?, ?, 'queued', 'operator', NULL, ?)",
                    (current.run_dir, current.state, now),
                )
                updated = self._find(db, current.run_dir)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        log.info("run.retry_requested", run_id=current.run_id, run_dir=current.run_dir)
        return updated

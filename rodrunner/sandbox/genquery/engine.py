"""The sandbox's GenQuery engine: one query page on an ``sqlite3`` connection.

The open statements (``continueInx``) live in a :class:`Statements` table of the connection, as
in a real agent: 50 slots, ``continueInx`` = slot + 1, the lowest free slot taken first, a slot
freed by a page with fewer than ``maxRows`` rows, a continuation that finds none
(CAT_NO_ROWS_FOUND) or a close (``maxRows`` 0). Closing a statement the agent does not hold is
a no-op (status 0); *continuing* one raises :class:`StatementLost` (a real agent dies there).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from rodrunner.sandbox.genquery.model import (
    AUTO_CLOSE,
    CAT_INVALID_ARGUMENT,
    CAT_NO_ROWS_FOUND,
    CAT_STATEMENT_TABLE_FULL,
    MAX_NUM_OF_CONCURRENT_STMTS,
    RETURN_TOTAL_ROW_COUNT,
    GenQuery,
    Site,
    SqlQuery,
)
from rodrunner.sandbox.genquery.output import format_value, render_out
from rodrunner.sandbox.genquery.sql import build_sql
from rodrunner.sandbox.protocol import SandboxError


@dataclass
class _Cursor:
    sql: SqlQuery
    next_offset: int


class StatementLost(Exception):
    """A continuation (``maxRows`` > 0) names a statement this connection does not hold."""


class Statements:
    """One connection's (agent's) open GenQuery statements: slot ``continueInx - 1``."""

    def __init__(self) -> None:
        self._slots: dict[int, _Cursor] = {}

    def open(self, cursor: _Cursor) -> int:
        """Keep ``cursor`` in the lowest free slot; its ``continueInx``."""
        for slot in range(MAX_NUM_OF_CONCURRENT_STMTS):
            if slot not in self._slots:
                self._slots[slot] = cursor
                return slot + 1
        raise SandboxError(
            CAT_STATEMENT_TABLE_FULL,
            f"{MAX_NUM_OF_CONCURRENT_STMTS} GenQuery statements are open on this connection; "
            "close them (maxRows 0) or read them to the end",
        )

    def get(self, inx: int) -> _Cursor | None:
        """The statement of ``continueInx`` ``inx`` (None if not held)."""
        return self._slots.get(inx - 1)

    def close(self, inx: int) -> None:
        """Free the slot of ``continueInx`` ``inx`` (nothing if it is free)."""
        self._slots.pop(inx - 1, None)

    def __len__(self) -> int:
        return len(self._slots)


@dataclass(frozen=True)
class GenQueryResult:
    """What to send back: the status for ``intInfo`` and the ``GenQueryOut_PI`` body."""

    status: int
    body: bytes


class GenQueryEngine:
    """Runs GenQueries on the catalog; statements are kept per connection (``Statements``)."""

    def __init__(self, site: Site | None = None) -> None:
        self.site = site or Site()

    def run(
        self, db: sqlite3.Connection, query: GenQuery, statements: Statements
    ) -> GenQueryResult:
        """Answer one ``GenQueryInp_PI`` (first page, next page or close).

        Raises :class:`StatementLost` for a continuation of a statement ``statements`` does
        not hold (a real agent dies there).
        """
        slot = query.continue_index
        if slot > 0:
            if query.max_rows <= 0:
                statements.close(slot)
                return GenQueryResult(0, render_out((), ()))
            cursor = statements.get(slot)
            if cursor is None:
                raise StatementLost(f"continueInx {slot} is not a statement of this connection")
            sql, offset = cursor.sql, cursor.next_offset
        else:
            if query.max_rows <= 0:
                return GenQueryResult(0, render_out((), ()))
            sql, offset = build_sql(query, self.site), max(query.offset, 0)
        total = 0
        if query.options & RETURN_TOTAL_ROW_COUNT:
            total = int(
                db.execute(f"SELECT count(*) FROM ({sql.sql})", sql.params).fetchone()[0]  # noqa: S608 - built by build_sql
            )
        try:
            raw = db.execute(
                f"{sql.sql} LIMIT ? OFFSET ?", (*sql.params, query.max_rows, offset)
            ).fetchall()
        except sqlite3.Error as exc:  # a value the catalog cannot compare, e.g. a bad pattern
            if slot > 0:
                statements.close(slot)
            raise SandboxError(CAT_INVALID_ARGUMENT, f"GenQuery failed: {exc}") from exc
        # Like the server, a full page keeps the statement open (it cannot know whether more
        # rows follow); the continuation that finds none frees it with CAT_NO_ROWS_FOUND.
        more = len(raw) == query.max_rows
        rows = [
            [format_value(inx, v) for inx, v in zip(sql.columns, row, strict=True)] for row in raw
        ]
        continue_index = 0
        if more and not query.options & AUTO_CLOSE:
            if slot > 0:
                cursor = statements.get(slot)
                assert cursor is not None
                cursor.next_offset = offset + query.max_rows
                continue_index = slot
            else:
                continue_index = statements.open(_Cursor(sql, offset + query.max_rows))
        elif slot > 0:
            statements.close(slot)  # the last page frees the statement
        if not rows:
            return GenQueryResult(CAT_NO_ROWS_FOUND, render_out((), ()))
        return GenQueryResult(
            0,
            render_out(sql.columns, rows, continue_index=continue_index, total_row_count=total),
        )

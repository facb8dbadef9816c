"""Opening the ledger file: read-write (created and migrated) or read-only, and sqlite3's
errors translated, in one place, into :class:`~rodrunner.errors.LedgerError`.

With :mod:`rodrunner.ledger.store` the only modules outside the sandbox that import
:mod:`sqlite3`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

from rodrunner.errors import (
    LedgerBusyError,
    LedgerError,
    LedgerSchemaError,
    LedgerUnavailableError,
)
from rodrunner.ledger.schema import LEDGER_FILE, MIGRATIONS, SCHEMA_VERSION

__all__ = ["BUSY_TIMEOUT", "connect", "connect_read_only", "ledger_file", "translate"]

BUSY_TIMEOUT = 30.0
"""Seconds a writer waits for another process's transaction before giving up."""

log = structlog.get_logger()


def ledger_file(state_dir: Path | str) -> Path:
    """Where the ledger of ``daemon.state_dir`` is (whether or not it is there yet)."""
    return Path(state_dir) / LEDGER_FILE


def _unavailable(path: Path) -> LedgerUnavailableError:
    return LedgerUnavailableError(
        f"no ledger at '{path}'; has rodrunnerd run with this configuration (daemon.state_dir)?"
    )


@contextmanager
def translate(path: Path, *, read_only: bool = False) -> Iterator[None]:
    """Turn sqlite3's errors into LedgerError naming the file and the likely fix."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise LedgerBusyError(
                f"ledger '{path}' stayed locked by another process for {BUSY_TIMEOUT:.0f} s; "
                "is a command holding it open? try again"
            ) from exc
        fix = (
            "check that this user may read daemon.state_dir and the ledger files in it"
            if read_only
            else "check that daemon.state_dir is a writable local directory"
        )
        raise LedgerError(f"ledger '{path}' cannot be used: {text}; {fix}") from exc
    except sqlite3.ProgrammingError as exc:
        raise LedgerError(f"ledger '{path}' is closed or misused: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise LedgerError(
            f"ledger '{path}' is damaged or not a ledger ({exc}); move it aside and restart "
            "(the daemon rebuilds it from the share and iRODS)"
        ) from exc


def connect(state_dir: Path | str, *, create: bool = True) -> tuple[sqlite3.Connection, Path]:
    """A read-write connection to the ledger of ``state_dir``, migrated to this schema.

    Creates the file (and ``state_dir``) when missing; with ``create=False`` a missing ledger
    raises :class:`~rodrunner.errors.LedgerUnavailableError` instead.
    """
    state_dir = Path(state_dir)
    path = ledger_file(state_dir)
    if not create and not path.is_file():
        raise _unavailable(path)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LedgerError(
            f"cannot create daemon.state_dir '{state_dir}': {exc.strerror}; "
            "create it or point daemon.state_dir at a writable directory"
        ) from None
    with translate(path):
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
            _migrate(db, path)
        except BaseException:
            db.close()
            raise
    return db, path


def connect_read_only(state_dir: Path | str) -> tuple[sqlite3.Connection, Path]:
    """A read-only (``mode=ro``) connection to the ledger of ``state_dir``: nothing is
    created or migrated.

    Raises :class:`~rodrunner.errors.LedgerUnavailableError` when there is no ledger,
    :class:`~rodrunner.errors.LedgerSchemaError` when its schema is not this rodrunner's.
    """
    path = ledger_file(state_dir)
    if not path.is_file():
        raise _unavailable(path)
    with translate(path, read_only=True):
        db = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro",
            uri=True,
            timeout=BUSY_TIMEOUT,
            isolation_level=None,
            check_same_thread=False,  # guarded by the ledger's lock
        )
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
        except BaseException:
            db.close()
            raise
    if version != SCHEMA_VERSION:
        db.close()
        fix = (
            "upgrade rodrunner"
            if version > SCHEMA_VERSION
            else "start rodrunnerd once to migrate it, or check that daemon.state_dir "
            "holds a rodrunnerd ledger"
        )
        raise LedgerSchemaError(
            f"ledger '{path}' cannot be read: it has schema version {version} and this "
            f"rodrunner reads {SCHEMA_VERSION}; {fix}"
        )
    return db, path


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations the file lacks, in one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise LedgerSchemaError(
                f"ledger '{path}' has schema version {version} but this "
                f"rodrunnerd knows up to {SCHEMA_VERSION}; upgrade rodrunnerd "
                "or restore the ledger from before the upgrade"
            )
        for number in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    db.execute(statement)
            log.info("ledger.migrated", path=str(path), schema_version=number + 1)
        # PRAGMA takes no parameters; the value is our own integer.
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise

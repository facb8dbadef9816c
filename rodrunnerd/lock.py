"""One daemon per ledger: an exclusive ``flock`` on ``daemon.state_dir/rodrunnerd.lock``.

The daemon takes the lock before it opens the ledger and holds it for its whole life; the
kernel drops it when the process ends, however it ends (a SIGKILL leaves no stale lock). The
holder writes ``pid=<pid> host=<host> since=<ISO time>`` into the file so that a second daemon
can say who holds it. ``rodrunnerd status|retry|forget`` and the API do not take it: they read
or make single transactions, which SQLite orders.

A lock file on NFS is only as good as the server's lock manager: keep ``daemon.state_dir`` on a
local disk (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from rodrunner.errors import LedgerError, LedgerLockedError

__all__ = ["LOCK_FILE", "StateLock"]

LOCK_FILE = "rodrunnerd.lock"


class StateLock:
    """The exclusive lock of one state directory, held from :meth:`acquire` to :meth:`release`."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, state_dir: Path) -> StateLock:
        """Take the lock of ``state_dir`` (created if needed) without waiting.

        Raises :class:`LedgerLockedError` naming the holder when another process has it,
        :class:`LedgerError` when the directory or file cannot be used.
        """
        state_dir = Path(state_dir)
        path = state_dir / LOCK_FILE
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise LedgerError(
                f"cannot open the lock file '{path}': {exc.strerror}; point daemon.state_dir "
                "at a writable local directory"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read(fd) or "an unknown process"
            os.close(fd)
            raise LedgerLockedError(
                f"another rodrunnerd ({holder}) already runs on daemon.state_dir "
                f"'{state_dir}'; only one daemon may use a ledger. Stop that one first "
                "(systemctl stop rodrunnerd), or give this one its own daemon.state_dir"
            ) from None
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on host {socket.gethostname()} since {now}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        """Let go of the lock (the file stays: removing it would race a new holder)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""

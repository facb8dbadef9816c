"""The state directory's lock: one holder at a time, named to the next one."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from rodrunner.errors import LedgerLockedError
from rodrunnerd.lock import LOCK_FILE, StateLock


def test_a_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    """While one lock is held a second acquire raises, naming PID, host and the fix."""
    with StateLock.acquire(tmp_path / "state"):
        with pytest.raises(LedgerLockedError) as caught:
            StateLock.acquire(tmp_path / "state")
        message = str(caught.value)
        assert f"pid {os.getpid()}" in message
        assert socket.gethostname() in message
        assert "daemon.state_dir" in message


def test_the_lock_is_free_again_after_release(tmp_path: Path) -> None:
    """Released, the lock can be taken again; the file stays with the last holder's name."""
    StateLock.acquire(tmp_path).release()
    lock = StateLock.acquire(tmp_path)
    lock.release()
    assert (tmp_path / LOCK_FILE).read_text().startswith(f"pid {os.getpid()}")

"""A test that leaves a process running fails (a pytest plugin; tests/conftest.py loads it).

The test process (each pytest-xdist worker on its own) becomes a child subreaper: a process a
test started, even through a command that exited since (a detached server, a grandchild),
stays a descendant of it instead of going to init. After each test, every descendant that was
not there before it must exit within a grace period; one that does not is named, killed and
fails the test. At the end of the session the same holds for what session- and module-scoped
fixtures started (a session fixture that restarts its process during a test says so with
:func:`owned_by_session`). Zombies (exited, not yet reaped) do not count.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PR_SET_CHILD_SUBREAPER = 36
GRACE_SECONDS = 15.0

#: processes a session-scoped fixture (re)started during a test: not that test's leak
_session_owned: set[int] = set()


def owned_by_session(pid: int) -> None:
    """Count ``pid`` (and its descendants) as a session fixture's, even when a test restarted
    it: it is checked at the end of the session instead of after the test."""
    _session_owned.add(pid)


def become_subreaper() -> bool:
    """Orphaned descendants of this process are re-parented to it (Linux); True if it is."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        try:
            out.extend(
                int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            )
        except OSError:
            continue
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def descendants(pid: int | None = None) -> set[int]:
    """Running (not zombie) descendants of ``pid`` (default: this process)."""
    found: set[int] = set()
    todo = _children(os.getpid() if pid is None else pid)
    while todo:
        child = todo.pop()
        if child in found:
            continue
        found.add(child)
        todo.extend(_children(child))
    return {p for p in found if _running(p)}


def describe(pid: int) -> str:
    """``pid: command line`` of a process."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"{pid}: (gone)"
    command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    return f"{pid}: {command[:300]}"


def leftovers(before: set[int], grace: float = GRACE_SECONDS) -> dict[int, str]:
    """Descendants not in ``before`` still running after ``grace`` seconds, described."""
    deadline = time.monotonic() + grace
    new = descendants() - before - _session_resources()
    while new and time.monotonic() < deadline:
        time.sleep(0.1)
        new = {p for p in new if _running(p)}
    return {pid: describe(pid) for pid in sorted(new)}


def _session_resources() -> set[int]:
    alive = {pid for pid in _session_owned if _running(pid)}
    return alive.union(*(descendants(pid) for pid in alive))


def kill(pids: dict[int, str]) -> None:
    """SIGKILL ``pids`` so that one leak does not spill into the next test."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue


def _fail(what: str, left: dict[int, str]) -> None:
    kill(left)
    lines = "\n".join(f"  {text}" for text in left.values())
    pytest.fail(
        f"{what} left {len(left)} process(es) running (killed now); stop what you start:\n{lines}",
        pytrace=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    """Make this test process a subreaper before any test starts a process."""
    become_subreaper()


@pytest.fixture(scope="session", autouse=True)
def _no_process_left_by_the_session() -> Iterator[None]:
    """Session- and module-scoped fixtures stop what they started."""
    before = descendants()
    yield
    _session_owned.clear()
    left = leftovers(before)
    if left:
        _fail("the test session's fixtures", left)


@pytest.fixture(autouse=True)
def _no_process_left_by_the_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test (with its function-scoped fixtures) stops what it started."""
    before = descendants()
    yield
    left = leftovers(before)
    if left:
        _fail(request.node.nodeid, left)

"""Supervision of real watchdog observers on real temp directories."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from watchdog.events import FileSystemEvent, FileSystemEventHandler

from rodrunnerd.observers import EventSink, WatchEvent
from rodrunnerd.scanner import RootSpec
from rodrunnerd.supervisor import Supervisor


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until true or ``timeout``; the result of the last poll."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class Exploding(FileSystemEventHandler):
    """A handler that raises, as a buggy handler would: it kills the observer thread."""

    def dispatch(self, event: FileSystemEvent) -> None:
        raise RuntimeError("handler bug")


@pytest.fixture
def sink() -> EventSink:
    """A fresh event sink."""
    return EventSink()


@pytest.fixture
def supervisor(sink: EventSink) -> Iterator[Supervisor]:
    """A supervisor stopped after the test."""
    sup = Supervisor(sink, kind_for=lambda spec: "inotify")
    yield sup
    sup.stop()


def seen(sink: EventSink, path: Path, into: list[WatchEvent]) -> bool:
    """Whether an event for ``path`` has arrived."""
    into.extend(sink.drain())
    return any(e.path == str(path) for e in into)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_crashed_observer_is_rebuilt(
    tmp_path: Path, sink: EventSink, supervisor: Supervisor
) -> None:
    """An observer thread killed by a handler exception is rebuilt with a warning and works."""
    root = tmp_path / "root"
    run = root / "run1"
    run.mkdir(parents=True)
    supervisor.add(RootSpec("novaseq", root))
    watcher = supervisor.watchers[str(root)]
    watcher.sync([str(run)])
    assert watcher.observer is not None
    watcher.observer.schedule(Exploding(), str(root), recursive=False)
    (root / "trigger-crash").mkdir()
    assert wait_for(lambda: watcher.problem() == "observer thread died")
    with capture_logs() as logs:
        assert supervisor.check() == [str(root)]
    assert any(e["event"] == "observer.restarted" and e["log_level"] == "warning" for e in logs)
    assert supervisor.healthy
    assert supervisor.restarts == 1
    fresh = supervisor.watchers[str(root)]
    assert fresh.watched == frozenset({str(run)})
    (run / "CopyComplete.txt").write_text("")
    events: list[WatchEvent] = []
    assert wait_for(lambda: seen(sink, run / "CopyComplete.txt", events))


def test_removed_and_recreated_root_recovers(tmp_path: Path, sink: EventSink) -> None:
    """A root that vanishes is reported missing, and watched again when it returns."""
    root = tmp_path / "root"
    root.mkdir()
    restarted: list[str] = []
    supervisor = Supervisor(
        sink, on_restart=lambda spec, why: restarted.append(why), kind_for=lambda spec: "inotify"
    )
    request_stop = supervisor.stop
    try:
        _removed_and_recreated(root, sink, supervisor, restarted)
    finally:
        request_stop()


def _removed_and_recreated(
    root: Path, sink: EventSink, supervisor: Supervisor, restarted: list[str]
) -> None:
    supervisor.add(RootSpec("miseq", root))
    shutil.rmtree(root)
    with capture_logs() as logs:
        assert supervisor.check() == []
        assert supervisor.check() == []
    assert not supervisor.healthy
    assert supervisor.problems == {str(root): "root is missing"}
    assert [e["event"] for e in logs].count("observer.root_missing") == 1
    root.mkdir()
    assert supervisor.check() == [str(root)]
    assert supervisor.healthy
    assert restarted
    (root / "250101_M00001_0001_000000000-ABCDE").mkdir()
    events: list[WatchEvent] = []
    assert wait_for(lambda: seen(sink, root / "250101_M00001_0001_000000000-ABCDE", events))


def test_root_missing_at_start_is_picked_up_later(tmp_path: Path, supervisor: Supervisor) -> None:
    """A root that does not exist at start is watched once it appears."""
    root = tmp_path / "later"
    supervisor.add(RootSpec("miseq", root))
    assert not supervisor.healthy
    root.mkdir()
    assert supervisor.check() == [str(root)]
    assert supervisor.healthy


def test_apply_adds_and_removes_roots(tmp_path: Path, supervisor: Supervisor) -> None:
    """apply() makes the watched roots exactly the configured ones."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    supervisor.apply([RootSpec("miseq", a)])
    assert set(supervisor.watchers) == {str(a)}
    supervisor.apply([RootSpec("novaseq", b)])
    assert set(supervisor.watchers) == {str(b)}
    assert supervisor.healthy


def test_healthy_watchers_are_left_alone(tmp_path: Path, supervisor: Supervisor) -> None:
    """check() on healthy observers rebuilds nothing."""
    supervisor.add(RootSpec("miseq", tmp_path))
    before = supervisor.watchers[str(tmp_path)]
    assert supervisor.check() == []
    assert supervisor.watchers[str(tmp_path)] is before

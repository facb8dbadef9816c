"""Observers on real temp directories with real watchdog observers."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rodrunnerd.observers import (
    EventSink,
    RootWatcher,
    WatchEvent,
    WatchKind,
    choose_kind,
    filesystem_type,
    is_network_filesystem,
    parse_mountinfo,
)

MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:40 / /seq rw,relatime shared:20 - nfs4 server:/export rw,vers=4.2
41 40 0:41 / /seq/local rw - xfs /dev/sdb1 rw
42 22 0:42 / /mnt/with\\040space rw - cifs //srv/share rw
43 22 0:43 / /fuse rw - fuse.sshfs host: rw
"""


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until true or ``timeout``; the result of the last poll."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture(params=["inotify", "polling"])
def kind(request: pytest.FixtureRequest) -> WatchKind:
    """Both observer kinds."""
    value: WatchKind = request.param
    return value


@pytest.fixture
def watcher(tmp_path: Path, kind: WatchKind) -> Iterator[tuple[RootWatcher, EventSink]]:
    """A started watcher over a fresh root."""
    root = tmp_path / "root"
    root.mkdir()
    sink = EventSink()
    w = RootWatcher("novaseq", root, sink, kind=kind, poll_interval=0.1)
    assert w.start()
    yield w, sink
    w.stop()


def collected(sink: EventSink, into: list[WatchEvent]) -> list[WatchEvent]:
    """Drain the sink into ``into`` and return it."""
    into.extend(sink.drain())
    return into


def test_mountinfo_parsing_unescapes_mount_points() -> None:
    """Mount points with escaped spaces are read back with spaces."""
    mounts = dict(parse_mountinfo(MOUNTINFO))
    assert mounts["/mnt/with space"] == "cifs"
    assert mounts["/seq"] == "nfs4"


@pytest.mark.parametrize(
    ("path", "fstype"),
    [
        ("/seq/run1", "nfs4"),
        ("/seq/local/run1", "xfs"),
        ("/home/x", "ext4"),
        ("/mnt/with space/r", "cifs"),
        ("/fuse/r", "fuse.sshfs"),
        ("/seqother", "ext4"),
    ],
)
def test_filesystem_type_uses_the_longest_mount(path: str, fstype: str) -> None:
    """The mount that holds a path is the longest mount point that contains it."""
    assert filesystem_type(Path(path), MOUNTINFO) == fstype


@pytest.mark.parametrize(
    ("fstype", "network"),
    [
        ("nfs", True),
        ("nfs4", True),
        ("cifs", True),
        ("smb3", True),
        ("fuse.sshfs", True),
        ("9p", True),
        ("ext4", False),
        ("xfs", False),
        ("tmpfs", False),
        (None, False),
    ],
)
def test_network_filesystems_are_recognised(fstype: str | None, network: bool) -> None:
    """NFS, SMB, FUSE and 9p count as network filesystems; local ones do not."""
    assert is_network_filesystem(fstype) is network


def test_auto_polls_network_roots_and_respects_explicit_choice() -> None:
    """observer: auto polls an NFS root and uses inotify locally; explicit choices win."""
    assert choose_kind("auto", Path("/seq/x"), MOUNTINFO) == ("polling", "nfs4")
    assert choose_kind("auto", Path("/seq/local/x"), MOUNTINFO) == ("inotify", "xfs")
    assert choose_kind("inotify", Path("/seq/x"), MOUNTINFO)[0] == "inotify"
    assert choose_kind("polling", Path("/home"), MOUNTINFO)[0] == "polling"


def test_auto_on_this_machine_reads_real_mountinfo(tmp_path: Path) -> None:
    """Without a given mountinfo, the real /proc/self/mountinfo names tmp_path's filesystem."""
    fstype = filesystem_type(tmp_path)
    assert fstype is not None
    assert choose_kind("auto", tmp_path)[1] == fstype


def test_new_run_folder_is_seen(watcher: tuple[RootWatcher, EventSink]) -> None:
    """A run folder created in the root is reported as a created event."""
    w, sink = watcher
    run = w.root / "250101_A00001_0001_AXXXXXXX"
    run.mkdir()
    events: list[WatchEvent] = []
    assert wait_for(lambda: any(e.path == str(run) for e in collected(sink, events)))
    assert events[0].sequencer_type == "novaseq"
    assert events[0].root == str(w.root)


def test_indicator_created_in_a_watched_run_is_seen(
    watcher: tuple[RootWatcher, EventSink],
) -> None:
    """A file created at the top of a watched run folder is reported."""
    w, sink = watcher
    run = w.root / "run1"
    run.mkdir()
    assert w.watch(str(run))
    (run / "CopyComplete.txt").write_text("")
    events: list[WatchEvent] = []
    target = str(run / "CopyComplete.txt")
    assert wait_for(lambda: any(e.path == target for e in collected(sink, events)))


def test_indicator_renamed_in_is_seen(watcher: tuple[RootWatcher, EventSink]) -> None:
    """An indicator written by rename is reported with its final name."""
    w, sink = watcher
    run = w.root / "run1"
    run.mkdir()
    (run / ".CopyComplete.txt.tmp").write_text("")
    assert w.watch(str(run))
    sink.drain()
    os.rename(run / ".CopyComplete.txt.tmp", run / "CopyComplete.txt")
    events: list[WatchEvent] = []
    target = str(run / "CopyComplete.txt")
    assert wait_for(lambda: any(e.path == target for e in collected(sink, events)))


def test_watches_are_not_recursive(watcher: tuple[RootWatcher, EventSink]) -> None:
    """A file deep inside a run folder is not reported, only the top level is watched."""
    w, sink = watcher
    run = w.root / "run1"
    deep = run / "Data" / "Intensities"
    deep.mkdir(parents=True)
    assert w.watch(str(run))
    sink.drain()
    (deep / "C1.1.cbcl").write_text("x")
    (run / "marker").write_text("")
    events: list[WatchEvent] = []
    assert wait_for(lambda: any(e.path.endswith("marker") for e in collected(sink, events)))
    assert not any("C1.1" in e.path for e in events)


def test_sync_adds_and_drops_run_watches(watcher: tuple[RootWatcher, EventSink]) -> None:
    """sync() watches exactly the incomplete runs given; a finished one loses its watch."""
    w, _ = watcher
    runs = []
    for name in ("a", "b", "c"):
        (w.root / name).mkdir()
        runs.append(str(w.root / name))
    w.sync(runs)
    assert w.watched == frozenset(runs)
    w.sync(runs[1:])
    assert w.watched == frozenset(runs[1:])
    assert not w.unwatch(runs[0])


def test_watching_a_missing_folder_fails_softly(watcher: tuple[RootWatcher, EventSink]) -> None:
    """Watching a folder that is gone returns False instead of raising (inotify)."""
    w, _ = watcher
    if w.kind == "polling":
        pytest.skip("polling watches any path and reports its deletion instead")
    assert not w.watch(str(w.root / "gone"))


def test_handler_never_raises(watcher: tuple[RootWatcher, EventSink]) -> None:
    """A failing enqueue is caught and counted; the observer keeps running."""
    w, sink = watcher

    def broken(event: WatchEvent) -> None:
        raise RuntimeError("boom")

    sink.put = broken  # type: ignore[method-assign]
    (w.root / "x").mkdir()
    assert wait_for(lambda: sink.handler_errors >= 1)
    assert w.problem() is None


def test_overflow_drops_and_flags() -> None:
    """A full queue drops events, counts them and flags that a scan is needed."""
    sink = EventSink(maxsize=2)
    for i in range(5):
        sink.put(WatchEvent("t", "/r", f"/r/{i}", "created"))
    assert sink.dropped == 3
    assert sink.overflowed.is_set()
    assert len(sink.drain()) == 2


def test_problem_reports_a_dead_observer(watcher: tuple[RootWatcher, EventSink]) -> None:
    """A stopped observer thread is reported as a problem."""
    w, _ = watcher
    assert w.problem() is None
    assert w.observer is not None
    w.observer.stop()
    w.observer.join(5)
    assert w.problem() == "observer thread died"


def test_problem_reports_a_missing_root(watcher: tuple[RootWatcher, EventSink]) -> None:
    """A root that vanished is reported as missing."""
    w, _ = watcher
    w.root.rmdir()
    assert w.problem() == "root is missing"


def test_root_that_cannot_be_watched(tmp_path: Path) -> None:
    """start() on a missing root returns False and leaves the watcher not running."""
    w = RootWatcher("miseq", tmp_path / "missing", EventSink(), kind="inotify")
    assert not w.start()
    assert w.problem() == "not running"

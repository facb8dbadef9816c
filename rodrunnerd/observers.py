"""Filesystem observers: one watchdog observer per sequencer root, non-recursive.

Watches are the root itself plus each incomplete run folder (never one per directory: a
recursive inotify watch costs thousands per run folder and watchdog fails silently past the
limit). Local filesystems use inotify; network ones (NFS, SMB, FUSE, ...) are polled, because
inotify never sees what another host writes. The handler only enqueues: it does no I/O, and it
never raises (an exception would kill the observer thread).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.inotify import InotifyObserver
from watchdog.observers.polling import PollingObserver

log = structlog.get_logger()

WatchKind = Literal["inotify", "polling"]

MOUNTINFO = Path("/proc/self/mountinfo")
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "ncpfs",
        "virtiofs",
        "davfs",
        "sshfs",
    }
)
COUNTED_EVENTS = frozenset({"created", "moved", "deleted"})


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One thing an observer saw under a root: the path concerned and what happened."""

    sequencer_type: str
    root: str
    path: str
    kind: str


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit() and i + 4 <= len(field):
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[tuple[str, str]]:
    """``(mount point, filesystem type)`` for every line of a mountinfo text."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        rest = right.split()
        if not sep or len(fields) < 5 or not rest:
            continue
        mounts.append((_unescape(fields[4]), rest[0]))
    return mounts


def filesystem_type(path: Path, mountinfo: str | None = None) -> str | None:
    """The filesystem type of the mount that holds ``path`` (``None`` when unknown)."""
    if mountinfo is None:
        try:
            mountinfo = MOUNTINFO.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    target = os.path.realpath(path)
    best: tuple[int, str] | None = None
    for point, fstype in parse_mountinfo(mountinfo):
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        # Later lines win on equal length: a mount stacked over another hides it.
        if inside and (best is None or len(point) >= best[0]):
            best = (len(point), fstype)
    return best[1] if best else None


def is_network_filesystem(fstype: str | None) -> bool:
    """Whether inotify cannot be trusted on ``fstype`` (another host may write there)."""
    if fstype is None:
        return False
    return fstype in NETWORK_FILESYSTEMS or fstype == "fuse" or fstype.startswith("fuse.")


def choose_kind(
    configured: str, root: Path, mountinfo: str | None = None
) -> tuple[WatchKind, str | None]:
    """``(kind, filesystem type)`` for ``observer: auto|inotify|polling`` on ``root``."""
    fstype = filesystem_type(root, mountinfo)
    if configured == "polling":
        return "polling", fstype
    if configured == "inotify":
        return "inotify", fstype
    return ("polling" if is_network_filesystem(fstype) else "inotify"), fstype


class EventSink:
    """A bounded queue between observer threads and the daemon loop.

    ``put`` never blocks and never raises: on overflow the event is dropped, counted and
    ``overflowed`` is set, so the loop knows to run a reconciliation scan.
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        self._queue: queue.Queue[WatchEvent] = queue.Queue(maxsize=maxsize)
        self.dropped = 0
        self.handler_errors = 0
        self.overflowed = threading.Event()
        self.ready = threading.Event()

    def put(self, event: WatchEvent) -> None:
        """Enqueue ``event`` (dropped and counted when the queue is full)."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            self.overflowed.set()
        self.ready.set()

    def drain(self, limit: int = 10_000) -> list[WatchEvent]:
        """Everything queued so far (at most ``limit`` events), without waiting."""
        self.ready.clear()
        events: list[WatchEvent] = []
        while len(events) < limit:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return events

    def wait(self, timeout: float) -> bool:
        """Block until an event arrives or ``timeout`` passes; True when one did."""
        return self.ready.wait(timeout)


class _Handler(FileSystemEventHandler):
    """Turns watchdog events into :class:`WatchEvent` on the sink; never raises."""

    def __init__(self, sequencer_type: str, root: str, sink: EventSink) -> None:
        self._sequencer_type = sequencer_type
        self._root = root
        self._sink = sink

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            if event.event_type not in COUNTED_EVENTS:
                return
            path = event.dest_path if event.event_type == "moved" else event.src_path
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            self._sink.put(
                WatchEvent(self._sequencer_type, self._root, str(path), event.event_type)
            )
        except Exception:
            self._sink.handler_errors += 1
            # The handler must never raise, not even from logging.
            with contextlib.suppress(Exception):
                log.exception("observer.handler_failed", root=self._root)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def make_observer(kind: WatchKind, poll_interval: float) -> BaseObserver:
    """A fresh watchdog observer of ``kind``."""
    if kind == "polling":
        return PollingObserver(timeout=poll_interval)
    return InotifyObserver()


class RootWatcher:
    """The observer of one sequencer root: the root plus its incomplete run folders."""

    def __init__(
        self,
        sequencer_type: str,
        root: Path,
        sink: EventSink,
        *,
        kind: WatchKind = "inotify",
        poll_interval: float = 30.0,
    ) -> None:
        self.sequencer_type = sequencer_type
        self.root = Path(root)
        self.kind: WatchKind = kind
        self.poll_interval = poll_interval
        self._sink = sink
        self._handler = _Handler(sequencer_type, str(self.root), sink)
        self._lock = threading.Lock()
        self._observer: BaseObserver | None = None
        self._root_watch: ObservedWatch | None = None
        self._runs: dict[str, ObservedWatch] = {}
        self._identity: tuple[int, int] | None = None
        self._lost: str | None = None

    @property
    def observer(self) -> BaseObserver | None:
        """The running watchdog observer (``None`` before start or after stop)."""
        return self._observer

    def start(self) -> bool:
        """Start watching the root; False (and a warning) when the root cannot be watched."""
        with self._lock:
            observer = make_observer(self.kind, self.poll_interval)
            try:
                if not self.root.is_dir():
                    raise FileNotFoundError(f"'{self.root}' is not a directory")
                self._root_watch = observer.schedule(self._handler, str(self.root), recursive=False)
                observer.daemon = True
                observer.start()
            except OSError as exc:
                self._root_watch = None
                log.warning(
                    "observer.root_unavailable",
                    root=str(self.root),
                    sequencer_type=self.sequencer_type,
                    error=str(exc),
                )
                return False
            self._identity = _identity(self.root)
            self._lost = None
            self._observer = observer
            self._runs = {}
        log.info(
            "observer.started",
            root=str(self.root),
            sequencer_type=self.sequencer_type,
            observer=self.kind,
        )
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the observer and wait for its thread (at most ``timeout`` seconds)."""
        with self._lock:
            observer, self._observer = self._observer, None
            self._runs = {}
            self._root_watch = None
        if observer is not None:
            try:
                observer.stop()
                observer.join(timeout)
            except Exception:
                log.exception("observer.stop_failed", root=str(self.root))

    def watch(self, run_dir: str) -> bool:
        """Watch ``run_dir`` (an incomplete run folder) non-recursively; True when added."""
        with self._lock:
            if self._observer is None or run_dir in self._runs:
                return False
            try:
                self._runs[run_dir] = self._observer.schedule(
                    self._handler, run_dir, recursive=False
                )
            except (OSError, RuntimeError) as exc:
                log.warning("observer.watch_failed", run_dir=run_dir, error=str(exc))
                return False
            return True

    def unwatch(self, run_dir: str) -> bool:
        """Stop watching ``run_dir``; True when it was watched."""
        with self._lock:
            watch = self._runs.pop(run_dir, None)
            if watch is None or self._observer is None:
                return False
            try:
                self._observer.unschedule(watch)
            except (KeyError, OSError, RuntimeError) as exc:
                log.warning("observer.unwatch_failed", run_dir=run_dir, error=str(exc))
            return True

    def sync(self, incomplete: Iterable[str]) -> None:
        """Watch exactly ``incomplete`` run folders (add new ones, drop finished ones)."""
        wanted = set(incomplete)
        for run_dir in self.watched - wanted:
            self.unwatch(run_dir)
        for run_dir in sorted(wanted - self.watched):
            self.watch(run_dir)

    @property
    def watched(self) -> frozenset[str]:
        """The run folders watched now (the root excluded)."""
        with self._lock:
            return frozenset(self._runs)

    def problem(self) -> str | None:
        """Why this watcher is not healthy (``None`` when it is)."""
        with self._lock:
            observer, root_watch, identity = self._observer, self._root_watch, self._identity
        if observer is None or root_watch is None:
            return "not running"
        if not observer.is_alive():
            return "observer thread died"
        now = _identity(self.root)
        if now is None:
            # Sticky until a restart: a root removed and made again can get the same inode
            # number, and its dead watch looks healthy until the emitter thread notices.
            self._lost = "root is missing"
        elif now != identity:
            self._lost = "root was replaced"
        if self._lost is not None:
            return self._lost
        for emitter in list(observer.emitters):
            if emitter.watch == root_watch and not emitter.is_alive():
                return "root watch stopped"
        return None


__all__ = [
    "EventSink",
    "RootWatcher",
    "WatchEvent",
    "WatchKind",
    "choose_kind",
    "filesystem_type",
    "is_network_filesystem",
    "make_observer",
    "parse_mountinfo",
]

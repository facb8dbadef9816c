"""Supervision of the observers: a dead one is rebuilt, a vanished root is waited for.

A handler exception kills a watchdog observer thread, and a root that is unmounted or
removed and created again leaves a watch on an inode that no longer exists. Each
:meth:`Supervisor.check` (called by the daemon loop, far more often than once per rescan
interval) finds both and rebuilds the observer with the same run-folder watches, logging a
warning ``observer.restarted``. While a root is missing, the daemon is not healthy.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import structlog

from rodrunnerd.observers import EventSink, RootWatcher, WatchKind, choose_kind
from rodrunnerd.scanner import RootSpec

log = structlog.get_logger()

RestartHook = Callable[[RootSpec, str], None]


class Supervisor:
    """Owns one :class:`RootWatcher` per root: starts, checks, rebuilds and stops them."""

    def __init__(
        self,
        sink: EventSink,
        *,
        on_restart: RestartHook | None = None,
        kind_for: Callable[[RootSpec], WatchKind] | None = None,
    ) -> None:
        self._sink = sink
        self._on_restart = on_restart
        self._kind_for = kind_for or (lambda spec: choose_kind(spec.observer, spec.root)[0])
        self._watchers: dict[str, RootWatcher] = {}
        self._specs: dict[str, RootSpec] = {}
        self._problems: dict[str, str] = {}
        self.restarts = 0

    @property
    def watchers(self) -> dict[str, RootWatcher]:
        """The watchers by root path."""
        return dict(self._watchers)

    @property
    def problems(self) -> dict[str, str]:
        """Roots that are not watched right now, with the reason."""
        return dict(self._problems)

    @property
    def healthy(self) -> bool:
        """Whether every root is watched by a live observer."""
        return not self._problems

    def _new_watcher(self, spec: RootSpec) -> RootWatcher:
        kind = self._kind_for(spec)
        return RootWatcher(
            spec.sequencer_type, spec.root, self._sink, kind=kind, poll_interval=spec.poll_interval
        )

    def add(self, spec: RootSpec) -> None:
        """Start watching ``spec.root`` (a root that is missing now is retried by check)."""
        key = str(spec.root)
        self._specs[key] = spec
        watcher = self._new_watcher(spec)
        self._watchers[key] = watcher
        if watcher.start():
            self._problems.pop(key, None)
        else:
            self._problems[key] = "root is missing"

    def remove(self, root: str, timeout: float = 5.0) -> None:
        """Stop watching ``root``."""
        watcher = self._watchers.pop(root, None)
        self._specs.pop(root, None)
        self._problems.pop(root, None)
        if watcher is not None:
            watcher.stop(timeout)

    def apply(self, specs: Iterable[RootSpec]) -> None:
        """Watch exactly ``specs`` (after a configuration reload): add new, drop old roots."""
        wanted = {str(s.root): s for s in specs}
        for root in set(self._watchers) - set(wanted):
            log.info("observer.root_removed", root=root)
            self.remove(root)
        for root, spec in wanted.items():
            if root not in self._watchers:
                self.add(spec)
            elif self._specs[root] != spec:
                self.remove(root)
                self.add(spec)

    def sync_runs(self, root: str, incomplete: Iterable[str]) -> None:
        """Watch exactly ``incomplete`` run folders under ``root``."""
        watcher = self._watchers.get(root)
        if watcher is not None and watcher.problem() is None:
            watcher.sync(incomplete)

    def check(self) -> list[str]:
        """Rebuild every watcher that has a problem and whose root exists; the rebuilt roots."""
        rebuilt = []
        for root, watcher in list(self._watchers.items()):
            problem = watcher.problem()
            if problem is None:
                self._problems.pop(root, None)
                continue
            if not os.path.isdir(root):
                if self._problems.get(root) != "root is missing":
                    log.warning("observer.root_missing", root=root, reason=problem)
                self._problems[root] = "root is missing"
                continue
            spec = self._specs[root]
            runs = watcher.watched
            watcher.stop(timeout=2.0)
            fresh = self._new_watcher(spec)
            self._watchers[root] = fresh
            if not fresh.start():
                self._problems[root] = "root is missing"
                continue
            fresh.sync(r for r in runs if Path(r).is_dir())
            self._problems.pop(root, None)
            self.restarts += 1
            rebuilt.append(root)
            log.warning(
                "observer.restarted",
                root=root,
                sequencer_type=spec.sequencer_type,
                reason=problem,
                observer=fresh.kind,
            )
            if self._on_restart is not None:
                self._on_restart(spec, problem)
        return rebuilt

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every watcher."""
        for root in list(self._watchers):
            self.remove(root, timeout)


__all__ = ["Supervisor"]

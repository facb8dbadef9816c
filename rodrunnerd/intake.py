"""Intake: observers -> scanner -> readiness -> ledger.

Every step drains the observers' events and looks at the folders they name, looks again at
folders due for a re-check (settling, a problem that may pass, a watch that just started),
runs a full reconciliation scan every ``daemon.rescan_interval`` (or at once after an observer
restart or an event overflow) and keeps one watch on each incomplete run folder. Each look at
a run unit goes through readiness (:func:`rodrunnerd.readiness.decide`) and ends in the ledger:
the state :data:`rodrunner.ledger.states.STATE_OF_ACTION` names, or a problem noted.

Intake never submits anything: it leaves ``queued`` runs to dispatch
(:mod:`rodrunnerd.dispatch`), so it works alone against a directory and a ledger.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from rodrunner.errors import LedgerError
from rodrunner.ledger.states import Action, RunState, state_after
from rodrunnerd.context import StageContext, runlog
from rodrunnerd.observers import EventSink
from rodrunnerd.readiness import Decision, decide
from rodrunnerd.scanner import Observation, RootSpec, Scanner, candidate_folder
from rodrunnerd.supervisor import Supervisor

__all__ = ["Intake"]

log = structlog.get_logger()


@dataclass(slots=True)
class _Pending:
    spec: RootSpec
    folder: str
    at: float


def _ledger_fields(decision: Decision) -> dict[str, Any]:
    """What a decision records besides the state: a submission's completion and force."""
    if decision.action is not Action.SUBMIT:
        return {}
    return {
        "completion_key": decision.completion_key,
        "trigger_mtime": decision.trigger_mtime,
        "forced": decision.forced,  # in the ledger: a restart keeps the force
    }


class Intake:
    """Observers, scans and readiness for the roots in ``specs`` (see the module docstring)."""

    def __init__(
        self,
        ctx: StageContext,
        sink: EventSink,
        scanner: Scanner,
        specs: Mapping[str, RootSpec],
    ) -> None:
        self.ctx = ctx
        self.sink = sink
        self.scanner = scanner
        self.specs = dict(specs)
        self.supervisor: Supervisor | None = None
        self.scan_now = threading.Event()
        self.last_scan_ok = False
        self.last_good_scan = 0.0
        self._incomplete: dict[str, set[str]] = {}
        self._rechecks: dict[str, _Pending] = {}
        self._problems: dict[str, str] = {}
        self._next_scan = 0.0

    # -- start, stop, reconfigure ------------------------------------------------------------

    def start(self) -> None:
        """The first reconciliation scan, then one observer per root and the run watches."""
        self.full_scan()
        self.supervisor = Supervisor(self.sink, on_restart=self._on_observer_restart)
        self.supervisor.apply(self.specs.values())
        self._sync_watches()

    def stop(self) -> None:
        """Observers off: no new intake."""
        if self.supervisor is not None:
            self.supervisor.stop()

    def reconfigure(self, scanner: Scanner, specs: Mapping[str, RootSpec]) -> None:
        """New roots and scanner (a reload): observers added and removed, a scan at once."""
        self.scanner = scanner
        self.specs = dict(specs)
        if self.supervisor is not None:
            self.supervisor.apply(self.specs.values())
        self._incomplete = {r: v for r, v in self._incomplete.items() if r in self.specs}
        self.scan_now.set()

    # -- what health needs -------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Folders wait for a re-check: the loop should tick fast."""
        return bool(self._rechecks)

    @property
    def observers_healthy(self) -> bool:
        """An observer is alive on every root."""
        return self.supervisor is not None and self.supervisor.healthy

    def roots_watched(self) -> tuple[int, int]:
        """``(watched, configured)`` roots."""
        problems = len(self.supervisor.problems) if self.supervisor is not None else 0
        return len(self.specs) - problems, len(self.specs)

    # -- one step ----------------------------------------------------------------------------

    def step(self, now: float) -> None:
        """Events, observer supervision, a scan when due, re-checks that are due."""
        self._handle_events(now)
        if self.supervisor is not None and self.supervisor.check():
            self.scan_now.set()
        if self.sink.overflowed.is_set():
            self.sink.overflowed.clear()
            log.warning("observer.overflow", dropped=self.sink.dropped)
            self.scan_now.set()
        if self.scan_now.is_set() or time.monotonic() >= self._next_scan:
            self.scan_now.clear()
            self.full_scan()
            self._sync_watches()
        self._handle_rechecks(now)

    def _handle_events(self, now: float) -> None:
        folders: dict[str, RootSpec] = {}
        for event in self.sink.drain():
            spec = self.specs.get(event.root)
            if spec is None:
                continue
            folder = candidate_folder(event.root, event.path)
            if folder is not None:
                folders[folder] = spec
        touched = False
        for folder, spec in sorted(folders.items()):
            observations = self.scanner.look(spec, folder)
            if not observations:
                touched |= self._forget_folder(spec, folder)
            for obs in observations:
                touched |= self._process(obs, now)
        if touched:
            self._sync_watches()

    def _forget_folder(self, spec: RootSpec, folder: str) -> bool:
        runs = self._incomplete.get(str(spec.root), set())
        gone = {r for r in runs if r == folder or r.startswith(folder + "/")}
        runs -= gone
        return bool(gone)

    def _handle_rechecks(self, now: float) -> None:
        due = [p for p in self._rechecks.values() if p.at <= now]
        for pending in due:
            self._rechecks.pop(pending.folder, None)
            for obs in self.scanner.look(pending.spec, pending.folder):
                self._process(obs, now)

    def full_scan(self) -> None:
        """A reconciliation scan over every root."""
        report = self.scanner.scan(self.specs.values())
        now = time.time()
        seen: dict[str, set[str]] = {root: set() for root in self.specs}
        for obs in report.observations:
            self._process(obs, now)
            if obs.entry.state == "in_progress":
                seen.setdefault(str(obs.spec.root), set()).add(obs.run_dir)
        self._incomplete = seen
        self.last_scan_ok = report.ok
        if report.ok:
            self.last_good_scan = time.time()
            self.ctx.metric("scan_completed", report.seconds)
        self._next_scan = time.monotonic() + self.ctx.config.daemon.rescan_interval
        log.info(
            "scan.completed",
            roots=len(self.specs),
            runs=len(report.observations),
            errors=report.errors or None,
            seconds=round(report.seconds, 3),
        )

    def _sync_watches(self) -> None:
        if self.supervisor is None:
            return
        watchers = self.supervisor.watchers
        now = time.time()
        for root, spec in self.specs.items():
            watcher = watchers.get(root)
            before = watcher.watched if watcher is not None else frozenset()
            self.supervisor.sync_runs(root, self._incomplete.get(root, set()))
            if watcher is None:
                continue
            # A run folder's watch starts only now: an indicator written between the last look
            # and now sent no event. Look once more, or it would wait for the next rescan.
            for run_dir in watcher.watched - before:
                folder = candidate_folder(root, run_dir) or run_dir
                pending = self._rechecks.get(folder)
                if pending is None or pending.at > now:
                    self._rechecks[folder] = _Pending(spec, folder, now)

    def _on_observer_restart(self, spec: RootSpec, reason: str) -> None:
        self.scan_now.set()
        self.ctx.metric("observer_restarted", spec.sequencer_type)

    # -- one run -----------------------------------------------------------------------------

    def _process(self, obs: Observation, now: float) -> bool:
        """Readiness and the ledger for one observation; True when the watches must change."""
        ledger = self.ctx.ledger
        entry = obs.entry
        run_dir = obs.run_dir
        root = str(obs.spec.root)
        incomplete = self._incomplete.setdefault(root, set())
        was_incomplete = run_dir in incomplete
        if entry.state == "in_progress":
            incomplete.add(run_dir)
        else:
            incomplete.discard(run_dir)
        rec = ledger.get(run_dir)
        if rec is not None and rec.state in (RunState.RELEASED, RunState.RELEASING):
            # Released (or being released): never ingested again unless an operator says so.
            return was_incomplete != (run_dir in incomplete)
        sequencer_type = entry.sequencer_type or obs.spec.sequencer_type
        if rec is None:
            rec = ledger.observe(run_dir, entry.run_id, sequencer_type)
            runlog(rec).info("run.detected", state=entry.state, reason=entry.reason)
            self.ctx.metric("detected", sequencer_type)
        decision = decide(
            entry,
            newest_mtime=obs.newest_mtime,
            now=now,
            settle_seconds=self.ctx.config.daemon.settle_seconds,
            record=rec,
        )
        bound = runlog(rec)
        action = decision.action
        if action is not Action.PROBLEM and run_dir in self._problems:
            del self._problems[run_dir]
            with contextlib.suppress(LedgerError):
                ledger.note_problem(run_dir, None)
        try:
            if action is Action.SETTLE and rec.state is not RunState.SETTLING:
                bound.info("run.settling", reason=decision.reason)
            target = state_after(action, rec.state)
            if target is not None:
                ledger.transition(run_dir, target, **_ledger_fields(decision))
            if action is Action.SETTLE:
                self._recheck(obs, decision.recheck_at or now + 1)
            elif action is Action.SUBMIT:
                self._rechecks.pop(run_dir, None)
                bound.info("run.ready", reason=decision.reason, forced=decision.forced)
            elif action is Action.SKIP:
                bound.info("run.skipped", reason=decision.reason)
            elif action is Action.PROBLEM:
                if self._problems.get(run_dir) != decision.reason:
                    bound.warning("run.problem", reason=decision.reason)
                    self._problems[run_dir] = decision.reason
                    ledger.note_problem(run_dir, decision.reason)  # the ledger says why
                if decision.recheck_at is not None:
                    self._recheck(obs, decision.recheck_at)
        except LedgerError as exc:
            bound.warning("run.transition_refused", error=str(exc))
        return was_incomplete != (run_dir in incomplete)

    def _recheck(self, obs: Observation, at: float) -> None:
        root = str(obs.spec.root)
        folder = candidate_folder(root, obs.run_dir) or obs.run_dir
        self._rechecks[folder] = _Pending(obs.spec, folder, at)

"""The daemon's lifecycle: start in order, loop, stop in reverse order.

Start: the state directory's lock (one daemon per ledger; a second exits 2) → ledger →
metrics → submitter → first reconciliation scan → observers → ``READY=1``.
Loop (every wait has a timeout, the stop event ends it): drain observer events → look at the
folders they name → readiness → ledger transitions → submit; apply submitter outcomes; retry
failed runs whose backoff has passed; a full scan every ``rescan_interval``; supervise the
observers; ``STATUS=`` with counts; ``WATCHDOG=1`` only while observers and scans are healthy.
Stop (SIGTERM/SIGINT): ``STOPPING=1``, observers off (no new intake), running ingests get
``shutdown_grace`` seconds (the rest resume at the next start), then the submitter, metrics and
ledger close and the lock is let go. SIGHUP reloads the configuration, adding and removing
roots without a restart.

The daemon never writes into the share: it only reads it, unless ``retention.action`` is
``move`` or ``delete`` (and ``retention.dry_run`` is off): then, every ``retention.interval``,
after the ingest work, a worker thread moves or deletes ingested folders that pass the
safe-to-delete gate (:mod:`rodrunnerd.retention`).
"""

from __future__ import annotations

import contextlib
import random
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import structlog

from rodrunner.config import AppConfig, get_config
from rodrunner.errors import ConfigError, RodrunnerError
from rodrunner.flowruns.deployment import DeploymentSubmitter
from rodrunner.flowruns.embedded import EmbeddedSubmitter, FlowCallable
from rodrunner.flowruns.outcomes import Outcome, Submitter
from rodrunner.names import shown
from rodrunner.parsers import run_id_of
from rodrunner.run import IngestRequest
from rodrunnerd import retention
from rodrunnerd.errors import LedgerError, LedgerLockedError
from rodrunnerd.ledger import Ledger, RunRecord
from rodrunnerd.lock import StateLock
from rodrunnerd.observers import EventSink
from rodrunnerd.readiness import Action, decide
from rodrunnerd.scanner import Observation, RootSpec, Scanner, candidate_folder, roots_from_config
from rodrunnerd.sdnotify import Notifier
from rodrunnerd.states import RunState
from rodrunnerd.supervisor import Supervisor

log = structlog.get_logger()

IDLE_TICK = 0.5
BUSY_TICK = 0.1
MAX_BACKOFF = 3600.0


def backoff_seconds(attempts: int, base: float, *, rng: random.Random | None = None) -> float:
    """Exponential backoff after ``attempts`` failures: base·2^(n-1), capped, ±10 % jitter."""
    delay = min(base * 2.0 ** max(attempts - 1, 0), MAX_BACKOFF)
    jitter = random.uniform(0.9, 1.1) if rng is None else rng.uniform(0.9, 1.1)  # noqa: S311 - jitter
    return delay * jitter


class _Metrics:
    """Calls the metrics module when it offers a method, never fails the daemon."""

    def __init__(self, config: AppConfig) -> None:
        self._impl: Any = None
        from rodrunnerd.metrics import Metrics  # prometheus-client, only when the daemon runs

        try:
            self._impl = Metrics.from_config(config)
        except Exception as exc:  # metrics are optional: a bad endpoint must not stop intake
            log.warning("metrics.unavailable", error=str(exc))
            self._impl = None

    def close(self) -> None:
        self.call("close")

    def call(self, name: str, *args: Any, **kwargs: Any) -> None:
        method = getattr(self._impl, name, None) if self._impl is not None else None
        if callable(method):
            try:
                method(*args, **kwargs)
            except Exception as exc:
                log.debug("metrics.failed", metric=name, error=str(exc))


@dataclass(slots=True)
class _Pending:
    spec: RootSpec
    folder: str
    at: float


class Daemon:
    """One running rodrunnerd: see the module docstring for the lifecycle."""

    def __init__(
        self,
        config: AppConfig,
        *,
        stop_event: threading.Event | None = None,
        notifier: Notifier | None = None,
        flow: FlowCallable | None = None,
    ) -> None:
        self.config = config
        self.stop_event = stop_event or threading.Event()
        self.reload_event = threading.Event()
        self.scan_now = threading.Event()
        self.notifier = notifier or Notifier.from_env()
        self._flow = flow
        self.sink = EventSink()
        self.scanner = Scanner(
            trigger_file=config.daemon.trigger_file, skip_file=config.daemon.skip_file
        )
        self.specs: dict[str, RootSpec] = {}
        self.lock: StateLock | None = None
        self.ledger: Ledger | None = None
        self.metrics: _Metrics | None = None
        self.submitter: Submitter | None = None
        self.supervisor: Supervisor | None = None
        self.prefect_dir: Path | None = None  # the local Prefect server's, when used
        self._incomplete: dict[str, set[str]] = {}
        self._rechecks: dict[str, _Pending] = {}
        self._problems: dict[str, str] = {}
        self._next_scan = 0.0
        self._last_scan_ok = False
        self._last_good_scan = 0.0
        self._last_watchdog = 0.0
        self._last_status = ""
        self.ready = threading.Event()
        self._retention_worker: threading.Thread | None = None
        self._next_retention = 0.0
        self.retention_now = threading.Event()  # a pass at the next step, due or not

    # -- start and stop -------------------------------------------------------------------

    @property
    def config_path(self) -> str | None:
        """The configuration FILE PATH flows receive (never its secrets)."""
        source = self.config.source
        return str(Path(source).resolve()) if source is not None else None

    def _make_submitter(self) -> Submitter:
        daemon = self.config.daemon
        if daemon.submit == "deployment":
            return DeploymentSubmitter(deployment=daemon.deployment)
        return EmbeddedSubmitter(max_concurrent=daemon.max_concurrent_ingests, flow=self._flow)

    def start(self) -> None:
        """Start everything in order; ``READY=1`` only at the end."""
        daemon = self.config.daemon
        state_dir = Path(daemon.state_dir)
        self.lock = StateLock.acquire(state_dir)  # one daemon per ledger, before recovery
        self.ledger = Ledger.open(state_dir)
        self._recover()
        retention.recover(self.config, self.ledger)  # finish or roll back interrupted releases
        self.metrics = _Metrics(self.config)
        self._start_prefect()
        self.submitter = self._make_submitter()
        self.submitter.start()
        self.specs = {str(s.root): s for s in roots_from_config(self.config)}
        self.full_scan()
        self.supervisor = Supervisor(self.sink, on_restart=self._on_observer_restart)
        self.supervisor.apply(self.specs.values())
        self._sync_watches()
        status = self.status_line()
        self.notifier.ready(status)
        self.ready.set()
        log.info(
            "daemon.ready",
            roots=sorted(self.specs),
            submit=daemon.submit,
            state_dir=str(state_dir),
            status=status,
        )

    def stop(self) -> None:
        """Stop in reverse order: observers, submitter (grace), metrics, ledger."""
        self.notifier.stopping("stopping: no new intake, letting running ingests finish")
        log.info("daemon.stopping", grace=self.config.daemon.shutdown_grace)
        if self.supervisor is not None:
            self.supervisor.stop()
        if self.submitter is not None:
            left = self.submitter.stop(self.config.daemon.shutdown_grace)
            self._apply_outcomes()
            if left:
                log.warning("daemon.unfinished", runs=sorted(left), resume="next start")
        worker = self._retention_worker
        if worker is not None:
            worker.join()  # it stops between two folders (the stop event)
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None
        if self.prefect_dir is not None:  # it goes with the daemon unless still in use
            from rodrunner.localprefect import stop_server

            stop_server(self.prefect_dir, only_if_unused=True)
        if self.ledger is not None:
            self.ledger.close()
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        log.info("daemon.stopped")

    def _start_prefect(self) -> None:
        """Embedded flow runs are recorded on the local Prefect server unless one is set."""
        from rodrunner.errors import RodrunnerError
        from rodrunner.localprefect import ensure_local_prefect

        if self.config.daemon.submit != "embedded":
            return
        try:
            server = ensure_local_prefect(self.config)
        except RodrunnerError as exc:  # the flows fall back to Prefect's temporary server
            log.error("prefect.local_server_failed", error=str(exc))
            return
        self.prefect_dir = server.directory if server is not None else None

    def _recover(self) -> None:
        """Runs submitted or running when the daemon last stopped go back to ``queued``."""
        assert self.ledger is not None
        for rec in self.ledger.list([RunState.SUBMITTED, RunState.RUNNING]):
            self.ledger.transition(rec.run_dir, RunState.QUEUED)
            self._runlog(rec).info("run.resumed", previous=rec.state.value)

    # -- the loop ---------------------------------------------------------------------------

    def loop(self) -> None:
        """Run until the stop event is set."""
        while not self.stop_event.is_set():
            self.step()
            busy = bool(self.submitter and self.submitter.active()) or bool(self._rechecks)
            self.sink.wait(BUSY_TICK if busy else IDLE_TICK)

    def step(self) -> None:
        """One pass of the loop (also called by tests)."""
        now = time.time()
        if self.reload_event.is_set():
            self.reload_event.clear()
            self.reload()
        self._handle_events(now)
        assert self.supervisor is not None
        if self.supervisor.check():
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
        self._apply_outcomes()
        self._retry_failed(now)
        self._submit_queued()
        self._retention_tick()
        self._report()

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
        self._last_scan_ok = report.ok
        if report.ok:
            self._last_good_scan = time.time()
            if self.metrics is not None:
                self.metrics.call("scan_completed", report.seconds)
        self._next_scan = time.monotonic() + self.config.daemon.rescan_interval
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
        if self.metrics is not None:
            self.metrics.call("observer_restarted", spec.sequencer_type)

    # -- one run ----------------------------------------------------------------------------

    def _runlog(self, rec: RunRecord, *, flow_run: bool = True) -> Any:
        """A logger bound to the run (names escaped: a folder name may be any bytes, newlines
        included); its flow run id only once one is known (``flow_run``)."""
        bound = log.bind(
            run_id=shown(rec.run_id), run_dir=shown(rec.run_dir), sequencer_type=rec.sequencer_type
        )
        return bound.bind(flow_run_id=rec.flow_run_id) if flow_run and rec.flow_run_id else bound

    def _process(self, obs: Observation, now: float) -> bool:
        """Readiness and the ledger for one observation; True when the watches must change."""
        assert self.ledger is not None
        entry = obs.entry
        run_dir = obs.run_dir
        root = str(obs.spec.root)
        incomplete = self._incomplete.setdefault(root, set())
        was_incomplete = run_dir in incomplete
        if entry.state == "in_progress":
            incomplete.add(run_dir)
        else:
            incomplete.discard(run_dir)
        rec = self.ledger.get(run_dir)
        if rec is not None and rec.state in (RunState.RELEASED, RunState.RELEASING):
            # Released (or being released): never ingested again unless an operator says so.
            return was_incomplete != (run_dir in incomplete)
        sequencer_type = entry.sequencer_type or obs.spec.sequencer_type
        if rec is None:
            rec = self.ledger.observe(run_dir, entry.run_id, sequencer_type)
            self._runlog(rec).info("run.detected", state=entry.state, reason=entry.reason)
            if self.metrics is not None:
                self.metrics.call("detected", sequencer_type)
        decision = decide(
            entry,
            newest_mtime=obs.newest_mtime,
            now=now,
            settle_seconds=self.config.daemon.settle_seconds,
            record=rec,
        )
        runlog = self._runlog(rec)
        if decision.action is not Action.PROBLEM and run_dir in self._problems:
            del self._problems[run_dir]
            with contextlib.suppress(LedgerError):
                self.ledger.note_problem(run_dir, None)
        try:
            if decision.action is Action.WAIT and rec.state is not RunState.SEEN:
                self.ledger.transition(run_dir, RunState.SEEN)
            elif decision.action is Action.SETTLE:
                if rec.state is not RunState.SETTLING:
                    runlog.info("run.settling", reason=decision.reason)
                self.ledger.transition(run_dir, RunState.SETTLING)
                self._recheck(obs, decision.recheck_at or now + 1)
            elif decision.action is Action.SUBMIT:
                self.ledger.transition(
                    run_dir,
                    RunState.QUEUED,
                    completion_key=decision.completion_key,
                    trigger_mtime=decision.trigger_mtime,
                    forced=decision.forced,  # in the ledger: a restart keeps the force
                )
                self._rechecks.pop(run_dir, None)
                runlog.info("run.ready", reason=decision.reason, forced=decision.forced)
            elif decision.action is Action.SKIP:
                self.ledger.transition(run_dir, RunState.SKIPPED)
                runlog.info("run.skipped", reason=decision.reason)
            elif decision.action is Action.PROBLEM:
                if self._problems.get(run_dir) != decision.reason:
                    runlog.warning("run.problem", reason=decision.reason)
                    self._problems[run_dir] = decision.reason
                    self.ledger.note_problem(run_dir, decision.reason)  # the ledger says why
                if decision.recheck_at is not None:
                    self._recheck(obs, decision.recheck_at)
        except LedgerError as exc:
            runlog.warning("run.transition_refused", error=str(exc))
        return was_incomplete != (run_dir in incomplete)

    def _recheck(self, obs: Observation, at: float) -> None:
        root = str(obs.spec.root)
        folder = candidate_folder(root, obs.run_dir) or obs.run_dir
        self._rechecks[folder] = _Pending(obs.spec, folder, at)

    def _retry_failed(self, now: float) -> None:
        assert self.ledger is not None
        for rec in self.ledger.due_for_retry(now, self.config.daemon.max_attempts):
            with contextlib.suppress(LedgerError):
                self.ledger.transition(rec.run_dir, RunState.QUEUED)
                self._runlog(rec).info("run.retrying", attempts=rec.attempts)

    def _submit_queued(self) -> None:
        assert self.ledger is not None
        assert self.submitter is not None
        if self.submitter.free_slots() <= 0:
            return
        active = self.submitter.active()
        for rec in self.ledger.list([RunState.QUEUED]):
            if rec.run_dir in active:
                continue
            if self.submitter.free_slots() <= 0 or self.stop_event.is_set():
                return
            try:  # the id the flow names the run by (its metadata's): run.* events use it too
                run_id = run_id_of(Path(rec.run_dir), rec.sequencer_type)
            except (RodrunnerError, OSError):  # the flow will say what is wrong
                run_id = rec.run_id
            job = IngestRequest(
                run_dir=rec.run_dir,
                run_id=run_id,
                sequencer_type=rec.sequencer_type,
                config=self.config_path,
                completion_key=rec.completion_key or rec.run_dir,
                force=rec.forced,
                attempt=rec.attempts,
            )
            # The ledger first: a run it will not move to submitted is never handed over.
            try:
                self.ledger.transition(rec.run_dir, RunState.SUBMITTED)
            except LedgerError as exc:
                self._runlog(rec).warning("run.transition_refused", error=str(exc))
                continue
            if not self.submitter.submit(job):  # not taken now (full, Prefect down): later
                with contextlib.suppress(LedgerError):
                    self.ledger.transition(rec.run_dir, RunState.QUEUED)
                continue
            # The flow run of this attempt has no id yet (embedded: not before it ends); the
            # record's id is a former attempt's.
            self._runlog(rec, flow_run=False).bind(run_id=shown(run_id)).info(
                "run.submitted",
                submit=self.config.daemon.submit,
                attempt=rec.attempts + 1,
                forced=job.force,
            )
            if self.metrics is not None:
                self.metrics.call("submitted", rec.sequencer_type)

    def _apply_outcomes(self) -> None:
        assert self.ledger is not None
        if self.submitter is None:
            return
        for outcome in self.submitter.outcomes():
            try:
                self._apply(outcome)
            except LedgerError as exc:
                log.warning(
                    "run.transition_refused", run_dir=shown(outcome.job.run_dir), error=str(exc)
                )

    def _apply(self, outcome: Outcome) -> None:
        assert self.ledger is not None
        run_dir = outcome.job.run_dir
        if outcome.kind == "running":
            rec = self.ledger.get(run_dir)
            if rec is not None and rec.state is RunState.SUBMITTED:
                self.ledger.transition(run_dir, RunState.RUNNING, flow_run_id=outcome.flow_run_id)
            return
        run_id = shown(outcome.job.run_id or run_dir)
        if outcome.kind == "ingested":
            rec = self.ledger.transition(
                run_dir, RunState.INGESTED, flow_run_id=outcome.flow_run_id
            )
            summary = outcome.summary
            self._runlog(rec).bind(run_id=run_id).info(
                "run.ingested",
                status=summary.status if summary else None,
                irods_path=summary.irods_path if summary else None,
                files=summary.files if summary else None,
                bytes=summary.bytes if summary else None,
            )
            if self.metrics is not None:
                result = summary.as_result() if summary else {}
                self.metrics.call("ingest_finished", rec.sequencer_type, True, result)
            return
        if outcome.kind == "conflict":  # held for an operator: no retry would change anything
            rec = self.ledger.transition(
                run_dir, RunState.CONFLICT, error=outcome.error, flow_run_id=outcome.flow_run_id
            )
            self._runlog(rec).bind(run_id=run_id).warning("run.conflict", error=outcome.error)
            return
        rec = self.ledger.transition(
            run_dir, RunState.FAILED, error=outcome.error, flow_run_id=outcome.flow_run_id
        )
        max_attempts = self.config.daemon.max_attempts
        will_retry = rec.attempts < max_attempts
        if will_retry:
            base = min(30.0, self.config.daemon.rescan_interval)
            rec = self.ledger.transition(
                run_dir,
                RunState.FAILED,
                next_attempt_at=time.time() + backoff_seconds(rec.attempts, base),
            )
        self._runlog(rec).bind(run_id=run_id).error(
            "run.failed",
            error=outcome.error,
            attempts=rec.attempts,
            max_attempts=max_attempts,
            will_retry=will_retry,
            retry_at=rec.next_attempt_at,
        )
        if self.metrics is not None:
            result = outcome.summary.as_result() if outcome.summary else {}
            self.metrics.call("ingest_finished", rec.sequencer_type, False, result)

    # -- retention --------------------------------------------------------------------------

    def _retention_tick(self) -> None:
        """Start a retention pass in a worker when one is due and none is running."""
        settings = self.config.retention
        if settings.action == "none" or self.stop_event.is_set():
            return
        if self._retention_worker is not None and self._retention_worker.is_alive():
            return
        if time.monotonic() < self._next_retention and not self.retention_now.is_set():
            return
        self.retention_now.clear()
        self._next_retention = time.monotonic() + settings.interval
        self._retention_worker = threading.Thread(
            target=self.retention_pass, name="rodrunnerd-retention", daemon=True
        )
        self._retention_worker.start()

    def retention_pass(self) -> retention.PassReport | None:
        """One retention pass (the worker's body; tests call it too)."""
        assert self.ledger is not None
        config = self.config
        try:
            report = retention.run_pass(config, self.ledger, stop=self.stop_event)
        except Exception as exc:  # never let retention stop the daemon
            log.error("retention.failed", error=str(exc))
            return None
        log.info("retention.pass", dry_run=config.retention.dry_run, **retention.summary(report))
        if self.metrics is not None:
            self.metrics.call(
                "retention_pass", len(report.deletable), report.reclaimable, config.retention.action
            )
            for _run in report.released:
                self.metrics.call("released", config.retention.action)
        return report

    # -- status, health, reload -------------------------------------------------------------

    def status_line(self) -> str:
        """The ``STATUS=`` text: counts by state and watched roots."""
        assert self.ledger is not None
        counts = self.ledger.counts()
        shown = ", ".join(f"{state.value}={n}" for state, n in counts.items() if n)
        watched = len(self.specs) - (len(self.supervisor.problems) if self.supervisor else 0)
        return f"runs: {shown or 'none'}; roots watched {watched}/{len(self.specs)}"

    @property
    def healthy(self) -> bool:
        """Observers alive on every root and the last scan good and recent."""
        if self.supervisor is None or not self.supervisor.healthy or not self._last_scan_ok:
            return False
        age = time.time() - self._last_good_scan
        return age <= 2 * self.config.daemon.rescan_interval + 60

    def _report(self) -> None:
        status = self.status_line()
        if status != self._last_status:
            self.notifier.status(status)
            self._last_status = status
            if self.metrics is not None and self.ledger is not None:
                self.metrics.call("set_run_counts", self.ledger.counts())
        interval = self.notifier.watchdog_interval or 5.0
        now = time.monotonic()
        if self.healthy and now - self._last_watchdog >= interval:
            self.notifier.watchdog()
            self._last_watchdog = now

    def reload(self) -> None:
        """Re-read the configuration file; roots are added and removed without a restart."""
        self.notifier.reloading()
        try:
            fresh = get_config(self.config.source)
        except ConfigError as exc:
            log.error("daemon.reload_failed", error=str(exc))
            self.notifier.ready(self.status_line())
            return
        if fresh.daemon.submit != self.config.daemon.submit:
            log.warning("daemon.reload_needs_restart", key="daemon.submit")
        self.config = fresh
        self.scanner = Scanner(
            trigger_file=fresh.daemon.trigger_file, skip_file=fresh.daemon.skip_file
        )
        self.specs = {str(s.root): s for s in roots_from_config(fresh)}
        assert self.supervisor is not None
        self.supervisor.apply(self.specs.values())
        self._incomplete = {r: v for r, v in self._incomplete.items() if r in self.specs}
        self.scan_now.set()
        log.info("daemon.reloaded", roots=sorted(self.specs))
        self.notifier.ready(self.status_line())


@contextlib.contextmanager
def _signals(daemon: Daemon) -> Iterator[None]:
    """SIGTERM/SIGINT stop, SIGHUP reloads (only from the main thread; restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        daemon.stop_event.set()
        daemon.sink.ready.set()

    def hup(signum: int, frame: FrameType | None) -> None:
        daemon.reload_event.set()
        daemon.sink.ready.set()

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, stop),
        signal.SIGINT: signal.signal(signal.SIGINT, stop),
        signal.SIGHUP: signal.signal(signal.SIGHUP, hup),
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run(
    config: AppConfig,
    *,
    stop_event: threading.Event | None = None,
    flow: FlowCallable | None = None,
) -> int:
    """Run the daemon until ``stop_event`` is set or SIGTERM/SIGINT arrives; the exit code."""
    daemon = Daemon(config, stop_event=stop_event, flow=flow)
    with _signals(daemon):
        try:
            daemon.start()
        except LedgerLockedError as exc:  # another daemon owns this ledger: touch nothing
            log.error("daemon.locked", error=str(exc))
            return 2
        except LedgerError as exc:
            log.error("daemon.start_failed", error=str(exc))
            daemon.stop()
            return 1
        try:
            daemon.loop()
        finally:
            daemon.stop()
    return 0


__all__ = ["Daemon", "backoff_seconds", "run"]

"""The daemon's lifecycle: wire the stages, start in order, loop, stop in reverse order.

The stages, each in its own module, share one :class:`~rodrunnerd.context.StageContext`:

- intake (:mod:`rodrunnerd.intake`): observers -> scanner -> readiness -> ledger;
- dispatch (:mod:`rodrunnerd.dispatch`): ledger -> submitter -> outcomes, with backoff;
- retention (:mod:`rodrunnerd.retention_worker`): ingested folders released, when switched on;
- health (:mod:`rodrunnerd.health`): ``STATUS=``, ``WATCHDOG=1`` and the metrics.

Start: the state directory's lock (one daemon per ledger; a second exits 2) → ledger →
recovery (interrupted submissions and releases) → metrics → submitter → first reconciliation
scan → observers → ``READY=1``.
Loop (every wait has a timeout, the stop event ends it): a reload if asked, an intake step, a
dispatch step, a retention tick, a health report.
Stop (SIGTERM/SIGINT): ``STOPPING=1``, observers off (no new intake), running ingests get
``shutdown_grace`` seconds (the rest resume at the next start), then the retention worker,
metrics, local Prefect server and ledger close and the lock is let go. SIGHUP reloads the
configuration, adding and removing roots without a restart.

The daemon never writes into the share: it only reads it, unless ``retention.action`` is
``move`` or ``delete`` (and ``retention.dry_run`` is off): then, every ``retention.interval``,
after the ingest work, a worker thread moves or deletes ingested folders that pass the
safe-to-delete gate (:mod:`rodrunnerd.retention`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType

import structlog

from rodrunner.config import AppConfig, get_config
from rodrunner.errors import ConfigError, LedgerError, LedgerLockedError
from rodrunner.flowruns.embedded import FlowCallable
from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger
from rodrunnerd import health, retention
from rodrunnerd.context import StageContext
from rodrunnerd.dispatch import Dispatch
from rodrunnerd.health import Health, MetricsHook
from rodrunnerd.intake import Intake
from rodrunnerd.lock import StateLock
from rodrunnerd.observers import EventSink
from rodrunnerd.retention_worker import RetentionWorker
from rodrunnerd.scanner import RootSpec, Scanner, roots_from_config
from rodrunnerd.sdnotify import Notifier

log = structlog.get_logger()

IDLE_TICK = 0.5
BUSY_TICK = 0.1


def _specs(config: AppConfig) -> dict[str, RootSpec]:
    return {str(s.root): s for s in roots_from_config(config)}


def _scanner(config: AppConfig) -> Scanner:
    return Scanner(trigger_file=config.daemon.trigger_file, skip_file=config.daemon.skip_file)


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
        self.ctx = StageContext(config, stop_event or threading.Event())
        self.reload_event = threading.Event()
        self.health = Health(notifier or Notifier.from_env())
        self.sink = EventSink()
        self.scanner = _scanner(config)
        self.lock: StateLock | None = None
        self.ready = threading.Event()
        self.intake: Intake | None = None
        self.dispatch = Dispatch(self.ctx, flow=flow)
        self.retention = RetentionWorker(self.ctx)

    @property
    def config(self) -> AppConfig:
        """The configuration every stage reads (replaced by a reload)."""
        return self.ctx.config

    @config.setter
    def config(self, value: AppConfig) -> None:
        self.ctx.config = value

    @property
    def stop_event(self) -> threading.Event:
        """Set it (or send SIGTERM) to stop the loop."""
        return self.ctx.stop_event

    @property
    def ledger(self) -> Ledger | None:
        """The ledger, once started."""
        return self.ctx.opened

    # -- start and stop -------------------------------------------------------------------

    def start(self) -> None:
        """Start everything in order; ``READY=1`` only at the end."""
        daemon = self.config.daemon
        state_dir = Path(daemon.state_dir)
        self.lock = StateLock.acquire(state_dir)  # one daemon per ledger, before recovery
        self.ctx.opened = Ledger.open(state_dir)
        self.dispatch.recover()
        retention.recover(self.config, self.ctx.ledger)  # finish or roll back releases
        self.ctx.metrics = MetricsHook(self.config)
        self.dispatch.start()
        self.intake = Intake(self.ctx, self.sink, self.scanner, _specs(self.config))
        self.intake.start()
        status = self.status_line()
        self.health.ready(status)
        self.ready.set()
        log.info(
            "daemon.ready",
            roots=sorted(self.intake.specs),
            submit=daemon.submit,
            state_dir=str(state_dir),
            status=status,
        )

    def stop(self) -> None:
        """Stop in reverse order: observers, submitter (grace), retention, metrics, ledger."""
        self.health.stopping("stopping: no new intake, letting running ingests finish")
        log.info("daemon.stopping", grace=self.config.daemon.shutdown_grace)
        if self.intake is not None:
            self.intake.stop()
        if self.ctx.opened is not None:
            self.dispatch.stop(self.config.daemon.shutdown_grace)
        self.retention.join()
        if self.ctx.metrics is not None:
            self.ctx.metrics.close()
            self.ctx.metrics = None
        self.dispatch.close()
        if self.ctx.opened is not None:
            self.ctx.opened.close()
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        log.info("daemon.stopped")

    # -- the loop ---------------------------------------------------------------------------

    def loop(self) -> None:
        """Run until the stop event is set."""
        while not self.stop_event.is_set():
            self.step()
            busy = self.dispatch.busy or (self.intake is not None and self.intake.busy)
            self.sink.wait(BUSY_TICK if busy else IDLE_TICK)

    def step(self) -> None:
        """One pass of the loop (also called by tests)."""
        assert self.intake is not None
        now = time.time()
        if self.reload_event.is_set():
            self.reload_event.clear()
            self.reload()
        self.intake.step(now)
        self.dispatch.step(now)
        self.retention.tick()
        counts = self.ctx.ledger.counts()
        self.health.report(
            self._status(counts), healthy=self.healthy, counts=counts, metrics=self.ctx.metrics
        )

    # -- status, health, reload -------------------------------------------------------------

    def status_line(self) -> str:
        """The ``STATUS=`` text: counts by state and watched roots."""
        return self._status(self.ctx.ledger.counts())

    def _status(self, counts: Mapping[RunState, int]) -> str:
        watched, roots = self.intake.roots_watched() if self.intake is not None else (0, 0)
        return health.status_line(counts, watched, roots)

    @property
    def healthy(self) -> bool:
        """Observers alive on every root and the last scan good and recent."""
        intake = self.intake
        if intake is None:
            return False
        return health.is_healthy(
            observers_healthy=intake.observers_healthy,
            last_scan_ok=intake.last_scan_ok,
            last_good_scan=intake.last_good_scan,
            now=time.time(),
            rescan_interval=self.config.daemon.rescan_interval,
        )

    def reload(self) -> None:
        """Re-read the configuration file; roots are added and removed without a restart."""
        self.health.reloading()
        try:
            fresh = get_config(self.config.source)
        except ConfigError as exc:
            log.error("daemon.reload_failed", error=str(exc))
            self.health.ready(self.status_line())
            return
        if fresh.daemon.submit != self.config.daemon.submit:
            log.warning("daemon.reload_needs_restart", key="daemon.submit")
        self.config = fresh
        self.scanner = _scanner(fresh)
        specs = _specs(fresh)
        assert self.intake is not None
        self.intake.reconfigure(self.scanner, specs)
        log.info("daemon.reloaded", roots=sorted(specs))
        self.health.ready(self.status_line())


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


__all__ = ["Daemon", "run"]

"""The retention worker: one pass of :mod:`rodrunnerd.retention` in a thread, when one is due.

Every ``retention.interval`` seconds (or at once when :attr:`RetentionWorker.now` is set), after
the ingest work of a step, and never two at a time. A pass that fails is logged and never stops
the daemon; it stops between two folders when the daemon's stop event is set.
"""

from __future__ import annotations

import threading
import time

import structlog

from rodrunnerd import retention
from rodrunnerd.context import StageContext

__all__ = ["RetentionWorker"]

log = structlog.get_logger()


class RetentionWorker:
    """Starts retention passes in a worker thread (see the module docstring)."""

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.thread: threading.Thread | None = None
        self.now = threading.Event()
        """A pass at the next tick, due or not."""
        self._next = 0.0

    def tick(self) -> None:
        """Start a retention pass in a worker when one is due and none is running."""
        settings = self.ctx.config.retention
        if settings.action == "none" or self.ctx.stop_event.is_set():
            return
        if self.thread is not None and self.thread.is_alive():
            return
        if time.monotonic() < self._next and not self.now.is_set():
            return
        self.now.clear()
        self._next = time.monotonic() + settings.interval
        self.thread = threading.Thread(
            target=self.run_pass, name="rodrunnerd-retention", daemon=True
        )
        self.thread.start()

    def run_pass(self) -> retention.PassReport | None:
        """One retention pass (the worker's body; tests call it too)."""
        config = self.ctx.config
        try:
            report = retention.run_pass(config, self.ctx.ledger, stop=self.ctx.stop_event)
        except Exception as exc:  # never let retention stop the daemon
            log.error("retention.failed", error=str(exc))
            return None
        log.info("retention.pass", dry_run=config.retention.dry_run, **retention.summary(report))
        self.ctx.metric(
            "retention_pass", len(report.deletable), report.reclaimable, config.retention.action
        )
        for _run in report.released:
            self.ctx.metric("released", config.retention.action)
        return report

    def join(self) -> None:
        """Wait for a running pass (it stops between two folders once the daemon stops)."""
        if self.thread is not None:
            self.thread.join()

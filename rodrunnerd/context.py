"""What the daemon's stages share: the configuration, the ledger, the metrics, the stop event.

The daemon makes one :class:`StageContext` and hands it to intake, dispatch and the retention
worker; a reload replaces :attr:`StageContext.config` and every stage sees the new one. No
stage calls back into the daemon.
"""

from __future__ import annotations

import threading
from typing import Any

import structlog

from rodrunner.config import AppConfig
from rodrunner.ledger.records import RunRecord
from rodrunner.ledger.store import Ledger
from rodrunner.names import shown
from rodrunnerd.health import MetricsHook

__all__ = ["StageContext", "runlog"]

log = structlog.get_logger()


class StageContext:
    """The configuration, the open ledger, the metrics and the stop event of one daemon."""

    def __init__(self, config: AppConfig, stop_event: threading.Event) -> None:
        self.config = config
        self.stop_event = stop_event
        self.opened: Ledger | None = None
        """The ledger once the daemon has opened it."""
        self.metrics: MetricsHook | None = None

    @property
    def ledger(self) -> Ledger:
        """The open ledger (the daemon opens it before any stage runs)."""
        if self.opened is None:
            raise RuntimeError("the ledger is not open yet: Daemon.start opens it")
        return self.opened

    def metric(self, name: str, *args: Any) -> None:
        """Record ``name`` in the metrics, if there are any."""
        if self.metrics is not None:
            self.metrics.call(name, *args)


def runlog(rec: RunRecord, *, flow_run: bool = True) -> Any:
    """A logger bound to the run (names escaped: a folder name may be any bytes, newlines
    included); its flow run id only once one is known (``flow_run``)."""
    bound = log.bind(
        run_id=shown(rec.run_id), run_dir=shown(rec.run_dir), sequencer_type=rec.sequencer_type
    )
    return bound.bind(flow_run_id=rec.flow_run_id) if flow_run and rec.flow_run_id else bound

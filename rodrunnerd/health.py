"""Health: what the daemon tells systemd and Prometheus about itself.

- :class:`MetricsHook` calls :mod:`rodrunnerd.metrics` when it offers a method and never fails
  the daemon (a bad metrics endpoint must not stop intake);
- :func:`status_line` and :func:`is_healthy` are pure: the ``STATUS=`` text from the ledger's
  counts and the watched roots, and whether the daemon deserves ``WATCHDOG=1``;
- :class:`Health` says ``READY=1``, ``RELOADING=1``, ``STOPPING=1``, ``STATUS=`` when it
  changes, and ``WATCHDOG=1`` only while the daemon is healthy.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import structlog

from rodrunner.config import AppConfig
from rodrunner.ledger.states import RunState
from rodrunnerd.sdnotify import Notifier

__all__ = ["Health", "MetricsHook", "is_healthy", "status_line"]

log = structlog.get_logger()

DEFAULT_WATCHDOG_INTERVAL = 5.0
"""Seconds between two ``WATCHDOG=1`` when systemd set no watchdog interval."""


class MetricsHook:
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
        """Stop serving metrics."""
        self.call("close")

    def call(self, name: str, *args: Any, **kwargs: Any) -> None:
        """``Metrics.<name>(*args, **kwargs)`` if there is such a method; errors are logged."""
        method = getattr(self._impl, name, None) if self._impl is not None else None
        if callable(method):
            try:
                method(*args, **kwargs)
            except Exception as exc:
                log.debug("metrics.failed", metric=name, error=str(exc))


def status_line(counts: Mapping[RunState, int], watched: int, roots: int) -> str:
    """The ``STATUS=`` text: counts by state and watched roots."""
    shown = ", ".join(f"{state.value}={n}" for state, n in counts.items() if n)
    return f"runs: {shown or 'none'}; roots watched {watched}/{roots}"


def is_healthy(
    *,
    observers_healthy: bool,
    last_scan_ok: bool,
    last_good_scan: float,
    now: float,
    rescan_interval: float,
) -> bool:
    """Observers alive on every root and the last scan good and recent (within two rescan
    intervals and a minute)."""
    if not observers_healthy or not last_scan_ok:
        return False
    return now - last_good_scan <= 2 * rescan_interval + 60


class Health:
    """The daemon's reports to systemd (``sd_notify``) and to the metrics."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self._last_status = ""
        self._last_watchdog = 0.0

    def ready(self, status: str) -> None:
        """``READY=1`` with the status line."""
        self.notifier.ready(status)

    def reloading(self) -> None:
        """``RELOADING=1``."""
        self.notifier.reloading()

    def stopping(self, text: str) -> None:
        """``STOPPING=1`` saying why."""
        self.notifier.stopping(text)

    def report(
        self,
        status: str,
        *,
        healthy: bool,
        counts: Mapping[RunState, int],
        metrics: MetricsHook | None,
    ) -> None:
        """``STATUS=`` (and the run counts) when the status changed; ``WATCHDOG=1`` when
        healthy and the watchdog interval has passed."""
        if status != self._last_status:
            self.notifier.status(status)
            self._last_status = status
            if metrics is not None:
                metrics.call("set_run_counts", counts)
        interval = self.notifier.watchdog_interval or DEFAULT_WATCHDOG_INTERVAL
        now = time.monotonic()
        if healthy and now - self._last_watchdog >= interval:
            self.notifier.watchdog()
            self._last_watchdog = now

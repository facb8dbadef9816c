"""Prometheus metrics of the daemon, served at ``daemon.metrics`` (``host:port``; off when unset).

The daemon's loop calls the small API of :class:`Metrics` (``detected``, ``submitted``,
``ingest_finished``, ``scan_completed``, ``observer_restarted``, ``set_run_counts``,
``retention_pass``, ``released``); the
registry is private to each instance so tests and reloads never collide. Names::

    rodrunner_runs{state}                          gauge: runs in the ledger by state
    rodrunner_detections_total{sequencer_type}     counter: run folders seen for the first time
    rodrunner_submissions_total{sequencer_type}    counter: flow runs submitted
    rodrunner_ingests_total{sequencer_type,result} counter: result = succeeded | failed
    rodrunner_uploaded_bytes_total{sequencer_type} counter
    rodrunner_uploaded_files_total{sequencer_type} counter
    rodrunner_ingest_duration_seconds{sequencer_type} histogram
    rodrunner_last_good_scan_timestamp_seconds     gauge: when the last complete scan ended
    rodrunner_scan_duration_seconds                gauge: how long that scan took
    rodrunner_observer_restarts_total{sequencer_type} counter
    rodrunner_runs_deletable                       gauge: ingested runs passing the gate (last
                                                   retention pass)
    rodrunner_bytes_reclaimable                    gauge: bytes those runs' folders hold
    rodrunner_runs_released_total{action}          counter: action = move | delete
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import start_http_server

from rodrunner.config import AppConfig
from rodrunner.ledger.states import RunState
from rodrunnerd.errors import MetricsError

log = structlog.get_logger()

__all__ = ["DURATION_BUCKETS", "Metrics", "parse_address"]

DURATION_BUCKETS = (10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400)
"""Seconds: runs take from seconds (a MiSeq on a fast link) to hours (a NovaSeq X)."""


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6) to ``(host, port)``."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise MetricsError(
            f"daemon.metrics '{address}' is not host:port; use e.g. 127.0.0.1:9464 or null"
        )
    return host.strip("[]"), int(port)


class Metrics:
    """The daemon's metrics and, when ``address`` is given, the HTTP endpoint serving them."""

    def __init__(self, address: str | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.runs = Gauge("rodrunner_runs", "Runs in the ledger by state", ["state"], registry=r)
        for state in RunState:
            self.runs.labels(state.value).set(0)
        self.detections = Counter(
            "rodrunner_detections", "Run folders seen for the first time", ["sequencer_type"],
            registry=r,
        )  # fmt: skip
        self.submissions = Counter(
            "rodrunner_submissions", "Flow runs submitted", ["sequencer_type"], registry=r
        )
        self.ingests = Counter(
            "rodrunner_ingests", "Ingests finished", ["sequencer_type", "result"], registry=r
        )
        self.uploaded_bytes = Counter(
            "rodrunner_uploaded_bytes", "Bytes uploaded to iRODS", ["sequencer_type"], registry=r
        )
        self.uploaded_files = Counter(
            "rodrunner_uploaded_files", "Files uploaded to iRODS", ["sequencer_type"], registry=r
        )
        self.ingest_duration = Histogram(
            "rodrunner_ingest_duration_seconds", "Duration of finished ingests",
            ["sequencer_type"], buckets=DURATION_BUCKETS, registry=r,
        )  # fmt: skip
        self.last_good_scan = Gauge(
            "rodrunner_last_good_scan_timestamp_seconds",
            "Unix time the last complete reconciliation scan ended",
            registry=r,
        )
        self.scan_duration = Gauge(
            "rodrunner_scan_duration_seconds", "Duration of the last complete scan", registry=r
        )
        self.observer_restarts = Counter(
            "rodrunner_observer_restarts", "Observers rebuilt after dying", ["sequencer_type"],
            registry=r,
        )  # fmt: skip
        self.runs_deletable = Gauge(
            "rodrunner_runs_deletable",
            "Ingested runs that passed the safe-to-delete gate in the last retention pass",
            registry=r,
        )
        self.bytes_reclaimable = Gauge(
            "rodrunner_bytes_reclaimable",
            "Bytes the run folders that passed the gate hold (per their stored manifests)",
            registry=r,
        )
        self.runs_released = Counter(
            "rodrunner_runs_released", "Run folders released by retention", ["action"], registry=r
        )
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.address: tuple[str, int] | None = None
        if address:
            self.serve(address)

    @classmethod
    def from_config(cls, config: AppConfig) -> Metrics:
        """Metrics serving at ``config.daemon.metrics`` (collected but not served when unset)."""
        return cls(config.daemon.metrics)

    # -- the endpoint ---------------------------------------------------------------------------

    def serve(self, address: str) -> tuple[str, int]:
        """Start the HTTP endpoint; returns the bound ``(host, port)`` (port 0 picks one)."""
        host, port = parse_address(address)
        try:
            server, thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise MetricsError(
                f"cannot serve metrics on daemon.metrics '{address}': {exc.strerror}; "
                "choose a free host:port or set daemon.metrics: null"
            ) from None
        self._server, self._thread = server, thread
        bound = server.server_address
        self.address = (str(bound[0]), int(bound[1]))
        log.info("metrics.serving", host=self.address[0], port=self.address[1])
        return self.address

    def close(self, timeout: float = 5.0) -> None:
        """Stop the endpoint (if any) and wait up to ``timeout`` s for its thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def render(self) -> bytes:
        """The exposition text, as a scrape would see it."""
        return generate_latest(self.registry)

    # -- what the loop reports -------------------------------------------------------------------

    def detected(self, sequencer_type: str) -> None:
        """A run folder was seen for the first time."""
        self.detections.labels(sequencer_type).inc()

    def submitted(self, sequencer_type: str) -> None:
        """A flow run was submitted."""
        self.submissions.labels(sequencer_type).inc()

    def ingest_finished(
        self,
        sequencer_type: str,
        success: bool,
        result: Mapping[str, Any] | None = None,
        *,
        seconds: float | None = None,
    ) -> None:
        """An ingest ended; ``result`` is the flow's summary (files, bytes, seconds ...)."""
        result = result or {}
        self.ingests.labels(sequencer_type, "succeeded" if success else "failed").inc()
        files = _number(result.get("uploaded_files", result.get("files")))
        size = _number(result.get("uploaded_bytes", result.get("bytes")))
        if files:
            self.uploaded_files.labels(sequencer_type).inc(files)
        if size:
            self.uploaded_bytes.labels(sequencer_type).inc(size)
        took = seconds if seconds is not None else _number(result.get("seconds"))
        if took is not None and took >= 0:
            self.ingest_duration.labels(sequencer_type).observe(took)

    def scan_completed(self, seconds: float, at: float | None = None) -> None:
        """A reconciliation scan of every root succeeded."""
        self.last_good_scan.set(time.time() if at is None else at)
        self.scan_duration.set(seconds)

    def observer_restarted(self, sequencer_type: str) -> None:
        """A dead observer was rebuilt."""
        self.observer_restarts.labels(sequencer_type).inc()

    def set_run_counts(self, counts: Mapping[RunState, int] | Mapping[str, int]) -> None:
        """Runs by state, from :meth:`~rodrunner.ledger.store.Ledger.counts`."""
        for state in RunState:
            value = counts.get(state, counts.get(state.value, 0))  # type: ignore[call-overload]
            self.runs.labels(state.value).set(value)

    def retention_pass(self, deletable: int, reclaimable: int, action: str | None = None) -> None:
        """A retention pass judged the ingested runs: how many may go, how many bytes."""
        self.runs_deletable.set(deletable)
        self.bytes_reclaimable.set(reclaimable)

    def released(self, action: str) -> None:
        """Retention moved or deleted a run folder."""
        self.runs_released.labels(action).inc()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)

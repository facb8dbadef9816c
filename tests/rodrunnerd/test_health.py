"""Health's pure parts: the STATUS= line and whether the daemon deserves WATCHDOG=1."""

from __future__ import annotations

from rodrunner.ledger.states import RunState
from rodrunnerd.health import is_healthy, status_line


def test_status_line_counts_only_states_that_hold_runs() -> None:
    """Counts of zero are left out; no runs at all says none."""
    counts = dict.fromkeys(RunState, 0) | {RunState.QUEUED: 2, RunState.INGESTED: 5}
    assert status_line(counts, 1, 2) == "runs: queued=2, ingested=5; roots watched 1/2"
    assert status_line(dict.fromkeys(RunState, 0), 0, 0) == "runs: none; roots watched 0/0"


def test_healthy_needs_observers_and_a_recent_good_scan() -> None:
    """Dead observers, a failed last scan or a good scan older than two intervals and a
    minute make the daemon unhealthy."""
    good = {
        "observers_healthy": True,
        "last_scan_ok": True,
        "last_good_scan": 1000.0,
        "rescan_interval": 300.0,
    }
    assert is_healthy(**good, now=1000.0 + 660.0)
    assert not is_healthy(**good, now=1000.0 + 661.0)
    assert not is_healthy(**(good | {"observers_healthy": False}), now=1000.0)
    assert not is_healthy(**(good | {"last_scan_ok": False}), now=1000.0)

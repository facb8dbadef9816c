"""Load: many runs completing within a minute on a root that already holds thousands of
ingested run folders. All ingested, never more than ``max_concurrent_ingests`` at once.

Sizes: ``RODRUNNER_RELIABILITY_SCALE=full`` is issue 8's 200 new runs over 60 s on a root of
20,000 ingested folders; the CI default is 50 runs over 15 s on 5,000 folders. The daemon's
peak RSS, its RSS over time and its scan times are reported (docs/reliability.md), not
asserted: they are measurements of a shared machine.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rodrunner.discovery import find_sequencer_runs
from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger
from rodrunner.simulate import simulate_run
from tests.daemon_process import DaemonProcess
from tests.reliability.harness import SCALE, Share, audit
from tests.reliability.report import record

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

MAX_CONCURRENT = 3


def make_ingested_history(share: Share, root: Path, count: int) -> None:
    """``count`` finished run folders on the root, each ``ingested`` in the daemon's ledger."""
    for i in range(count):
        run = root / f"240101_M04034_{i:05d}_000000000-H{i:05d}"
        run.mkdir()
        (run / "RTAComplete.txt").write_bytes(b"")
    entries = [e for e in find_sequencer_runs(root, "miseq") if e.state == "complete"]
    assert len(entries) == count
    with Ledger.open(share.state_dir) as ledger:
        for entry in entries:
            ledger.observe(str(entry.run_dir), entry.run_id, "miseq")
            for state in (RunState.QUEUED, RunState.SUBMITTED, RunState.INGESTED):
                ledger.transition(str(entry.run_dir), state)


def max_concurrent_ingests(daemon: DaemonProcess) -> int:
    """The most flow runs between ``ingest.started`` and their end, in the daemon's log order."""
    active: set[str] = set()
    most = 0
    for event in daemon.events():
        name, key = event.get("event"), str(event.get("flow_run_id") or event.get("run_dir"))
        if name == "ingest.started":
            active.add(key)
            most = max(most, len(active))
        elif name in ("ingest.complete", "ingest.failed", "ingest.skipped"):
            active.discard(key)
    return most


def max_ingesting_collections(share: Share) -> int:
    """Server side: the most run collections between ``rodrunner::status=ingesting`` and
    ``=complete`` at once, in the order the sandbox applied the AVU operations."""
    active: set[str] = set()
    most = 0
    for _, path, op, attr, value in share.sandbox.faults.audit("avu"):
        if op != "add" or attr != "rodrunner::status":
            continue
        if value == "ingesting":
            active.add(path)
            most = max(most, len(active))
        elif value == "complete":
            active.discard(path)
    return most


def max_in_flight(daemon: DaemonProcess) -> int:
    """The most runs between ``run.submitted`` and ``run.ingested``/``run.failed`` in log order.

    An upper bound only: the loop may log a new ``run.submitted`` in the pass that sees a slot
    free, before it logs the finished run's ``run.ingested`` in the next pass.
    """
    active: set[str] = set()
    most = 0
    for event in daemon.events():
        name, key = event.get("event"), str(event.get("run_dir"))
        if name == "run.submitted":
            active.add(key)
            most = max(most, len(active))
        elif name in ("run.ingested", "run.failed"):
            active.discard(key)
    return most


class RssSampler:
    """Samples the daemon's RSS once a second in a thread."""

    def __init__(self, daemon: DaemonProcess) -> None:
        self.daemon = daemon
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            rss = self.daemon.rss_kib()
            if rss is not None:
                self.samples.append(rss)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def test_runs_completing_within_a_minute_on_a_big_root(share: Share) -> None:
    """Every new run is ingested once and verified, with at most max_concurrent_ingests at once."""
    share.configure(
        ["miseq"], max_concurrent_ingests=MAX_CONCURRENT, rescan_interval=30, settle_seconds=1
    )
    root = share.roots / "miseq"
    started = time.monotonic()
    make_ingested_history(share, root, SCALE.load_existing)
    history_seconds = time.monotonic() - started
    runs = [
        simulate_run(
            root,
            "miseq",
            run_id=f"250501_M04034_{n:04d}_000000000-L{n:04d}",
            files=40,
            size=2000,
            seed=n,
            complete=False,
        )
        for n in range(SCALE.load_runs)
    ]
    daemon = share.start(ready_timeout=600)
    ready_rss = daemon.rss_kib()
    sampler = RssSampler(daemon)
    window = 60.0 if SCALE.name == "full" else 15.0
    began = time.monotonic()
    for i, run in enumerate(runs):
        time.sleep(max(0.0, began + window * i / len(runs) - time.monotonic()))
        (run / "RTAComplete.txt").write_text("RTA 1.18.54\n")  # the instrument finishes
    share.wait_complete([("miseq", r) for r in runs], timeout=1200)
    drained = time.monotonic() - began
    sampler.stop()
    peak = daemon.peak_rss_kib()
    assert daemon.stop() == 0, daemon.output()

    most = max_concurrent_ingests(daemon)
    assert 1 <= most <= MAX_CONCURRENT, f"{most} ingests at once"
    ingesting = max_ingesting_collections(share)
    assert 1 <= ingesting <= MAX_CONCURRENT, f"{ingesting} run collections ingesting at once"
    in_flight = max_in_flight(daemon)
    started_runs = {e.get("run_id") for e in daemon.events("ingest.started")}
    assert started_runs == {r.name for r in runs}, "only the new runs are ingested"
    counts = audit(share, [("miseq", r) for r in runs])
    assert counts["ledger_records"] == SCALE.load_existing + SCALE.load_runs
    scans: list[dict[str, Any]] = daemon.events("scan.completed")
    record(
        "load",
        new_runs=SCALE.load_runs,
        existing_folders=SCALE.load_existing,
        completion_window_seconds=window,
        seconds_until_all_ingested=round(drained, 1),
        max_concurrent_observed=most,
        max_ingesting_collections=ingesting,
        max_submitted_log_order=in_flight,
        max_concurrent_ingests=MAX_CONCURRENT,
        rss_ready_mib=round((ready_rss or 0) / 1024, 1),
        rss_end_mib=round(sampler.samples[-1] / 1024, 1) if sampler.samples else None,
        rss_peak_mib=round((peak or 0) / 1024, 1),
        rss_quartiles_mib=[
            round(sampler.samples[int(q * (len(sampler.samples) - 1))] / 1024, 1)
            for q in (0.25, 0.5, 0.75)
        ]
        if sampler.samples
        else None,
        rss_samples=len(sampler.samples),
        first_scan_seconds=scans[0].get("seconds") if scans else None,
        scan_seconds_max=max((s.get("seconds") or 0) for s in scans) if scans else None,
        scans=len(scans),
        ledger_history_seconds=round(history_seconds, 1),
        **counts,
    )

"""The daemon in process: real run folders, the real ledger, the iRODS sandbox over TCP and
the real "Ingest Run" flow under Prefect's test harness."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from rodrunner.config import AppConfig, get_config
from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from rodrunnerd.daemon import Daemon
from rodrunnerd.scanner import RootSpec, Scanner, ScanReport
from rodrunnerd.sdnotify import Notifier


def write_config(tmp: Path, sandbox: SandboxInfo) -> AppConfig:
    """A configuration file (JSON is YAML) with one miseq root and settle 0; loaded."""
    config = {
        "irods": {
            "host": sandbox.host,
            "port": sandbox.port,
            "zone": sandbox.zone,
            "user": sandbox.user,
            "password": sandbox.password.get_secret_value(),
        },
        "sequencer": {"base_dir": str(tmp / "share"), "types": {"miseq": {}}},
        "daemon": {"state_dir": str(tmp / "state"), "settle_seconds": 0},
    }
    (tmp / "share" / "miseq").mkdir(parents=True, exist_ok=True)
    path = tmp / "config.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return get_config(path)


def run_until(daemon: Daemon, run_dir: Path, state: RunState, timeout: float = 120) -> None:
    """Step the daemon until the ledger has ``run_dir`` in ``state`` (poll with a timeout)."""
    assert daemon.ledger is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        daemon.step()
        record = daemon.ledger.get(str(run_dir))
        if record is not None and record.state is state:
            return
        daemon.sink.wait(0.1)
    raise AssertionError(f"{run_dir.name} not {state} after {timeout} s: {record}")


def life(config: AppConfig) -> Daemon:
    """A started daemon (no systemd: a notifier without a socket)."""
    daemon = Daemon(config, notifier=Notifier(None))
    daemon.start()
    return daemon


def events(logs: Sequence[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    """The captured events called ``name``."""
    return [e for e in logs if e.get("event") == name]


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.usefixtures("prefect_harness")
def test_a_forced_run_queued_before_a_restart_is_submitted_forced(
    tmp_path: Path, irods_sandbox: SandboxInfo
) -> None:
    """A .rodrunner-ingest on an ingested run, queued when the daemon stops, is submitted
    with force=True after the restart (the flow re-sends instead of skipping)."""
    config = write_config(tmp_path, irods_sandbox)
    run = simulate_run(tmp_path / "share" / "miseq", "miseq", files=4, size=100)

    with capture_logs() as first:
        daemon = life(config)
        try:
            run_until(daemon, run, RunState.INGESTED)
        finally:
            daemon.stop()
    assert [e["status"] for e in events(first, "run.ingested")] == ["complete"]

    trigger = run / ".rodrunner-ingest"
    trigger.write_text("")
    later = time.time() + 5  # surely newer than any mtime the first life handled
    os.utime(trigger, (later, later))
    daemon = life(config)  # the start scan queues the forced run; it stops before submitting
    daemon.stop()
    with Ledger.open(Path(config.daemon.state_dir)) as ledger:
        queued = ledger.get(str(run))
    assert queued is not None
    assert queued.state is RunState.QUEUED
    assert queued.forced

    with capture_logs() as second:
        daemon = life(config)
        try:
            run_until(daemon, run, RunState.INGESTED)
        finally:
            daemon.stop()
    assert [e["forced"] for e in events(second, "run.submitted")] == [True]
    assert [e["status"] for e in events(second, "run.ingested")] == ["complete"]
    assert [e.get("force") for e in events(second, "ingest.started")] == [True]


class _InstrumentWritesDuringScan(Scanner):
    """The real scanner; the instrument renames the indicator in right after the scan looked
    (before the daemon has watched the still-incomplete run folder)."""

    def __init__(self, run: Path) -> None:
        super().__init__(trigger_file=".rodrunner-ingest", skip_file=".rodrunner-skip")
        self.run = run

    def scan(self, specs: Iterable[RootSpec]) -> ScanReport:
        report = super().scan(specs)
        if not (self.run / "RTAComplete.txt").exists():
            (self.run / "RTAComplete.tmp").write_text("RTA 2.4.11\n")
            (self.run / "RTAComplete.tmp").rename(self.run / "RTAComplete.txt")
        return report


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.usefixtures("prefect_harness")
def test_an_indicator_written_before_the_run_folder_is_watched_is_not_missed(
    tmp_path: Path, irods_sandbox: SandboxInfo
) -> None:
    """A run seen incomplete whose indicator arrives before its watch starts is looked at
    again once watched: it is submitted without waiting for the next rescan."""
    config = write_config(tmp_path, irods_sandbox)
    run = simulate_run(tmp_path / "share" / "miseq", "miseq", files=4, size=100, complete=False)
    daemon = Daemon(config, notifier=Notifier(None))
    daemon.scanner = _InstrumentWritesDuringScan(run)
    with capture_logs() as logs:
        daemon.start()
        try:
            run_until(daemon, run, RunState.INGESTED)
        finally:
            daemon.stop()
    assert [e["run_dir"] for e in events(logs, "run.submitted")] == [str(run)]
    assert len(events(logs, "scan.completed")) == 1  # no rescan found it


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.usefixtures("prefect_harness")
def test_a_run_the_ledger_will_not_submit_is_never_handed_over(
    tmp_path: Path, irods_sandbox: SandboxInfo
) -> None:
    """The ledger moves a run to submitted BEFORE the submitter gets it: when another process
    changed the run in between (here: skipped it), the transition is refused and no flow runs."""
    config = write_config(tmp_path, irods_sandbox)
    run = simulate_run(tmp_path / "share" / "miseq", "miseq", files=2, size=50)
    daemon = Daemon(config, notifier=Notifier(None))
    daemon.start()
    try:
        assert daemon.ledger is not None
        assert daemon.dispatch.submitter is not None
        record = daemon.ledger.get(str(run))
        assert record is not None
        assert record.state is RunState.QUEUED
        listed = daemon.ledger.list
        other = Ledger.open(config.daemon.state_dir)  # another process's connection

        def stale_list(states: Iterable[RunState] | None = None) -> list[Any]:
            found = listed(states)
            other.transition(str(run), RunState.SKIPPED)  # changed after the daemon read it
            return found

        daemon.ledger.list = stale_list  # type: ignore[method-assign]
        with capture_logs() as logs:
            daemon.dispatch._submit_queued()
        daemon.ledger.list = listed  # type: ignore[method-assign]
        other.close()
        assert str(run) not in daemon.dispatch.submitter.active()
        assert events(logs, "run.transition_refused"), logs
        assert not events(logs, "run.submitted"), logs
        after = daemon.ledger.get(str(run))
        assert after is not None
        assert after.state is RunState.SKIPPED
    finally:
        daemon.stop()

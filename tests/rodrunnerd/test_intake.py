"""Intake alone: real run folders, real watchers and a real SQLite ledger, no submitter."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from rodrunner.config import AppConfig
from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger
from rodrunner.simulate import simulate_run
from rodrunnerd.context import StageContext
from rodrunnerd.intake import Intake
from rodrunnerd.observers import EventSink
from rodrunnerd.scanner import Scanner, roots_from_config


def config_of(tmp: Path) -> AppConfig:
    """One miseq root watched by polling every 0.2 s, settle 0, the ledger under tmp."""
    (tmp / "share" / "miseq").mkdir(parents=True, exist_ok=True)
    return AppConfig.model_validate(
        {
            "sequencer": {
                "base_dir": str(tmp / "share"),
                "types": {"miseq": {"observer": "polling", "poll_interval": 0.2}},
            },
            "daemon": {"state_dir": str(tmp / "state"), "settle_seconds": 0},
        }
    )


@pytest.fixture
def intake(tmp_path: Path) -> Iterator[Intake]:
    """An intake over the miseq root with its own ledger; observers and ledger closed after."""
    config = config_of(tmp_path)
    ctx = StageContext(config, threading.Event())
    ctx.opened = Ledger.open(config.daemon.state_dir)
    stage = Intake(
        ctx,
        EventSink(),
        Scanner(trigger_file=config.daemon.trigger_file, skip_file=config.daemon.skip_file),
        {str(s.root): s for s in roots_from_config(config)},
    )
    try:
        yield stage
    finally:
        stage.stop()
        ctx.ledger.close()


def state_of(intake: Intake, run: Path) -> RunState | None:
    """The run's state in the intake's ledger (None: never recorded)."""
    record = intake.ctx.ledger.get(str(run))
    return None if record is None else record.state


@pytest.mark.timeout(120)
def test_intake_queues_complete_runs_and_watches_incomplete_ones(
    intake: Intake, tmp_path: Path
) -> None:
    """The first scan queues a complete run and records an incomplete one as seen; when its
    indicator arrives, the watch on it brings it to queued. Nothing is submitted."""
    root = tmp_path / "share" / "miseq"
    done = simulate_run(root, "miseq", files=2, size=10, run_id="250101_M0_0001_done")
    later = simulate_run(
        root, "miseq", files=2, size=10, run_id="250101_M0_0002_later", complete=False
    )
    with capture_logs() as logs:
        intake.start()
        assert state_of(intake, done) is RunState.QUEUED
        assert state_of(intake, later) is RunState.SEEN
        (later / "RTAComplete.tmp").write_text("RTA 2.4.11\n")
        (later / "RTAComplete.tmp").rename(later / "RTAComplete.txt")
        deadline = time.monotonic() + 60
        while state_of(intake, later) is not RunState.QUEUED and time.monotonic() < deadline:
            intake.sink.wait(0.2)
            intake.step(time.time())
    assert state_of(intake, later) is RunState.QUEUED
    ready = [e["run_dir"] for e in logs if e["event"] == "run.ready"]
    assert ready == [str(done), str(later)]
    assert not [e for e in logs if e["event"] == "run.submitted"]
    record = intake.ctx.ledger.get(str(later))
    assert record is not None
    assert record.completion_key is not None
    assert record.attempts == 0


def test_a_skip_file_and_a_problem_reach_the_ledger(intake: Intake, tmp_path: Path) -> None:
    """A skip file makes the run skipped; an indicator that is a directory is a problem noted
    as the run's last_error, its state left alone."""
    root = tmp_path / "share" / "miseq"
    skipped = simulate_run(root, "miseq", files=1, size=10, run_id="250101_M0_0003_skip")
    (skipped / ".rodrunner-skip").write_text("")
    odd = simulate_run(root, "miseq", files=1, size=10, run_id="250101_M0_0004_odd", complete=False)
    (odd / "RTAComplete.txt").mkdir()
    intake.full_scan()
    assert state_of(intake, skipped) is RunState.SKIPPED
    record = intake.ctx.ledger.get(str(odd))
    assert record is not None
    assert record.state is RunState.SEEN
    assert record.last_error is not None
    assert "RTAComplete.txt" in record.last_error

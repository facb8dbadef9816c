"""What the daemon reports about an ingested run: attempts, flow run ids, ISO 8601 times."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from rodrunnerd.cli import _status
from tests.rodrunnerd.test_daemon import events, life, run_until, write_config

RUN = "/seq/miseq/240101_M00001_0001_000000000-AAAAA"


def test_ingested_counts_the_attempt_that_succeeded(tmp_path: Path) -> None:
    """A run ingested at the first try shows 1 attempt; after two failures, 3."""
    with Ledger.open(tmp_path, create=True) as ledger:
        ledger.observe(RUN, "r1", "miseq")
        for state in (RunState.QUEUED, RunState.SUBMITTED, RunState.RUNNING):
            ledger.transition(RUN, state)
        assert ledger.transition(RUN, RunState.INGESTED).attempts == 1
        ledger.transition(RUN, RunState.QUEUED)
        for _ in range(2):
            ledger.transition(RUN, RunState.SUBMITTED)
            ledger.transition(RUN, RunState.FAILED, error="iRODS down")
            ledger.transition(RUN, RunState.QUEUED)
        ledger.transition(RUN, RunState.SUBMITTED)
        assert ledger.transition(RUN, RunState.INGESTED).attempts == 3


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.usefixtures("prefect_harness")
def test_embedded_ingest_reports_attempts_flow_run_and_iso_times(
    tmp_path: Path, irods_sandbox: SandboxInfo
) -> None:
    """Embedded mode: run.submitted carries no empty flow_run_id, run.ingested the real one;
    status shows 1 attempt and ISO 8601 times."""
    config = write_config(tmp_path, irods_sandbox)
    run = simulate_run(tmp_path / "share" / "miseq", "miseq", files=3, size=64)
    with capture_logs() as logs:
        daemon = life(config)
        try:
            run_until(daemon, run, RunState.INGESTED)
        finally:
            daemon.stop()
    [submitted] = events(logs, "run.submitted")
    assert "flow_run_id" not in submitted
    [ingested] = events(logs, "run.ingested")
    assert ingested["flow_run_id"]
    out = io.StringIO()
    assert _status(config, True, out) == 0
    [item] = json.loads(out.getvalue())
    assert item["attempts"] == 1
    assert item["flow_run_id"] == ingested["flow_run_id"]
    for key in ("created_at", "updated_at"):
        assert item[key].endswith("Z")
        assert datetime.fromisoformat(item[key]).tzinfo is not None
    assert item["next_attempt_at"] is None

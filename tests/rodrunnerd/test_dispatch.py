"""Dispatch alone: queued runs in a real ledger go to the real embedded submitter and the real
"Ingest Run" flow against the iRODS sandbox over TCP; outcomes come back into the ledger."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from structlog.testing import capture_logs

from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from rodrunnerd.context import StageContext
from rodrunnerd.dispatch import Dispatch
from tests.rodrunner.test_run import SUMMARY
from tests.rodrunnerd.test_daemon import events, write_config


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.usefixtures("prefect_harness")
def test_dispatch_ingests_queued_runs_and_backs_off_failed_ones(
    tmp_path: Path, irods_sandbox: SandboxInfo
) -> None:
    """A queued run is submitted and ends ingested; a queued run whose folder is gone ends
    failed with one attempt and a retry time in the future (the one backoff policy)."""
    config = write_config(tmp_path, irods_sandbox)
    run = simulate_run(tmp_path / "share" / "miseq", "miseq", files=3, size=64)
    gone = str(tmp_path / "share" / "miseq" / "250101_M0_0009_gone")
    ctx = StageContext(config, threading.Event())
    ctx.opened = Ledger.open(config.daemon.state_dir)
    for run_dir, run_id in ((str(run), run.name), (gone, "250101_M0_0009_gone")):
        ctx.ledger.observe(run_dir, run_id, "miseq")
        ctx.ledger.transition(run_dir, RunState.QUEUED, completion_key=f"key-{run_id}")
    dispatch = Dispatch(ctx)
    dispatch.start()
    try:
        with capture_logs() as logs:
            deadline = time.monotonic() + 240
            settled = {RunState.INGESTED, RunState.FAILED}
            while time.monotonic() < deadline:
                before = time.time()
                dispatch.step(before)
                states = {r.run_dir: r.state for r in ctx.ledger.list()}
                if states[str(run)] in settled and states[gone] in settled:
                    break
                time.sleep(0.1)
    finally:
        dispatch.stop(60)
        dispatch.close()
    ingested = ctx.ledger.get(str(run))
    failed = ctx.ledger.get(gone)
    ctx.ledger.close()
    assert ingested is not None
    assert (ingested.state, ingested.attempts) == (RunState.INGESTED, 1)
    assert failed is not None
    assert (failed.state, failed.attempts) == (RunState.FAILED, 1)
    assert failed.next_attempt_at is not None
    assert failed.next_attempt_at > before
    assert [e["run_dir"] for e in events(logs, "run.ingested")] == [str(run)]
    assert [e["will_retry"] for e in events(logs, "run.failed")] == [True]


_RECEIVED: list[Any] = []


@flow(name="records-its-config", persist_result=False)
def _recording_ingest(
    run_dir: str, sequencer_type: str | None = None, config: Any = None, force: bool = False
) -> dict[str, Any]:
    """Stands in for "Ingest Run" with its parameters: keeps what it was given as config."""
    _RECEIVED.append(config)
    return SUMMARY.model_copy(update={"run_dir": run_dir}).as_result()


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("prefect_harness")
def test_a_flow_run_gets_the_configuration_file_to_read_at_each_attempt(
    tmp_path: Path, irods_sandbox: SandboxInfo
) -> None:
    """The flow is handed the configuration FILE (resolved path), never the daemon's object:
    each attempt reads the file, so a password fixed there is used by the next retry."""
    config = write_config(tmp_path, irods_sandbox)
    run = simulate_run(tmp_path / "share" / "miseq", "miseq", files=1, size=8)
    ctx = StageContext(config, threading.Event())
    ctx.opened = Ledger.open(config.daemon.state_dir)
    ctx.ledger.observe(str(run), run.name, "miseq")
    ctx.ledger.transition(str(run), RunState.QUEUED, completion_key="key")
    _RECEIVED.clear()
    dispatch = Dispatch(ctx, flow=_recording_ingest)
    dispatch.start()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not _RECEIVED:
            dispatch.step(time.time())
            time.sleep(0.1)
    finally:
        dispatch.stop(30)
        dispatch.close()
        ctx.ledger.close()
    assert [str(Path(str(config.source)).resolve())] == _RECEIVED

"""A run's id: the daemon's run.* events and the flow's ingest.* events name one run alike."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from rodrunnerd.cli import main
from rodrunnerd.daemon import Daemon
from rodrunnerd.sdnotify import Notifier
from tests.rodrunnerd.test_daemon import write_config


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.usefixtures("prefect_harness")
def test_a_renamed_run_folder_is_named_by_its_runinfo_id_in_every_event(
    tmp_path: Path, irods_sandbox: SandboxInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run folder renamed away from its RunInfo id: run.submitted, ingest.* and run.ingested
    all carry the RunInfo id, which also names the collection, and from submission on the
    ledger (`rodrunnerd status --json`, lookups by run id) knows the run by it too."""
    config = write_config(tmp_path, irods_sandbox)
    made = simulate_run(tmp_path / "staging", "miseq", files=3, size=100)
    run = made.rename(tmp_path / "share" / "miseq" / "renamed-by-an-operator")
    daemon = Daemon(config, notifier=Notifier(None))
    with capture_logs() as logs:
        daemon.start()
        try:
            assert daemon.ledger is not None
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                daemon.step()
                record = daemon.ledger.get(str(run))
                if record is not None and record.state is RunState.INGESTED:
                    break
                daemon.sink.wait(0.1)
        finally:
            daemon.stop()
    named = {
        e["event"]: e["run_id"]
        for e in logs
        if e["event"] in ("run.submitted", "ingest.started", "ingest.complete", "run.ingested")
    }
    assert named == dict.fromkeys(
        ("run.submitted", "ingest.started", "ingest.complete", "run.ingested"), made.name
    )
    [ingested] = [e for e in logs if e["event"] == "run.ingested"]
    assert ingested["irods_path"].endswith(f"/miseq/{made.name}")
    [detected] = [e for e in logs if e["event"] == "run.detected"]
    assert detected["run_id"] == run.name  # before submission: the folder's name
    with Ledger.open_read_only(config.daemon.state_dir) as ledger:
        record = ledger.get(str(run))
        assert record is not None
        assert record.run_id == made.name
        assert ledger.get(made.name) == record
        assert ledger.get(run.name) is None
        history = ledger.history(str(run))
    [submitted] = [t for t in history if t.to_state is RunState.SUBMITTED]
    assert submitted.error == f"run id {made.name!r} from the run's metadata (was {run.name!r})"
    capsys.readouterr()
    assert main(["status", "--json", "--config", str(tmp_path / "config.yaml")]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["run_dir"], listed["run_id"]) == (str(run), made.name)

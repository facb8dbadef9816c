"""SIGKILL during a release (the real daemon process): the folder or the record of its release
survives, never neither; the next start finishes the release."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from rodrunner.config import get_config
from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from rodrunnerd import retention
from tests.daemon_process import DaemonProcess, wait_for
from tests.rodrunnerd.test_daemon import run_until
from tests.rodrunnerd.test_retention import age, daemon_of, deep_verify

__all__ = ["daemon_of"]  # the fixture, used by name

BULK_FILES = 20000  # excluded from the ingest, so deleting them keeps the release busy


def write(tmp: Path, sandbox: SandboxInfo, action: str) -> Path:
    config = {
        "irods": {
            "host": sandbox.host,
            "port": sandbox.port,
            "zone": sandbox.zone,
            "user": sandbox.user,
            "password": sandbox.password.get_secret_value(),
        },
        "sequencer": {"base_dir": str(tmp / "share"), "types": {"miseq": {"exclude": ["bulk"]}}},
        "daemon": {"state_dir": str(tmp / "state"), "settle_seconds": 0},
        "logging": {"format": "json"},
        "retention": {"action": action, "keep_days": 1, "verify_within": 1},
    }
    (tmp / "share" / "miseq").mkdir(parents=True, exist_ok=True)
    path = tmp / "config.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def record(state_dir: Path, run: Path) -> tuple[RunState, str | None]:
    with Ledger.open(state_dir, create=False) as ledger:
        rec = ledger.get(str(run))
    assert rec is not None
    return rec.state, rec.last_error


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.usefixtures("prefect_harness")
def test_sigkill_during_a_release_leaves_the_folder_or_its_record(
    tmp_path: Path, irods_sandbox: SandboxInfo, daemon_of: Any
) -> None:
    """The daemon is killed (SIGKILL, whole process group) while it deletes a large folder:
    the folder is still whole at its place, or the ledger says releasing/released; after the
    restart the run is released and nothing of the folder is left."""
    path = write(tmp_path, irods_sandbox, "none")
    config = get_config(path)
    run = simulate_run(tmp_path / "share" / "miseq", "miseq", files=3, size=64, run_id="R_kill")
    daemon = daemon_of(config)
    run_until(daemon, run, RunState.INGESTED)
    daemon.stop()
    bulk = run / "bulk"
    bulk.mkdir()
    for i in range(BULK_FILES):
        (bulk / f"f{i:05d}").write_bytes(b"")
    age(config, run)
    deep_verify(config, run)
    before = sorted(p.relative_to(run) for p in run.rglob("*"))

    write(tmp_path, irods_sandbox, "delete")
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "RODRUNNER_IRODS__PASSWORD": irods_sandbox.password.get_secret_value(),
        "PYTHONUNBUFFERED": "1",
    }
    for key in ("PREFECT_API_URL", "RODRUNNER_CONFIG", "NOTIFY_SOCKET"):
        env.pop(key, None)
    state_dir = tmp_path / "state"
    life = DaemonProcess(path, env)
    try:
        deadline = time.monotonic() + 300
        while life.alive() and time.monotonic() < deadline:  # poll tightly: kill mid-release
            if record(state_dir, run)[0] is not RunState.INGESTED:
                break
            time.sleep(0.005)
        life.stop(signal.SIGKILL)
    finally:
        if life.alive():
            life.stop(signal.SIGKILL)
    state, _why = record(state_dir, run)
    whole = run.is_dir() and sorted(p.relative_to(run) for p in run.rglob("*")) == before
    assert whole or state in (RunState.RELEASING, RunState.RELEASED), life.output()

    again = DaemonProcess(path, env)
    try:
        wait_for(lambda: again.saw("daemon.ready") or not again.alive(), 180, "the restart")
        wait_for(
            lambda: record(state_dir, run)[0] is RunState.RELEASED or not again.alive(),
            300,
            "the release to finish",
        )
    finally:
        assert again.stop() == 0
    state, why = record(state_dir, run)
    assert state is RunState.RELEASED, again.output()
    assert why is not None
    assert why.startswith("deleted")
    assert not os.path.lexists(run)
    assert not os.path.lexists(retention.tombstone(str(run)))

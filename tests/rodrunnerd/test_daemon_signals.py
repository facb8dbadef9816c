"""Ctrl-C in the daemon's terminal: the real daemon process, its Prefect server, the sandbox.

A Ctrl-C sends SIGINT to the whole foreground process group. The daemon must be the one that
decides the order of the shutdown: its helpers (the Prefect server its flow runs are recorded
on) keep serving until it has finished, and it has the last word (``daemon.stopped``).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from irods.session import iRODSSession

from rodrunner.localprefect import server_dir, server_status
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from tests.daemon_process import wait_for
from tests.rodrunnerd.test_daemon_e2e import Share

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def share(
    tmp_path: Path, irods_sandbox: SandboxInfo, irods_session: iRODSSession
) -> Iterator[Share]:
    """A sequencer share, a sandbox and the daemon lives started on them."""
    s = Share(tmp_path, irods_sandbox, irods_session)
    try:
        yield s
    finally:
        s.stop_all()


def test_ctrl_c_mid_ingest_lets_the_daemon_finish_before_its_prefect_server(
    share: Share,
) -> None:
    """SIGINT to the daemon's process group during an ingest: the ingest finishes and is
    recorded, ``daemon.stopped`` is the last word, exit 0, no error after the signal, and the
    Prefect server the daemon started is gone with it."""
    config = share.configure({"novaseq": {}}, shutdown_grace=240)
    daemon = share.start(config)
    state = share.tmp / "state"
    assert server_status(server_dir(state))["running"], daemon.output()
    share.sandbox.faults.delay_seconds = 0.02  # an ingest of some seconds, to interrupt
    run = simulate_run(share.roots / "novaseq", "novaseq", files=80, size=200)
    wait_for(lambda: daemon.saw('"ingest.started"'), 240, f"ingest.started\n{daemon.output()}")
    signalled = len(daemon.lines)

    os.killpg(daemon.proc.pid, signal.SIGINT)  # what a Ctrl-C in its terminal does

    assert daemon.proc.wait(300) == 0, daemon.output()
    daemon.stop()
    after = daemon.lines[signalled:]
    events = [e.get("event") for e in daemon.events()]
    assert events[-1] == "daemon.stopped", daemon.output()
    assert "daemon.stopping" in events, daemon.output()
    ingested = daemon.events("run.ingested")
    assert len(ingested) == 1, daemon.output()
    assert ingested[0]["flow_run_id"] or daemon.events("ingest.complete"), daemon.output()
    needles = ('"level": "error"', "websocket", "Traceback", "ERROR", "Error logging")
    problems = [line for line in after if any(n in line for n in needles)]
    assert not problems, "".join(problems)
    assert share.status("novaseq", run.name) == "complete"
    assert not server_status(server_dir(state))["running"], "the daemon stops its server"

"""End to end: the real daemon process, the iRODS sandbox over TCP and Prefect.

Each test starts ``python -m rodrunnerd --config F`` as a subprocess (its own temporary
PREFECT_HOME, no PREFECT_API_URL: it records on the local Prefect server of its state
directory), writes run folders with the simulator the way instruments do, and checks iRODS
itself: ``rodrunner::status=complete`` on every run collection, and one ``ingest.complete``
event per run across every daemon life.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from irods.session import iRODSSession

from rodrunner.localprefect import server_dir, stop_server
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from tests.daemon_process import DaemonProcess, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

STATUS = "rodrunner::status"


class Share:
    """Roots, config and daemon lives of one test."""

    def __init__(self, tmp: Path, sandbox: SandboxInfo, session: iRODSSession) -> None:
        self.tmp = tmp
        self.sandbox = sandbox
        self.session = session
        self.roots = tmp / "roots"
        self.lives: list[DaemonProcess] = []
        self.env = {
            **os.environ,
            "PREFECT_HOME": str(tmp / "prefect"),
            "RODRUNNER_IRODS__PASSWORD": sandbox.password.get_secret_value(),
            "PYTHONUNBUFFERED": "1",
        }
        for key in ("PREFECT_API_URL", "RODRUNNER_CONFIG", "NOTIFY_SOCKET"):
            self.env.pop(key, None)

    def configure(self, types: dict[str, dict[str, Any]], **daemon: Any) -> Path:
        """Write config.yaml for these roots (JSON is YAML) and create the roots."""
        import json

        for name in types:
            (self.roots / name).mkdir(parents=True, exist_ok=True)
        settings = {
            "state_dir": str(self.tmp / "state"),
            "settle_seconds": 1,
            "rescan_interval": 300,
            "max_concurrent_ingests": 2,
            **daemon,
        }
        config = {
            "irods": {
                "host": self.sandbox.host,
                "port": self.sandbox.port,
                "zone": self.sandbox.zone,
                "user": self.sandbox.user,
            },
            "sequencer": {"base_dir": str(self.roots), "types": types},
            "daemon": settings,
            "logging": {"format": "json"},
        }
        path = self.tmp / "config.yaml"
        path.write_text(json.dumps(config), encoding="utf-8")
        return path

    def start(self, config: Path, ready_timeout: float = 180) -> DaemonProcess:
        """Start a daemon life and wait until it says it is ready."""
        life = DaemonProcess(config, self.env)
        self.lives.append(life)
        wait_for(
            lambda: life.saw("daemon.ready") or life.proc.poll() is not None,
            ready_timeout,
            "daemon.ready",
        )
        assert life.proc.poll() is None, life.output()
        return life

    def collection(self, sequencer_type: str, run_id: str) -> str:
        """The run collection of DESIGN.md's default template."""
        user, zone = self.sandbox.user, self.sandbox.zone
        return f"/{zone}/home/{user}/sequencer/{sequencer_type}/{run_id}"

    def status(self, sequencer_type: str, run_id: str) -> str | None:
        """The run's rodrunner::status in iRODS (None when there is no collection)."""
        path = self.collection(sequencer_type, run_id)
        if not self.session.collections.exists(path):
            return None
        avus = self.session.collections.get(path).metadata.get_all(STATUS)
        return avus[0].value if avus else None

    def wait_complete(self, sequencer_type: str, run_id: str, timeout: float = 240) -> None:
        """Wait until iRODS says the run is complete."""
        wait_for(
            lambda: self.status(sequencer_type, run_id) == "complete",
            timeout,
            f"{run_id} complete in iRODS\n{self.lives[-1].output() if self.lives else ''}",
        )

    def ingests(self, run_id: str) -> int:
        """How many flow runs uploaded this run to completion, over every daemon life."""
        return sum(life.count('"ingest.complete"', run_id) for life in self.lives)

    def stop_all(self) -> None:
        """SIGKILL whatever still runs (a test's failure path) and the local Prefect server
        (a SIGKILLed daemon cannot stop it; a later life reuses it)."""
        for life in self.lives:
            if life.proc.poll() is None:
                life.stop(signal.SIGKILL, timeout=30)
        stop_server(server_dir(self.tmp / "state"))


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


def test_runs_of_several_instruments_are_ingested_once(share: Share) -> None:
    """Runs whose indicator is created or renamed in are detected by the observers and
    ingested exactly once; NovaSeq waits for CopyComplete.txt; skip and ingest files work."""
    config = share.configure({"novaseq": {}, "miseq": {}, "nextseq2000": {}})
    daemon = share.start(config)
    novaseq, miseq, nextseq = (share.roots / t for t in ("novaseq", "miseq", "nextseq2000"))

    created = simulate_run(novaseq, "novaseq", files=12, size=200, duration=1.0)
    renamed = simulate_run(miseq, "miseq", files=12, size=200, indicator_by_rename=True)
    renamed2 = simulate_run(nextseq, "nextseq2000", files=12, size=200, indicator_by_rename=True)
    waiting = simulate_run(
        novaseq,
        "novaseq",
        files=6,
        size=100,
        complete=False,
        run_id="250101_A00834_0001_AHWAITXXXX",
    )
    (waiting / "RTAComplete.txt").write_text("RTA 3.4.4\n")
    skipped = simulate_run(
        miseq, "miseq", files=4, size=100, run_id="250102_M04034_0002_000000000-SKIPD"
    )
    (skipped / ".rodrunner-skip").write_text("")
    forced = simulate_run(
        nextseq,
        "nextseq2000",
        files=4,
        size=100,
        complete=False,
        run_id="20250103_VH00123_0003_AAFORCEDXX",
    )
    (forced / ".rodrunner-ingest").write_text("")

    share.wait_complete("novaseq", created.name)
    share.wait_complete("miseq", renamed.name)
    share.wait_complete("nextseq2000", renamed2.name)
    share.wait_complete("nextseq2000", forced.name)
    wait_for(lambda: daemon.saw("run.skipped", skipped.name), 30, "run.skipped")
    assert share.status("novaseq", waiting.name) is None, "RTAComplete.txt alone is not enough"
    assert share.status("miseq", skipped.name) is None

    (waiting / "CopyComplete.txt").write_text("")
    share.wait_complete("novaseq", waiting.name)
    assert daemon.stop() == 0
    assert daemon.saw("daemon.stopped")
    for run in (created, renamed, renamed2, waiting, forced):
        assert share.ingests(run.name) == 1, run.name
    assert share.ingests(skipped.name) == 0


def test_sigkill_mid_ingest_and_runs_done_while_down(share: Share) -> None:
    """A daemon killed mid-ingest and started again completes every run, each once; a run
    completed while it was down is ingested at start."""
    config = share.configure({"novaseq": {}, "miseq": {}}, settle_seconds=0)
    first = share.start(config)
    big = simulate_run(share.roots / "novaseq", "novaseq", files=600, size=2000)
    wait_for(lambda: first.saw("ingest.started", big.name), 120, "ingest.started")
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    assert share.status("novaseq", big.name) != "complete"

    down = simulate_run(share.roots / "miseq", "miseq", files=8, size=100)
    second = share.start(config)
    share.wait_complete("novaseq", big.name)
    share.wait_complete("miseq", down.name)
    assert second.stop() == 0
    assert share.ingests(big.name) == 1
    assert share.ingests(down.name) == 1
    assert second.saw("run.resumed", big.name)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scrape(port: int) -> dict[str, float]:
    """The daemon's Prometheus metrics: sample line (name and labels) -> value."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_polling_mode_detects_runs_and_metrics_tell(share: Share) -> None:
    """With observer: polling (and no rescan due), a new run is still detected and ingested;
    a scrape of the running daemon's metrics shows the detection, submission and ingest."""
    port = _free_port()
    config = share.configure(
        {"miseq": {"observer": "polling", "poll_interval": 0.5}}, metrics=f"127.0.0.1:{port}"
    )
    daemon = share.start(config)
    assert daemon.saw("observer.started", "polling")
    run = simulate_run(share.roots / "miseq", "miseq", files=6, size=100, indicator_by_rename=True)
    share.wait_complete("miseq", run.name)
    wait_for(
        lambda: _scrape(port).get('rodrunner_runs{state="ingested"}') == 1.0,
        30,
        "the ingested run in the metrics",
    )
    samples = _scrape(port)
    assert samples['rodrunner_detections_total{sequencer_type="miseq"}'] >= 1
    assert samples['rodrunner_submissions_total{sequencer_type="miseq"}'] == 1
    assert samples['rodrunner_ingests_total{result="succeeded",sequencer_type="miseq"}'] == 1
    assert samples['rodrunner_uploaded_files_total{sequencer_type="miseq"}'] >= 6
    assert samples["rodrunner_last_good_scan_timestamp_seconds"] > 0
    assert daemon.stop() == 0
    assert share.ingests(run.name) == 1


def test_removed_and_recreated_root_is_watched_again(share: Share) -> None:
    """A root removed while the daemon runs is reported; once recreated its observer is
    rebuilt with an observer.restarted warning and a run written into it is ingested."""
    import shutil

    config = share.configure({"miseq": {}})
    daemon = share.start(config)
    root = share.roots / "miseq"
    shutil.rmtree(root)
    wait_for(lambda: daemon.saw('"observer.root_missing"', str(root)), 60, "root_missing")
    root.mkdir()
    wait_for(
        lambda: daemon.saw('"observer.restarted"', '"warning"', str(root)),
        60,
        f"observer.restarted\n{daemon.output()}",
    )
    run = simulate_run(root, "miseq", files=6, size=100, indicator_by_rename=True)
    share.wait_complete("miseq", run.name)
    assert daemon.stop() == 0
    assert share.ingests(run.name) == 1
    assert daemon.saw('"run.detected"', run.name)

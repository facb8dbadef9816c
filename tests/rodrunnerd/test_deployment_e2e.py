"""End to end in deployment mode: a real ``prefect server``, ``rodrunner serve`` as the runner,
the iRODS sandbox (``rodrunner sandbox``) and two ``rodrunnerd`` processes on one share.

Every process runs in its own process group and the whole group is killed in teardown, so
nothing (a runner's flow-run child, a server's workers) outlives the test holding a pipe open.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from irods.session import iRODSSession

from rodrunner.simulate import simulate_run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

STATUS = "rodrunner::status"
DEPLOYMENT = "Ingest Run/rodrunner-ingest-run"
SANDBOX_PASSWORD = "rods"  # the sandbox's documented default


def wait_for(predicate: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    """Poll ``predicate`` until it holds; fail with ``what()`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    assert predicate(), f"timed out after {timeout:.0f} s: {what()}"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """A subprocess in its own process group whose output is collected line by line."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.proc.poll() is None

    def saw(self, *needles: str) -> bool:
        """Whether one output line contains every needle."""
        return any(all(n in line for n in needles) for line in list(self.lines))

    def count(self, *needles: str) -> int:
        """Output lines containing every needle."""
        return sum(all(n in line for n in needles) for line in list(self.lines))

    def distinct(self, *needles: str) -> int:
        """Different output lines containing every needle.

        A line repeated to the letter (same timestamp, same ``seconds=``) is one event echoed
        twice on the way to our pipe, not a second execution, which would differ in both.
        """
        return len({line for line in list(self.lines) if all(n in line for n in needles)})

    def output(self, last: int = 60) -> str:
        """The last lines printed (for assertion messages)."""
        return f"--- {self.name} ---\n" + "".join(self.lines[-last:])

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``timeout``; the exit code."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        code = self.proc.poll()
        with contextlib.suppress(ProcessLookupError):  # children left in the group
            os.killpg(self.proc.pid, signal.SIGKILL)
        if code is None:
            self.proc.wait(30)
        self._reader.join(10)
        if self.proc.stdout is not None and not self._reader.is_alive():
            self.proc.stdout.close()
        return code


class Cluster:
    """The processes of one test and how to reach them."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[Proc] = []
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for key in ("PREFECT_API_URL", "RODRUNNER_CONFIG", "NOTIFY_SOCKET", "PREFECT_HOME"):
            self.env.pop(key, None)
        self.api_url = ""
        self.irods: tuple[str, int] = ("127.0.0.1", 0)

    def spawn(self, name: str, argv: list[str], **env: str) -> Proc:
        """Start ``argv`` as ``name`` with extra environment ``env``."""
        proc = Proc(name, argv, {**self.env, **env}, self.tmp)
        self.procs.append(proc)
        return proc

    def outputs(self) -> str:
        """Every process's recent output."""
        return "\n".join(p.output() for p in self.procs)

    def start_sandbox(self) -> None:
        """``rodrunner sandbox --port 0``; read the port it took from its one stdout line."""
        proc = self.spawn(
            "sandbox",
            [sys.executable, "-m", "rodrunner", "sandbox", "--port", "0", "--root", "irods"],
        )
        pattern = re.compile(r"listening on ([\d.]+):(\d+)")
        found: list[tuple[str, int]] = []

        def listening() -> bool:
            for line in list(proc.lines):
                match = pattern.search(line)
                if match:
                    found.append((match.group(1), int(match.group(2))))
                    return True
            return not proc.alive()

        wait_for(listening, 60, self.outputs)
        assert found, proc.output()
        self.irods = found[0]

    def start_prefect(self) -> None:
        """``prefect server start`` with its own PREFECT_HOME (and so its own SQLite DB)."""
        port = free_port()
        self.api_url = f"http://127.0.0.1:{port}/api"
        prefect = str(Path(sys.executable).parent / "prefect")
        proc = self.spawn(
            "prefect-server",
            [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            PREFECT_HOME=str(self.tmp / "prefect-server"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_UI_ENABLED="false",
        )

        def healthy() -> bool:
            if not proc.alive():
                return True
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as answer:  # noqa: S310 - local test server
                    return bool(answer.status == 200)
            except OSError:
                return False

        wait_for(healthy, 180, self.outputs)
        assert proc.alive(), proc.output()

    def client_env(self, name: str) -> dict[str, str]:
        """The environment of a Prefect client process (own PREFECT_HOME, the server's API)."""
        return {
            "PREFECT_API_URL": self.api_url,
            "PREFECT_HOME": str(self.tmp / f"prefect-{name}"),
            "RODRUNNER_IRODS__PASSWORD": SANDBOX_PASSWORD,
        }

    def write_config(self, name: str, roots: Path) -> Path:
        """A daemon/runner configuration (JSON is YAML) with its own state_dir."""
        host, port = self.irods
        config = {
            "irods": {"host": host, "port": port, "zone": "tempZone", "user": "rods"},
            "sequencer": {"base_dir": str(roots), "types": {"miseq": {}, "nextseq2000": {}}},
            "daemon": {
                "state_dir": str(self.tmp / f"state-{name}"),
                "settle_seconds": 1,
                "rescan_interval": 300,
                "submit": "deployment",
                "deployment": DEPLOYMENT,
            },
            "logging": {"format": "json"},
        }
        path = self.tmp / f"config-{name}.yaml"
        path.write_text(json.dumps(config), encoding="utf-8")
        return path

    def stop_all(self) -> None:
        """Stop every process group, newest first."""
        for proc in reversed(self.procs):
            proc.stop(timeout=30)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """The processes of one test, killed by process group in teardown."""
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.stop_all()


def irods_status(session: iRODSSession, collection: str) -> str | None:
    """``rodrunner::status`` of ``collection`` (None when it does not exist)."""
    if not session.collections.exists(collection):
        return None
    avus = session.collections.get(collection).metadata.get_all(STATUS)
    return avus[0].value if avus else None


def ledger_rows(state_dir: Path) -> dict[str, tuple[str, str | None]]:
    """run_id → (state, flow_run_id) in a daemon's ledger (read-only; the daemon writes)."""
    path = state_dir / "ledger.sqlite3"
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT run_id, state, flow_run_id FROM runs").fetchall()
    finally:
        db.close()
    return {row[0]: (row[1], row[2]) for row in rows}


def ledger_states(state_dir: Path) -> dict[str, str]:
    """run_id → state in a daemon's ledger."""
    return {run_id: row[0] for run_id, row in ledger_rows(state_dir).items()}


def flow_runs_by_run_dir(api_url: str) -> dict[str, list[Any]]:
    """Flow runs of the Ingest Run deployment on the server, grouped by their run_dir."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
        )
    grouped: dict[str, list[Any]] = {}
    for run in runs:
        grouped.setdefault(str(run.parameters.get("run_dir")), []).append(run)
    return grouped


def test_two_daemons_in_deployment_mode_ingest_each_run_once(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Two deployment-mode daemons on one share, one runner: each run gets one flow run,
    is complete in iRODS once, and both ledgers end ingested (one daemon follows the flow
    run the other created, through the idempotency key)."""
    roots = tmp_path / "share"
    for sequencer_type in ("miseq", "nextseq2000"):
        (roots / sequencer_type).mkdir(parents=True)
    cluster.start_sandbox()
    cluster.start_prefect()
    config_a = cluster.write_config("a", roots)
    config_b = cluster.write_config("b", roots)
    python = sys.executable
    runner = cluster.spawn(
        "serve",
        [python, "-m", "rodrunner", "serve", "--config", str(config_a)],
        **cluster.client_env("serve"),
    )
    wait_for(lambda: runner.saw("serving") or not runner.alive(), 120, lambda: runner.output())
    daemons = [
        cluster.spawn(
            f"daemon-{name}",
            [python, "-m", "rodrunnerd", "--config", str(config)],
            **cluster.client_env(name),
        )
        for name, config in (("a", config_a), ("b", config_b))
    ]
    for daemon in daemons:
        wait_for(
            lambda d=daemon: d.saw("daemon.ready") or not d.alive(),  # type: ignore[misc]
            120,
            cluster.outputs,
        )
        assert daemon.alive(), daemon.output()

    runs = [
        simulate_run(
            roots / "miseq", "miseq", files=8, size=200, run_id="250201_M04034_0001_000000000-DEPL1"
        ),
        simulate_run(
            roots / "miseq",
            "miseq",
            files=8,
            size=200,
            run_id="250202_M04034_0002_000000000-DEPL2",
            indicator_by_rename=True,
        ),
        simulate_run(
            roots / "nextseq2000",
            "nextseq2000",
            files=8,
            size=200,
            run_id="20250203_VH00123_0003_AADEPL3XX",
        ),
    ]
    assert len({run.name for run in runs}) == 3
    collections = {
        run.name: f"/tempZone/home/rods/sequencer/{run.parent.name}/{run.name}" for run in runs
    }
    states = [tmp_path / "state-a", tmp_path / "state-b"]

    from irods.session import iRODSSession

    host, port = cluster.irods
    with iRODSSession(
        host=host, port=port, user="rods", password=SANDBOX_PASSWORD, zone="tempZone"
    ) as session:

        def done() -> bool:
            if any(irods_status(session, c) != "complete" for c in collections.values()):
                return False
            return all(
                set(ledger_states(s).items()) >= {(r, "ingested") for r in collections}
                for s in states
            )

        def why() -> str:
            ledgers = {s.name: ledger_states(s) for s in states}
            irods = {r: irods_status(session, c) for r, c in collections.items()}
            return f"irods {irods}, ledgers {ledgers}\n{cluster.outputs()}"

        wait_for(done, 150, why)

    grouped = flow_runs_by_run_dir(cluster.api_url)
    for run in runs:
        flow_runs = grouped.get(str(run), [])
        assert len(flow_runs) == 1, (run.name, [str(f.id) for f in flow_runs])
        assert flow_runs[0].state is not None
        assert flow_runs[0].state.is_completed(), flow_runs[0].state
        assert runner.distinct("ingest.complete", run.name) == 1, runner.output(200)
        # Every ingest.complete line of the run names the one flow run Prefect holds: a second
        # execution would be another flow run, or this one's line at another time.
        executed = {
            m.group(1)
            for line in list(runner.lines)
            if "ingest.complete" in line and run.name in line
            for m in [re.search(r"flow_run_id=([0-9a-f-]{36})", line)]
            if m is not None
        }
        assert executed == {str(flow_runs[0].id)}, runner.output(200)
        followed = {ledger_rows(s)[run.name][1] for s in states}
        assert followed == {str(flow_runs[0].id)}, followed
        for daemon in daemons:
            assert daemon.count('"run.ingested"', run.name) == 1, daemon.output()
    submitted = {
        run.name: sum(d.count('"run.submitted"', run.name) for d in daemons) for run in runs
    }
    assert all(n == 2 for n in submitted.values()), submitted  # both asked; one flow run each
    for daemon in daemons:
        assert daemon.stop() == 0, daemon.output()

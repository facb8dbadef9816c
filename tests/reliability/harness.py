"""The reliability suite's harness: a real Prefect server, real daemon processes, an audit.

Sizes come from ``RODRUNNER_RELIABILITY_SCALE``: ``ci`` (default, sized for CI on 2 cores)
or ``full`` (the sizes of issue 8). :class:`Scale` lists both; docs/reliability.md says which
numbers each reported result was measured with.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irods.column import Like
from irods.exception import NetworkException, iRODSException
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from rodrunner.irods.walk import walk_tree
from rodrunner.plan import ALWAYS_EXCLUDED
from rodrunner.sandbox import SandboxInfo
from tests.daemon_process import DaemonProcess, wait_for
from tests.leaks import owned_by_session

STATUS = "rodrunner::status"
MANIFEST = "rodrunner.manifest.json"


@dataclass(frozen=True)
class Scale:
    """How big the heavy reliability scenarios are."""

    name: str
    outage_seconds: float
    prefect_down_seconds: float
    kills: int
    load_runs: int
    load_existing: int

    @classmethod
    def from_env(cls) -> Scale:
        """``RODRUNNER_RELIABILITY_SCALE``: ``ci`` (default) or ``full``."""
        name = os.environ.get("RODRUNNER_RELIABILITY_SCALE", "ci").strip().lower() or "ci"
        if name == "full":
            return cls("full", 60.0, 60.0, 20, 200, 20_000)
        if name != "ci":
            raise ValueError(f"RODRUNNER_RELIABILITY_SCALE must be 'ci' or 'full', not {name!r}")
        return cls("ci", 20.0, 20.0, 8, 50, 5_000)


SCALE = Scale.from_env()


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrefectServer:
    """``prefect server start`` in its own process; stop and start again on the same port."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = home / "server.log"

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:  # noqa: S310
                return bool(answer.status == 200)
        except OSError:
            return False

    def start(self, timeout: float = 180) -> None:
        """Start the server and wait until ``/api/health`` answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
        }
        env.pop("PREFECT_API_URL", None)
        prefect = Path(sys.executable).parent / "prefect"
        with self._log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        owned_by_session(self.proc.pid)  # the session's server, even when a test restarts it
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._healthy():
                return
            assert self.proc.poll() is None, self._log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        raise AssertionError(f"prefect server did not answer in {timeout} s")

    def stop(self) -> None:
        """Stop the server (its whole process group) and wait until the port is closed."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        wait_for(lambda: not self._healthy(), 30, "prefect server down")


class Share:
    """Roots, configuration, daemon lives and the audit of one reliability test."""

    def __init__(
        self,
        tmp: Path,
        sandbox: SandboxInfo,
        session: iRODSSession,
        prefect: PrefectServer,
    ) -> None:
        self.tmp = tmp
        self.sandbox = sandbox
        self.session = session
        self.prefect = prefect
        self.roots = tmp / "roots"
        self.state_dir = tmp / "state"
        self.config_path = tmp / "config.yaml"
        self.lives: list[DaemonProcess] = []
        self.env = {
            **os.environ,
            "PREFECT_HOME": str(tmp / "prefect-client"),
            "PREFECT_API_URL": prefect.url,
            "PYTHONUNBUFFERED": "1",
        }
        for key in ("RODRUNNER_CONFIG", "NOTIFY_SOCKET", "RODRUNNER_IRODS__PASSWORD"):
            self.env.pop(key, None)

    def configure(
        self,
        types: Iterable[str],
        *,
        password: str | None = None,
        irods: dict[str, Any] | None = None,
        **daemon: Any,
    ) -> Path:
        """Write config.yaml (JSON is YAML) for ``types`` under one base dir; create roots.

        The iRODS password is in the file (an operator fixes it there and the next flow run
        reads it); ``password`` overrides the sandbox's.
        """
        for name in types:
            (self.roots / name).mkdir(parents=True, exist_ok=True)
        settings = {
            "state_dir": str(self.state_dir),
            "settle_seconds": 0.5,
            "rescan_interval": 10,
            "max_concurrent_ingests": 2,
            "max_attempts": 5,
            "shutdown_grace": 10,
            **daemon,
        }
        config = {
            "irods": {
                "host": self.sandbox.host,
                "port": self.sandbox.port,
                "zone": self.sandbox.zone,
                "user": self.sandbox.user,
                "password": password or self.sandbox.password.get_secret_value(),
                "transfer_threads": 2,
                **(irods or {}),
            },
            "sequencer": {"base_dir": str(self.roots), "types": {t: {} for t in types}},
            "daemon": settings,
            "logging": {"format": "json", "level": "INFO"},
        }
        self.config_path.write_text(json.dumps(config), encoding="utf-8")
        return self.config_path

    def set_password_in_config(self, password: str) -> None:
        """Rewrite the configuration's irods.password (what an operator does)."""
        config = json.loads(self.config_path.read_text(encoding="utf-8"))
        config["irods"]["password"] = password
        self.config_path.write_text(json.dumps(config), encoding="utf-8")

    def start(self, ready_timeout: float = 240) -> DaemonProcess:
        """Start a daemon life and wait until it says it is ready."""
        life = DaemonProcess(self.config_path, self.env)
        self.lives.append(life)
        wait_for(
            lambda: life.saw('"daemon.ready"') or not life.alive(),
            ready_timeout,
            "daemon.ready",
        )
        assert life.alive(), life.output()
        return life

    def stop_all(self) -> None:
        """SIGKILL whatever still runs (a test's failure path)."""
        for life in self.lives:
            if life.alive():
                life.stop(signal.SIGKILL, timeout=30)

    # -- what iRODS and the ledger say ---------------------------------------------------

    def collection(self, sequencer_type: str, run_id: str) -> str:
        """The run collection of DESIGN.md's default template."""
        user, zone = self.sandbox.user, self.sandbox.zone
        return f"/{zone}/home/{user}/sequencer/{sequencer_type}/{run_id}"

    def status(self, sequencer_type: str, run_id: str) -> list[str]:
        """Every rodrunner::status value on the run collection ([] without a collection)."""
        path = self.collection(sequencer_type, run_id)
        if not self.session.collections.exists(path):
            return []
        return [a.value for a in self.session.collections.get(path).metadata.get_all(STATUS)]

    def complete(self, sequencer_type: str, run_id: str) -> bool:
        """Whether iRODS says the run is complete (False while injected faults hit the ask)."""
        try:
            return self.status(sequencer_type, run_id) == ["complete"]
        except (iRODSException, NetworkException):
            return False

    def wait_complete(self, runs: Iterable[tuple[str, Path]], timeout: float = 300) -> None:
        """Wait until iRODS says every ``(type, run_dir)`` is complete."""
        pending = list(runs)

        def done() -> bool:
            pending[:] = [(t, r) for t, r in pending if not self.complete(t, r.name)]
            return not pending

        last = self.lives[-1].output() if self.lives else ""
        wait_for(done, timeout, f"runs complete in iRODS: {[r.name for _, r in pending]}\n{last}")

    def ledger(self) -> list[dict[str, Any]]:
        """``rodrunnerd status --json`` (the real command, in its own process)."""
        answer = subprocess.run(
            [
                sys.executable,
                "-m",
                "rodrunnerd",
                "status",
                "--json",
                "--config",
                str(self.config_path),
            ],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )
        assert answer.returncode == 0, answer.stderr
        records: list[dict[str, Any]] = json.loads(answer.stdout)
        return records

    def rodrunnerd(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a ``rodrunnerd`` sub-command against this share's configuration."""
        return subprocess.run(
            [sys.executable, "-m", "rodrunnerd", *args, "--config", str(self.config_path)],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )

    def ingest_events(self, event: str, run_id: str) -> int:
        """``event`` lines naming ``run_id`` over every daemon life."""
        return sum(
            1 for life in self.lives for e in life.events(event) if e.get("run_id") == run_id
        )

    def remote_objects(self, collection: str) -> dict[str, tuple[int, str | None]]:
        """Every data object below ``collection``: relative path -> (size, checksum)."""
        query = self.session.query(
            Collection.name, DataObject.name, DataObject.size, DataObject.checksum
        ).filter(Like(Collection.name, collection + "%"))
        found: dict[str, tuple[int, str | None]] = {}
        for row in query.get_results():
            coll = row[Collection.name]
            if coll != collection and not coll.startswith(collection + "/"):
                continue
            rel = f"{coll[len(collection) + 1 :]}/{row[DataObject.name]}".lstrip("/")
            assert rel not in found, f"{collection}/{rel} is listed twice (a duplicate replica?)"
            found[rel] = (int(row[DataObject.size]), row[DataObject.checksum])
        return found

    def complete_adds(self, collection: str) -> int:
        """How often rodrunner::status=complete was added to ``collection`` (server side)."""
        return sum(
            1
            for _, path, op, attr, value in self.sandbox.faults.audit("avu")
            if path == collection and op == "add" and attr == STATUS and value == "complete"
        )


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 hex of a local file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def irods_sha256(checksum: str | None) -> str | None:
    """``sha2:<base64>`` as hex (None otherwise)."""
    import base64

    if not checksum or not checksum.startswith("sha2:"):
        return None
    return base64.b64decode(checksum[5:]).hex()


def audit(share: Share, runs: Iterable[tuple[str, Path]]) -> dict[str, int]:
    """The end check of every fault scenario; returns counts for the report.

    Each run: rodrunner::status=complete exactly once on the collection and added once (server
    side); the objects are exactly the run folder's files plus the manifest, with no extra or
    missing one; every object's server checksum equals the local SHA-256; the ledger has the
    run once, ``ingested``.
    """
    runs = list(runs)
    objects = 0
    problems: list[str] = []
    for stype, run_dir in runs:
        coll = share.collection(stype, run_dir.name)
        status = share.status(stype, run_dir.name)
        if status != ["complete"]:
            problems.append(f"{run_dir.name}: status AVUs {status}")
            continue
        adds = share.complete_adds(coll)
        if adds != 1:
            problems.append(f"{run_dir.name}: status=complete added {adds} times")
        remote = share.remote_objects(coll)
        local = {f.relative: f for f in walk_tree(run_dir, exclude=ALWAYS_EXCLUDED).files}
        missing = sorted(set(local) - set(remote))
        extra = sorted(set(remote) - set(local) - {MANIFEST})
        if missing or extra or MANIFEST not in remote:
            problems.append(f"{run_dir.name}: missing {missing[:5]}, extra {extra[:5]}")
        for rel, f in local.items():
            if rel not in remote:
                continue
            size, checksum = remote[rel]
            if size != f.size or irods_sha256(checksum) != sha256_file(f.source):
                problems.append(f"{run_dir.name}/{rel}: size {size}, checksum {checksum} wrong")
        objects += len(remote)
    ledger = share.ledger()
    by_dir: dict[str, list[dict[str, Any]]] = {}
    for record in ledger:
        by_dir.setdefault(record["run_dir"], []).append(record)
    for _, run_dir in runs:
        records = by_dir.get(str(run_dir), [])
        if len(records) != 1 or records[0]["state"] != "ingested":
            problems.append(f"{run_dir.name}: ledger {records}")
    assert not problems, "\n".join(problems[:40])
    return {"runs": len(runs), "objects": objects, "ledger_records": len(ledger)}


def capture_stdout(fn: Callable[[], Any]) -> str:
    """What ``fn`` prints on stdout."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        fn()
    return buffer.getvalue()

"""The workflows user guide, run as written against the sandbox (TCP) and Prefect.

Each test holds one example of the guide as its users were told to write it; only paths,
hosts and ports differ (the roots live under ``tmp_path``, the SMTP server is a local
aiosmtpd), "Customizing Workflows" gains its missing ``import os``, and the Prefect 2
scheduling example is replaced by the Prefect 3 one of docs/ingest.md. The outcome is read
back from iRODS with python-irodsclient: every run whole, real AVUs, and what the guide prints.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from irods.session import iRODSSession

from rodrunner.config import get_config
from rodrunner.manifest import parse_manifest
from rodrunner.plan import MANIFEST_NAME
from rodrunner.sandbox import SandboxInfo, run_sandbox
from rodrunner.simulate import simulate_run
from rodrunner.workflows.ingest import ingest_sequencer_runs
from tests.conftest import sandbox_session

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

MISEQ_RUN = "220101_M00001_0001_000000000-A1B2C"  # the run the guide's metadata example names
ENTRY_KEYS = {"run_dir", "run_id", "irods_path", "success", "status", "error"}
REPR_MARKS = ("[", "{", "(", "Read(", "Sample(", "RunMetadata(", "datetime.")


@dataclass
class Guide:
    """A facility as the guide assumes it: roots per type under one folder, a config found
    by ``get_config()`` ($RODRUNNER_CONFIG), an iRODS server."""

    root: Path
    config: Path
    sandbox: SandboxInfo
    runs: dict[str, Path]

    def session(self) -> iRODSSession:
        return sandbox_session(self.sandbox)


PASSWORD = "GuidePassw0rd"  # the sandbox's: must never reach Prefect


@pytest.fixture
def irods_server(tmp_path: Path) -> Iterator[SandboxInfo]:
    """A sandbox of this test with its own password (found nowhere else in the records)."""
    with run_sandbox(tmp_path / "irods", password=PASSWORD) as info:
        yield info


@pytest.fixture
def guide(tmp_path: Path, irods_server: SandboxInfo, monkeypatch: pytest.MonkeyPatch) -> Guide:
    """Run folders for miseq, novaseq and pacbio under ``tmp_path/sequencer``; a config file."""
    irods_sandbox = irods_server
    root = tmp_path / "sequencer"
    runs = {
        "miseq": simulate_run(root / "miseq", "miseq", files=6, size=64, run_id=MISEQ_RUN),
        "novaseq": simulate_run(root / "novaseq", "novaseq", files=6, size=64),
        "pacbio": simulate_run(root / "pacbio", "pacbio", files=3, size=64) / "1_A01",
    }
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "irods": {
                    "host": irods_sandbox.host,
                    "port": irods_sandbox.port,
                    "zone": irods_sandbox.zone,
                    "user": irods_sandbox.user,
                    "password": irods_sandbox.password.get_secret_value(),
                },
                "sequencer": {"base_dir": str(root)},
                "daemon": {"state_dir": str(tmp_path / "state")},
                "api": {"token": None},
            }
        )
    )
    monkeypatch.setenv("RODRUNNER_CONFIG", str(config))
    return Guide(root=root, config=config, sandbox=irods_sandbox, runs=runs)


# ------------------------------------------------------------------ reading iRODS back


def _local_tree(run_dir: Path) -> dict[str, tuple[int, str]]:
    return {
        p.relative_to(run_dir).as_posix(): (
            p.stat().st_size,
            hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in sorted(run_dir.rglob("*"))
        if p.is_file()
    }


def _stored_tree(session: iRODSSession, collection: str) -> dict[str, tuple[int, str]]:
    out = {}
    for _, _, objects in session.collections.get(collection).walk():
        for obj in objects:
            checksum = obj.checksum or ""
            assert checksum.startswith("sha2:"), (obj.path, checksum)
            sha = base64.b64decode(checksum[5:]).hex()
            out[obj.path[len(collection) + 1 :]] = (obj.size, sha)
    return out


def _avus(session: iRODSSession, collection: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for meta in session.collections.get(collection).metadata.items():
        out.setdefault(meta.name, []).append(meta.value)
    return out


def assert_real_run_avus(avus: dict[str, list[str]], run_id: str) -> None:
    """The run AVUs are there and hold values, never a Python repr."""
    assert avus["run_id"] == [run_id]
    assert "instrument_model" in avus or "platform" in avus
    for attr, values in avus.items():
        for value in values:
            assert not value.startswith(REPR_MARKS), (attr, value)


def assert_ingested(guide: Guide, run_dir: Path, collection: str) -> None:
    """Ingested by the flows: every file with its SHA-256, manifest, status complete."""
    session = guide.session()
    try:
        stored = _stored_tree(session, collection)
        manifest = stored.pop(MANIFEST_NAME)
        assert stored == _local_tree(run_dir)
        avus = _avus(session, collection)
        with session.data_objects.get(f"{collection}/{MANIFEST_NAME}").open("r") as fh:
            text = fh.read()
    finally:
        session.cleanup()
    assert avus["rodrunner::status"] == ["complete"]
    assert avus["rodrunner::manifest_sha256"] == [manifest[1]]
    listed = parse_manifest(text)
    assert {e.path: (e.size, e.sha256) for e in listed.entries} == stored
    assert_real_run_avus(avus, _run_id(run_dir))


def collection_of(stype: str, run_dir: Path) -> str:
    """Where the default collection template puts a run (PacBio: the cell's movie name)."""
    return f"/tempZone/home/rods/sequencer/{stype}/{_run_id(run_dir)}"


def _run_id(run_dir: Path) -> str:
    """The run id: the folder's name; a PacBio cell's movie name."""
    if (run_dir / "metadata").is_dir():
        return next((run_dir / "metadata").glob("*.transferdone")).name.split(".")[0]
    return run_dir.name


def assert_entry(entry: dict[str, Any], stype: str, run_dir: Path, status: str) -> None:
    """One result entry: the common keys, the run, success and status, no error."""
    assert set(entry) >= ENTRY_KEYS, entry
    assert entry["run_dir"] == str(run_dir)
    assert entry["run_id"] == _run_id(run_dir)
    assert entry["irods_path"] == collection_of(stype, run_dir)
    assert (entry["success"], entry["status"], entry["error"]) == (True, status, None)


# ------------------------------------------------------------------ Basic Usage


def test_running_workflows_directly(guide: Guide, capsys: pytest.CaptureFixture[str]) -> None:
    """Running Workflows Directly: ingests the miseq run and prints one line per run."""
    seq = str(guide.root)
    # --- the guide ---
    from rodrunner.config import get_config
    from rodrunner.workflows.ingest import ingest_sequencer_runs

    # Load the configuration
    config = get_config()

    # Run the ingest workflow
    results = ingest_sequencer_runs(config=config, sequencer_type="miseq", root_dir=f"{seq}/miseq")

    # Print the results
    for result in results:
        print(f"Run: {result['run_dir']}, Success: {result['success']}")
    # --- end ---
    run_dir = guide.runs["miseq"]
    assert capsys.readouterr().out.splitlines()[-1:] == [f"Run: {run_dir}, Success: True"]
    assert_entry(results[0], "miseq", run_dir, "complete")
    assert_ingested(guide, run_dir, collection_of("miseq", run_dir))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def api_server(config: Path) -> Iterator[int]:
    """``rodrunner api``'s app on a free loopback port (uvicorn in a thread); yields the port."""
    import uvicorn

    from rodrunner.api import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(get_config(config)), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, name="guide-api", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not server.started:
            assert thread.is_alive(), "the API stopped while starting"
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.05)
        yield port
    finally:
        server.should_exit = True
        thread.join(60)


def test_running_workflows_via_the_api(guide: Guide) -> None:
    """Running Workflows via the API: the curl request (no token: loopback) starts the flow."""
    seq = str(guide.root)
    with api_server(guide.config) as port:
        # --- the guide (host, port and root changed) ---
        command = f"""
curl -X POST http://127.0.0.1:{port}/workflows/run \\
  -H "Content-Type: application/json" \\
  -d '{{
    "workflow_name": "Ingest Sequencer Runs",
    "parameters": {{
      "sequencer_type": "miseq",
      "root_dir": "{seq}/miseq"
    }}
  }}'
"""
        # --- end ---
        done = subprocess.run(
            ["sh", "-c", command], capture_output=True, text=True, timeout=120, check=True
        )
        started = json.loads(done.stdout)
        assert started["workflow_name"] == "Ingest Sequencer Runs", started
        deadline = time.monotonic() + 300
        while True:
            status = httpx.get(
                f"http://127.0.0.1:{port}/workflows/status/{started['flow_run_id']}", timeout=60
            ).json()
            if status["is_final"]:
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.25)
    assert status["state_type"] == "COMPLETED", status
    run_dir = guide.runs["miseq"]
    [entry] = status["result"]
    assert_entry(entry, "miseq", run_dir, "complete")
    assert_ingested(guide, run_dir, collection_of("miseq", run_dir))


# ------------------------------------------------------------------ Workflow Details


def test_ingest_sequencer_runs(guide: Guide) -> None:
    """Ingest Sequencer Runs with a completion indicator: a list of result entries."""
    seq = str(guide.root)
    # --- the guide ---
    from rodrunner.config import get_config
    from rodrunner.workflows.ingest import ingest_sequencer_runs

    # Load the configuration
    config = get_config()

    # Run the ingest workflow
    results = ingest_sequencer_runs(
        config=config,
        sequencer_type="miseq",
        root_dir=f"{seq}/miseq",
        completion_indicator="RTAComplete.txt",
    )
    # --- end ---
    run_dir = guide.runs["miseq"]
    assert len(results) == 1
    assert_entry(results[0], "miseq", run_dir, "complete")
    assert_ingested(guide, run_dir, collection_of("miseq", run_dir))


def test_ingest_all_sequencer_runs(guide: Guide) -> None:
    """Ingest All Sequencer Runs: a dict from type to entries; RTAComplete.txt for all."""
    seq = str(guide.root)
    # --- the guide ---
    from rodrunner.config import get_config
    from rodrunner.workflows.ingest import ingest_all_sequencer_runs

    # Load the configuration
    config = get_config()

    # Run the ingest workflow
    results = ingest_all_sequencer_runs(
        config=config, root_dir=seq, completion_indicator="RTAComplete.txt"
    )
    # --- end ---
    # PacBio cells never write RTAComplete.txt: none is complete by that rule.
    assert set(results) == {"miseq", "novaseq", "pacbio"}
    assert results["pacbio"] == []
    for stype in ("miseq", "novaseq"):
        [entry] = results[stype]
        assert_entry(entry, stype, guide.runs[stype], "complete")
        assert_ingested(guide, guide.runs[stype], collection_of(stype, guide.runs[stype]))


def test_update_run_metadata(guide: Guide) -> None:
    """Update Run Metadata on the path the guide names: a dict with the outcome."""
    ingest_sequencer_runs(config=None, sequencer_type="miseq")
    # --- the guide ---
    from rodrunner.config import get_config
    from rodrunner.workflows.metadata import update_run_metadata

    # Load the configuration
    config = get_config()

    # Run the metadata update workflow
    result = update_run_metadata(
        config=config,
        irods_path="/tempZone/home/rods/sequencer/miseq/220101_M00001_0001_000000000-A1B2C",
        sequencer_type="miseq",
    )
    # --- end ---
    assert result["success"], result
    assert result["error"] is None
    assert_ingested(guide, guide.runs["miseq"], collection_of("miseq", guide.runs["miseq"]))


# ------------------------------------------------------------------ Advanced Usage


@pytest.mark.timeout(900)
def test_scheduling_with_prefect_3(guide: Guide, tmp_path: Path) -> None:
    """docs/ingest.md's Flow.serve example registers the schedule and runs what is started."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    # --- docs/ingest.md (paths changed) ---
    script = textwrap.dedent(
        f"""
        from rodrunner.workflows.ingest import ingest_all_sequencer_runs

        if __name__ == "__main__":
            ingest_all_sequencer_runs.serve(
                name="scheduled-ingest",
                cron="0 0 * * *",  # every day at midnight
                parameters={{
                    "config": "{guide.config}",
                    "root_dir": "{guide.root}",
                }},
            )
        """
    )
    # --- end ---
    (tmp_path / "schedule.py").write_text(script)
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    env.pop("RODRUNNER_CONFIG")
    output = (tmp_path / "schedule.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "schedule.py"],
        cwd=tmp_path,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    try:
        name = "Ingest All Sequencer Runs/scheduled-ingest"
        with get_client(sync_client=True) as client:
            deadline = time.monotonic() + 300
            while True:
                try:
                    deployment = client.read_deployment_by_name(name)
                    break
                except ObjectNotFound:
                    assert proc.poll() is None, "the serving script ended"
                    assert time.monotonic() < deadline, "the deployment never appeared"
                    time.sleep(0.5)
        assert [s.schedule.cron for s in deployment.schedules] == ["0 0 * * *"]  # type: ignore[union-attr]
        assert deployment.parameters == {"config": str(guide.config), "root_dir": str(guide.root)}
        flow_run = run_deployment(name, timeout=400)
        log = (tmp_path / "schedule.log").read_text()
        assert flow_run.state is not None, log  # type: ignore[union-attr]
        assert flow_run.state.is_completed(), (flow_run.state, log)  # type: ignore[union-attr]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        output.close()
    for stype, run_dir in guide.runs.items():
        assert_ingested(guide, run_dir, collection_of(stype, run_dir))


def _stored_parameters(flow_name: str) -> list[dict[str, Any]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))
    return [run.parameters for run in runs]


def test_customizing_workflows(guide: Guide) -> None:
    """Customizing Workflows: the user's flow uploads each run with real run AVUs."""
    # --- the guide (plus its missing import os) ---
    import os

    from prefect import flow, task

    from rodrunner.config import get_config
    from rodrunner.irods.client import iRODSClient
    from rodrunner.tasks.filesystem import find_sequencer_runs_task
    from rodrunner.tasks.parsing import parse_sequencer_run

    @task
    def process_run(run_dir, config):  # type: ignore[no-untyped-def]
        # Parse the run metadata
        metadata = parse_sequencer_run(run_dir)

        # Create an iRODS client
        irods_client = iRODSClient(config.irods)

        # Upload the run to iRODS
        irods_path = f"/tempZone/home/rods/sequencer/{os.path.basename(run_dir)}"
        irods_client.upload_directory(run_dir, irods_path, metadata=metadata)

        return {"run_dir": run_dir, "irods_path": irods_path, "success": True}

    @flow
    def custom_ingest_workflow(config, sequencer_type, root_dir):  # type: ignore[no-untyped-def]
        # Find sequencer runs
        run_dirs = find_sequencer_runs_task(root_dir=root_dir, sequencer_type=sequencer_type)

        # Process each run
        results = []
        for run_dir in run_dirs:
            result = process_run(run_dir, config)
            results.append(result)

        return results

    # --- end ---
    results = {
        stype: custom_ingest_workflow(get_config(), stype, f"{guide.root}/{stype}")
        for stype in guide.runs
    }
    session = guide.session()
    try:
        for stype, run_dir in guide.runs.items():
            collection = f"/tempZone/home/rods/sequencer/{run_dir.name}"
            assert results[stype] == [
                {"run_dir": str(run_dir), "irods_path": collection, "success": True}
            ]
            assert _stored_tree(session, collection) == _local_tree(run_dir)
            assert_real_run_avus(_avus(session, collection), _run_id(run_dir))
    finally:
        session.cleanup()
    stored = _stored_parameters("custom-ingest-workflow")
    assert [p["config"]["irods"]["password"] for p in stored] == ["**********"] * 3
    assert PASSWORD not in json.dumps(stored)


@dataclass
class _Mailbox:
    messages: list[Any]
    logins: list[str]


@contextmanager
def starttls_smtp_server(tmp_path: Path) -> Iterator[tuple[int, _Mailbox]]:
    """A real SMTP server on 127.0.0.1 that wants STARTTLS and a login, as a relay does."""
    import email
    import email.policy

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from tests.conftest import self_signed_certificate

    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = _Mailbox(messages=[], logins=[])

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default)
            )
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        box.logins.append(auth.login.decode())
        return AuthResult(success=auth.login == b"username" and auth.password == b"password")

    port = _free_port()
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


def test_error_handling_and_notifications(guide: Guide, tmp_path: Path) -> None:
    """Error Handling and Notifications: the user's flow mails one report with the counts."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    broken = simulate_run(guide.root / "novaseq", "novaseq", files=2, size=16)
    (tmp_path / "outside.txt").write_text("not part of the run\n")
    os.symlink(tmp_path / "outside.txt", broken / "escape.txt")  # a file no ingest may store
    with (
        starttls_smtp_server(tmp_path) as (smtp_port, box),
        temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: tmp_path / "prefect-results"}),
    ):
        # --- the guide (SMTP host and port changed) ---
        import smtplib
        from datetime import timedelta
        from email.message import EmailMessage

        from prefect import flow, task
        from prefect.tasks import task_input_hash

        @task(cache_key_fn=task_input_hash, cache_expiration=timedelta(hours=1))
        def send_notification(subject, message, to_email):  # type: ignore[no-untyped-def]
            msg = EmailMessage()
            msg.set_content(message)
            msg["Subject"] = subject
            msg["From"] = "noreply@example.com"
            msg["To"] = to_email

            with smtplib.SMTP("127.0.0.1", smtp_port) as server:
                server.starttls()
                server.login("username", "password")
                server.send_message(msg)

            return True

        @flow
        def ingest_with_notifications(config, sequencer_type, root_dir, notify_email):  # type: ignore[no-untyped-def]
            try:
                # Run the ingest workflow
                results = ingest_sequencer_runs(
                    config=config, sequencer_type=sequencer_type, root_dir=root_dir
                )

                # Count successes and failures
                successes = sum(1 for r in results if r.get("success", False))
                failures = len(results) - successes

                # Send notification
                subject = f"Ingest Workflow Completed: {successes} succeeded, {failures} failed"
                message = f"Ingest workflow for {sequencer_type} completed.\n\n"
                message += f"Successes: {successes}\n"
                message += f"Failures: {failures}\n\n"

                if failures > 0:
                    message += "Failed runs:\n"
                    for result in results:
                        if not result.get("success", False):
                            message += f"- {result.get('run_dir', 'Unknown')}: {result.get('error', 'Unknown error')}\n"  # noqa: E501

                send_notification(subject, message, notify_email)

                return results

            except Exception as e:
                # Send error notification
                subject = f"Ingest Workflow Failed: {str(e)}"  # noqa: RUF010
                message = f"Ingest workflow for {sequencer_type} failed with error:\n\n{str(e)}"  # noqa: RUF010
                send_notification(subject, message, notify_email)

                raise

        # --- end ---
        results = ingest_with_notifications(
            get_config(), "novaseq", f"{guide.root}/novaseq", "seq-ops@example.org"
        )
    good = guide.runs["novaseq"]
    by_dir = {r["run_dir"]: r for r in results}
    assert_entry(by_dir[str(good)], "novaseq", good, "complete")
    assert by_dir[str(broken)]["success"] is False
    assert "escape.txt" in by_dir[str(broken)]["error"]
    assert box.logins == ["username"]
    [mail] = box.messages
    assert mail["Subject"] == "Ingest Workflow Completed: 1 succeeded, 1 failed"
    assert mail["To"] == "seq-ops@example.org"
    body = mail.get_content().splitlines()
    assert body[:5] == [
        "Ingest workflow for novaseq completed.",
        "",
        "Successes: 1",
        "Failures: 1",
        "",
    ]
    assert body[5] == "Failed runs:"
    assert body[6].startswith(f"- {broken}: ")
    assert_ingested(guide, good, collection_of("novaseq", good))


def test_notifications_with_the_project_notifier(guide: Guide, tmp_path: Path) -> None:
    """docs/ingest.md's version: one notify_results call mails the counts and each failure."""
    from tests.rodrunner.test_notify import smtp_server

    broken = simulate_run(guide.root / "novaseq", "novaseq", files=2, size=16)
    (tmp_path / "outside.txt").write_text("not part of the run\n")
    os.symlink(tmp_path / "outside.txt", broken / "escape.txt")
    with smtp_server() as inbox:
        data = yaml.safe_load(guide.config.read_text())
        data["notifications"] = {
            "urls": [
                f"mailto://127.0.0.1:{inbox.port}?from=rodrunner@example.org"
                "&to=seq-ops@example.org&mode=insecure"
            ],
            "on_failure": False,
        }
        guide.config.write_text(yaml.safe_dump(data))
        # --- docs/ingest.md (root changed) ---
        from prefect import flow

        from rodrunner.config import get_config
        from rodrunner.notify import notify_results
        from rodrunner.workflows.ingest import ingest_sequencer_runs

        @flow
        def ingest_with_notifications(sequencer_type: str, root_dir: str) -> list[dict]:  # type: ignore[type-arg]
            config = get_config()
            results = ingest_sequencer_runs(
                config=config, sequencer_type=sequencer_type, root_dir=root_dir
            )
            notify_results(results, config, what=f"{sequencer_type} ingest")
            return results

        # --- end ---
        results = ingest_with_notifications("novaseq", f"{guide.root}/novaseq")
    assert sorted(r["success"] for r in results) == [False, True]
    [mail] = inbox.messages
    assert mail["Subject"] == "rodrunner novaseq ingest: 1 succeeded, 1 failed"
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    lines = part.get_content().splitlines()
    assert lines[:5] == ["Runs: 2", "Succeeded: 1", "Failed: 1", "", "Failed runs:"]
    assert lines[5].startswith(f"- {broken.name}: ")
    assert "escape.txt" in lines[5]


# ------------------------------------------------------------------ Examples


def test_complete_ingest_and_metadata_update_workflow(
    guide: Guide, capsys: pytest.CaptureFixture[str]
) -> None:
    """Complete Ingest and Metadata Update: the flows as subflows; ingest and metadata results."""
    seq = str(guide.root)
    # --- the guide ---
    from prefect import flow

    from rodrunner.config import get_config
    from rodrunner.workflows.ingest import ingest_sequencer_runs
    from rodrunner.workflows.metadata import update_run_metadata

    @flow
    def complete_ingest_workflow(sequencer_type, root_dir):  # type: ignore[no-untyped-def]
        # Load the configuration
        config = get_config()

        # Run the ingest workflow
        ingest_results = ingest_sequencer_runs(
            config=config, sequencer_type=sequencer_type, root_dir=root_dir
        )

        # Update metadata for each successful ingest
        metadata_results = []
        for result in ingest_results:
            if result.get("success", False) and "irods_path" in result:
                metadata_result = update_run_metadata(
                    config=config, irods_path=result["irods_path"], sequencer_type=sequencer_type
                )
                metadata_results.append(metadata_result)

        return {"ingest_results": ingest_results, "metadata_results": metadata_results}

    # Run the workflow
    results = complete_ingest_workflow("miseq", f"{seq}/miseq")
    print(results)
    # --- end ---
    run_dir = guide.runs["miseq"]
    collection = collection_of("miseq", run_dir)
    assert set(results) == {"ingest_results", "metadata_results"}
    [entry] = results["ingest_results"]
    assert_entry(entry, "miseq", run_dir, "complete")
    [metadata] = results["metadata_results"]
    assert (metadata["irods_path"], metadata["success"], metadata["error"]) == (
        collection,
        True,
        None,
    )
    assert str(results) in capsys.readouterr().out
    assert_ingested(guide, run_dir, collection)


def test_parallel_processing_of_multiple_sequencer_types(
    guide: Guide, capsys: pytest.CaptureFixture[str]
) -> None:
    """Parallel Processing: the flow from threads of a user's flow, via .fn; all three types."""
    seq = str(guide.root)
    # --- the guide ---
    from concurrent.futures import ThreadPoolExecutor

    from prefect import flow, task

    from rodrunner.config import get_config
    from rodrunner.workflows.ingest import ingest_sequencer_runs

    @task
    def ingest_sequencer_type(config, sequencer_type, root_dir):  # type: ignore[no-untyped-def]
        return {
            "sequencer_type": sequencer_type,
            "results": ingest_sequencer_runs(
                config=config,
                sequencer_type=sequencer_type,
                root_dir=f"{root_dir}/{sequencer_type}",
            ),
        }

    @flow
    def parallel_ingest_workflow(root_dir, sequencer_types):  # type: ignore[no-untyped-def]
        # Load the configuration
        config = get_config()

        # Process each sequencer type in parallel
        with ThreadPoolExecutor(max_workers=len(sequencer_types)) as executor:
            futures = []
            for sequencer_type in sequencer_types:
                future = executor.submit(
                    ingest_sequencer_type.fn,
                    config=config,
                    sequencer_type=sequencer_type,
                    root_dir=root_dir,
                )
                futures.append(future)

            # Collect results
            results = {}
            for future in futures:
                result = future.result()
                results[result["sequencer_type"]] = result["results"]

        return results

    # Run the workflow
    results = parallel_ingest_workflow(root_dir=seq, sequencer_types=["miseq", "novaseq", "pacbio"])
    print(results)
    # --- end ---
    assert set(results) == {"miseq", "novaseq", "pacbio"}
    for stype, run_dir in guide.runs.items():
        [entry] = results[stype]
        assert_entry(entry, stype, run_dir, "complete")
        assert_ingested(guide, run_dir, collection_of(stype, run_dir))
    assert str(results) in capsys.readouterr().out


def test_a_configured_type_without_its_folder_is_one_entry(guide: Guide) -> None:
    """A configured type whose folder is missing under root_dir is one failed entry, no raise."""
    from rodrunner.workflows.ingest import ingest_all_sequencer_runs

    data = yaml.safe_load(guide.config.read_text())
    data["sequencer"]["types"] = {"miseq": {}, "nextseq": {}}
    guide.config.write_text(yaml.safe_dump(data))
    results = ingest_all_sequencer_runs(config=get_config(), root_dir=str(guide.root))
    assert set(results) == {"miseq", "nextseq"}
    assert_entry(results["miseq"][0], "miseq", guide.runs["miseq"], "complete")
    [missing] = results["nextseq"]
    assert set(missing) >= ENTRY_KEYS
    assert missing["run_dir"] == str(guide.root / "nextseq")
    assert missing["success"] is False
    assert "does not exist" in missing["error"]


def test_flow_functions_run_from_threads(guide: Guide) -> None:
    """ingest_sequencer_runs.fn called from plain threads (no flow around) ingests each type."""
    from concurrent.futures import ThreadPoolExecutor

    config = get_config()
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            stype: pool.submit(
                ingest_sequencer_runs.fn,
                config=config,
                sequencer_type=stype,
                root_dir=f"{guide.root}/{stype}",
            )
            for stype in guide.runs
        }
        results = {stype: future.result() for stype, future in futures.items()}
    for stype, run_dir in guide.runs.items():
        [entry] = results[stype]
        assert_entry(entry, stype, run_dir, "complete")
        assert_ingested(guide, run_dir, collection_of(stype, run_dir))

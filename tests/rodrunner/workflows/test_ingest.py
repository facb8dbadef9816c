"""The ingest flows against the iRODS sandbox with the real client, under Prefect's harness."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import structlog
import structlog.testing
import yaml

from rodrunner.config import get_config
from rodrunner.irods.client import iRODSClient
from rodrunner.manifest import parse_manifest
from rodrunner.plan import MANIFEST_NAME
from rodrunner.run import IngestSummary
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from rodrunner.workflows.ingest import (
    ingest_all_sequencer_runs,
    ingest_run,
    ingest_sequencer_runs,
)
from tests.rodrunner.test_notify import Inbox, smtp_server

pytestmark = pytest.mark.usefixtures("prefect_harness")


def write_config(path: Path, info: SandboxInfo, **irods: Any) -> Path:
    """A configuration file pointing at the sandbox ``info``."""
    data = {
        "irods": {
            "host": info.host,
            "port": info.port,
            "zone": info.zone,
            "user": info.user,
            "password": info.password.get_secret_value(),
            "transfer_threads": 4,
            **irods,
        },
        "sequencer": {"base_dir": str(path.parent / "seq")},
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def local_sha256(run_dir: Path) -> dict[str, str]:
    """SHA-256 of every file below ``run_dir``, by relative path."""
    out = {}
    for path in sorted(run_dir.rglob("*")):
        if path.is_file():
            out[path.relative_to(run_dir).as_posix()] = hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
    return out


def run(run_dir: Path, config: Path, **kwargs: Any) -> dict[str, Any]:
    """Run the Ingest Run flow and return its summary whatever the final state."""
    state = ingest_run(str(run_dir), config=str(config), return_state=True, **kwargs)
    return IngestSummary.from_state(state, str(run_dir)).as_result()  # type: ignore[arg-type]


@pytest.fixture
def config_file(tmp_path: Path, irods_sandbox: SandboxInfo) -> Path:
    """A config file for this test's sandbox."""
    return write_config(tmp_path / "config.yaml", irods_sandbox)


def test_ingest_stores_verified_objects_avus_and_manifest(
    tmp_path: Path, config_file: Path
) -> None:
    """A NovaSeq run lands with every server checksum = local SHA-256, run/status AVUs, manifest."""
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=150, size=2048)
    summary = run(run_dir, config_file)
    assert summary["status"] == "complete", summary["error"]
    assert summary["success"] is True
    expected = local_sha256(run_dir)
    assert summary["files"] == len(expected)
    assert summary["uploaded_files"] == len(expected)
    collection = summary["irods_path"]
    assert collection == f"/tempZone/home/rods/sequencer/novaseq/{run_dir.name}"
    with iRODSClient(get_config(config_file).irods) as client:
        remote = client.list_objects(collection)
        assert {
            rel: obj.checksum for rel, obj in remote.items() if rel != MANIFEST_NAME
        } == expected
        avus = {(a.attr, a.value) for a in client.get_metadata(collection)}
        data = client.read_bytes(f"{collection}/{MANIFEST_NAME}")
    attrs = dict(avus)
    assert attrs["rodrunner::status"] == "complete"
    assert attrs["rodrunner::files"] == str(len(expected))
    assert attrs["rodrunner::bytes"] == str(
        sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
    )
    assert attrs["rodrunner::manifest_sha256"] == hashlib.sha256(data).hexdigest()
    assert attrs["run_id"] == run_dir.name
    assert attrs["platform"] == "illumina"
    assert "rodrunner::ingested_at" in attrs
    assert "rodrunner::version" in attrs
    assert [(e.path, e.sha256) for e in parse_manifest(data).entries] == sorted(expected.items())


def test_second_ingest_is_skipped_and_force_resends_only_changes(
    tmp_path: Path, config_file: Path
) -> None:
    """A run already complete is skipped; force=True re-verifies and resends only what differs."""
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=40, size=1024)
    first = run(run_dir, config_file)
    assert first["status"] == "complete", first["error"]
    again = run(run_dir, config_file)
    assert again["status"] == "skipped"
    assert again["success"] is True
    assert again["uploaded_files"] == 0
    assert again["uploaded_bytes"] == 0
    victim = sorted(p for p in run_dir.rglob("*.cbcl"))[0]
    data = bytearray(victim.read_bytes())
    data[0] ^= 0xFF  # same size, other content: the cheap check cannot see it
    victim.write_bytes(bytes(data))
    assert run(run_dir, config_file)["status"] == "skipped"
    forced = run(run_dir, config_file, force=True)
    assert forced["status"] == "complete", forced["error"]
    assert forced["uploaded_files"] == 1
    with iRODSClient(get_config(config_file).irods) as client:
        rel = victim.relative_to(run_dir).as_posix()
        assert (
            client.list_objects(forced["irods_path"])[rel].checksum
            == hashlib.sha256(data).hexdigest()
        )


def test_log_events_carry_run_context(tmp_path: Path, config_file: Path) -> None:
    """ingest.started/verified/complete, then ingest.skipped, each with run_id and flow_run_id."""
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=3, size=32)
    structlog.reset_defaults()  # another test's command line may have configured a filter
    with structlog.testing.capture_logs() as logs:
        run(run_dir, config_file)
        run(run_dir, config_file)
    events = [e for e in logs if e["event"].startswith("ingest.")]
    names = [e["event"] for e in events]
    for name in ("ingest.started", "ingest.verified", "ingest.complete", "ingest.skipped"):
        assert name in names
    for event in events:
        if event["event"] in ("ingest.started", "ingest.complete", "ingest.skipped"):
            assert event["run_id"] == run_dir.name
            assert event["sequencer_type"] == "novaseq"
            assert event["flow_run_id"]
    assert all(e["log_level"] != "info" for e in logs if e["event"] == "ingest.file_uploaded")


def test_changed_tree_is_ingested_again_without_force(tmp_path: Path, config_file: Path) -> None:
    """A file added after the ingest makes the next ingest send that file only."""
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=20, size=512)
    assert run(run_dir, config_file)["status"] == "complete"
    (run_dir / "late_report.txt").write_text("added later\n")
    summary = run(run_dir, config_file)
    assert summary["status"] == "complete", summary["error"]
    assert summary["uploaded_files"] == 1


def test_wrong_password_fails_with_clear_error(tmp_path: Path, irods_sandbox: SandboxInfo) -> None:
    """A wrong password fails the flow run with an authentication message and no data sent."""
    config = write_config(tmp_path / "bad.yaml", irods_sandbox, password="not-the-password")
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=5, size=64)
    state = ingest_run(str(run_dir), config=str(config), return_state=True)
    assert state.is_failed()  # type: ignore[union-attr]
    summary = IngestSummary.from_state(state, str(run_dir)).as_result()  # type: ignore[arg-type]
    assert summary["status"] == "failed"
    assert summary["error_type"] == "AuthenticationError"
    assert "not-the-password" not in summary["error"]
    assert summary["uploaded_files"] == 0


def test_failure_is_mailed(tmp_path: Path, irods_sandbox: SandboxInfo) -> None:
    """A failed ingest sends one mail naming the run and the cause, never the password."""
    with smtp_server() as inbox:
        _check_failure_mail(tmp_path, irods_sandbox, inbox)


def _check_failure_mail(tmp_path: Path, irods_sandbox: SandboxInfo, inbox: Inbox) -> None:
    url = f"mailto://127.0.0.1:{inbox.port}?from=r@example.org&to=ops@example.org&mode=insecure"
    config = write_config(tmp_path / "bad.yaml", irods_sandbox, password="Wr0ngPassword")
    data = yaml.safe_load(config.read_text())
    data["notifications"] = {"urls": [url]}
    config.write_text(yaml.safe_dump(data))
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=2, size=16)
    assert run(run_dir, config)["status"] == "failed"
    assert len(inbox.messages) == 1
    text = inbox.text()
    assert run_dir.name in text
    assert "FAILED" in text
    assert "Wr0ngPassword" not in text


def test_unreachable_server_mail_promises_no_retry(
    tmp_path: Path, irods_sandbox: SandboxInfo
) -> None:
    """The final failure mail for an iRODS server nobody answers on never says it is retried."""
    from tests.rodrunner.test_notify import _free_port

    with smtp_server() as inbox:
        url = f"mailto://127.0.0.1:{inbox.port}?from=r@example.org&to=o@example.org&mode=insecure"
        config = write_config(tmp_path / "down.yaml", irods_sandbox, port=_free_port())
        data = yaml.safe_load(config.read_text())
        data["notifications"] = {"urls": [url]}
        config.write_text(yaml.safe_dump(data))
        run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=2, size=16)
        summary = run(run_dir, config)
        assert summary["status"] == "failed"
        assert len(inbox.messages) == 1
        text = inbox.text()
    assert "iRODS" in text
    assert "retried" not in text
    assert "retried" not in summary["error"]


def test_file_error_leaves_status_ingesting(tmp_path: Path, config_file: Path) -> None:
    """A file that cannot be stored (symlink out of the run) fails the run, status not complete."""
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=5, size=64)
    outside = tmp_path / "secret.txt"
    outside.write_text("outside\n")
    os.symlink(outside, run_dir / "escape.txt")
    summary = run(run_dir, config_file)
    assert summary["status"] == "failed"
    assert "escape.txt" in summary["error"]
    with iRODSClient(get_config(config_file).irods) as client:
        attrs = {a.attr: a.value for a in client.get_metadata(summary["irods_path"])}
        names = client.list_objects(summary["irods_path"])
    assert attrs["rodrunner::status"] == "ingesting"
    assert "escape.txt" not in names
    assert MANIFEST_NAME not in names


def _stored_parameters(flow_name: str) -> list[dict[str, Any]]:
    """The parameters Prefect's API holds for every run of the flow ``flow_name``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))
    return [run.parameters for run in runs]


def test_config_object_is_used_and_no_secret_reaches_prefect(tmp_path: Path) -> None:
    """get_config()'s AppConfig is accepted by every flow; Prefect stores no secret of it."""
    from rodrunner.sandbox import run_sandbox
    from rodrunner.workflows.metadata import update_run_metadata

    with run_sandbox(tmp_path / "irods", password="IrodsPassNeverStored") as info:
        _check_no_secret_stored(tmp_path, info, update_run_metadata)


def _check_no_secret_stored(tmp_path: Path, info: SandboxInfo, update_run_metadata: Any) -> None:
    path = write_config(tmp_path / "config.yaml", info)
    data = yaml.safe_load(path.read_text())
    data["api"] = {"token": "T0kenNeverStored"}
    data["notifications"] = {"urls": ["mailto://u:MailPassNeverStored@127.0.0.1:9/?to=a@b.c"]}
    path.write_text(yaml.safe_dump(data))
    config = get_config(path)
    run_dir = simulate_run(tmp_path / "seq" / "miseq", "miseq", files=3, size=32)
    results = ingest_sequencer_runs(config=config, sequencer_type="miseq")
    assert [(r["run_dir"], r["status"]) for r in results] == [(str(run_dir), "complete")]
    assert ingest_all_sequencer_runs(config=config)["miseq"][0]["status"] == "skipped"
    assert update_run_metadata(config, results[0]["irods_path"], "miseq")["success"]
    secrets = ("T0kenNeverStored", "MailPassNeverStored", "IrodsPassNeverStored")
    names = ("Ingest Run", "Ingest Sequencer Runs", "Ingest All Sequencer Runs")
    stored = {name: _stored_parameters(name) for name in (*names, "Update Run Metadata")}
    assert all(stored.values())
    text = json.dumps(stored)
    assert "**********" in text
    assert not [s for s in secrets if s in text]


def test_config_path_like_is_accepted(tmp_path: Path, config_file: Path) -> None:
    """A PathLike config is read like a str path; the flow run records the path string."""
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=2, size=16)
    state = ingest_run(str(run_dir), config=config_file, return_state=True)
    summary = IngestSummary.from_state(state, str(run_dir)).as_result()  # type: ignore[arg-type]
    assert summary["status"] == "complete"


@pytest.mark.parametrize("config", [{"irods": {"password": "s3cret"}}, 42])
def test_config_of_another_type_is_refused(tmp_path: Path, config: object) -> None:
    """A config that is neither AppConfig, path nor None is a TypeError naming what is accepted."""
    with pytest.raises(TypeError, match=r"AppConfig .*path .*None") as caught:
        ingest_run(str(tmp_path), config=config)  # type: ignore[arg-type]
    assert "s3cret" not in str(caught.value)


def test_missing_run_folder_fails_cleanly(tmp_path: Path, config_file: Path) -> None:
    """A run folder that does not exist is a failed summary naming it, not a traceback."""
    summary = run(tmp_path / "nope", config_file)
    assert summary["status"] == "failed"
    assert "nope" in summary["error"]


def test_hostile_run_id_never_climbs_out(tmp_path: Path, config_file: Path) -> None:
    """A run folder named '..'-like cannot produce a collection outside the template."""
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=2, size=16)
    cfg = tmp_path / "tmpl.yaml"
    data = yaml.safe_load(config_file.read_text())
    data["irods"]["collection_template"] = "/{zone}/home/{user}/{run_id}"
    cfg.write_text(yaml.safe_dump(data))
    summary = run(run_dir, cfg)
    assert summary["status"] == "complete", summary["error"]
    assert summary["irods_path"] == f"/tempZone/home/rods/{run_dir.name}"


def test_ingest_sequencer_runs_and_all(tmp_path: Path, config_file: Path) -> None:
    """Ingest Sequencer Runs ingests each complete run; Ingest All covers every type present."""
    root = tmp_path / "seq"
    done = simulate_run(
        root / "novaseq", "novaseq", files=5, size=64, run_id="200101_A00001_0001_AHAAAAAAXX"
    )
    simulate_run(
        root / "novaseq",
        "novaseq",
        files=5,
        size=64,
        run_id="200102_A00001_0002_AHBBBBBBXX",
        complete=False,
    )
    miseq = simulate_run(root / "miseq", "miseq", files=5, size=64)
    results = ingest_sequencer_runs(str(config_file), "novaseq")
    assert [(r["run_dir"], r["status"]) for r in results] == [(str(done), "complete")]
    assert set(results[0]) >= {
        "run_dir",
        "irods_path",
        "success",
        "status",
        "error",
        "files",
        "bytes",
        "seconds",
    }
    everything = ingest_all_sequencer_runs(str(config_file))
    assert set(everything) == {"novaseq", "miseq"}
    assert [r["status"] for r in everything["novaseq"]] == ["skipped"]
    assert [(r["run_dir"], r["status"]) for r in everything["miseq"]] == [(str(miseq), "complete")]
    json.dumps(everything)  # plain JSON data, nothing else


@pytest.mark.slow
def test_large_novaseq_run(tmp_path: Path, config_file: Path) -> None:
    """>= 2,000 files and three 64 MiB files ingest verified; a second ingest sends nothing."""
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=2000, size=1024)
    for i in range(3):
        (run_dir / "Data" / f"big_{i}.bin").write_bytes(os.urandom(64 * 2**20))
    summary = run(run_dir, config_file)
    assert summary["status"] == "complete", summary["error"]
    assert summary["files"] >= 2000
    expected = local_sha256(run_dir)
    with iRODSClient(get_config(config_file).irods) as client:
        remote = client.list_objects(summary["irods_path"])
    assert {rel: obj.checksum for rel, obj in remote.items() if rel != MANIFEST_NAME} == expected
    again = run(run_dir, config_file)
    assert again["status"] == "skipped"
    assert again["uploaded_bytes"] == 0


def test_a_second_folder_with_the_same_run_id_is_a_conflict_until_suffixed(
    tmp_path: Path, config_file: Path, irods_sandbox: SandboxInfo
) -> None:
    """A copy of a run under another folder name ends Failed named Conflict, status conflict,
    naming both folders; with a suffix it lands in <collection>_<suffix>, and later flow runs
    of that folder find it there (skipped) instead of conflicting again."""
    first = simulate_run(tmp_path / "seq" / "miseq", "miseq", files=3, size=100)
    assert run(first, config_file)["status"] == "complete"
    second = tmp_path / "seq" / "miseq" / f"{first.name}_copy"
    second.mkdir()
    for path in first.rglob("*"):
        target = second / path.relative_to(first)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.write_bytes(path.read_bytes())
    (second / "extra.txt").write_text("new\n")
    state = ingest_run(str(second), config=str(config_file), return_state=True)
    assert state.name == "Conflict"
    held = IngestSummary.from_state(state, str(second)).as_result()  # type: ignore[arg-type]
    assert held["status"] == "conflict"
    assert str(first) in held["error"]
    assert str(second) in held["error"]

    moved = run(second, config_file, suffix="copy")
    assert moved["status"] == "complete", moved["error"]
    assert moved["irods_path"] == f"{held['irods_path']}_copy"
    again = run(second, config_file)
    assert again["status"] == "skipped", again
    assert again["irods_path"] == moved["irods_path"]
    with iRODSClient(get_config(config_file).irods) as client:
        assert not client.list_objects(held["irods_path"]).get("extra.txt")
    assert run(second, config_file, suffix="../x")["error_type"] == "ConfigError"


def test_one_folder_named_through_a_symlink_is_the_same_source(
    tmp_path: Path, config_file: Path
) -> None:
    """The same run folder reached through a symlinked path is not a conflict with itself."""
    run_dir = simulate_run(tmp_path / "seq" / "miseq", "miseq", files=2, size=50)
    (tmp_path / "alias").symlink_to(tmp_path / "seq")
    assert run(run_dir, config_file)["status"] == "complete"
    again = run(tmp_path / "alias" / "miseq" / run_dir.name, config_file)
    assert again["status"] == "skipped", again


def test_a_batch_flow_reads_the_config_once_and_hands_its_subflows_the_object(
    tmp_path: Path, config_file: Path
) -> None:
    """Ingest Sequencer Runs given a config path reads it once: its Ingest Run subflow is
    given the configuration object (stored masked by Prefect), not the path to read again."""
    run_dir = simulate_run(
        tmp_path / "seq" / "miseq",
        "miseq",
        files=2,
        size=16,
        run_id="200103_M00001_0003_000000000-CCCCC",
    )
    results = ingest_sequencer_runs(str(config_file), "miseq")
    assert [r["status"] for r in results] == ["complete"]
    [stored] = [p for p in _stored_parameters("Ingest Run") if p.get("run_dir") == str(run_dir)]
    assert isinstance(stored["config"], dict)
    assert stored["config"]["irods"]["password"] == "**********"
    assert str(config_file) not in json.dumps(stored)

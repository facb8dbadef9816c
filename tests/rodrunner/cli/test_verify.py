"""``rodrunner verify`` and ``rodrunner deletable`` against the sandbox (a second resource) over
TCP with the real python-irodsclient, on runs stored by ingest's own steps."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from irods import keywords as kw

from rodrunner.cli import main
from rodrunner.cli.ingest import _plan
from rodrunner.config import AppConfig, get_config
from rodrunner.irods.client import iRODSClient
from rodrunner.ledger.states import RunState
from rodrunner.ledger.store import Ledger
from rodrunner.manifest import build_manifest
from rodrunner.plan import INGESTED_AT_ATTR, VERIFIED_AT_ATTR
from rodrunner.sandbox import SandboxInfo, run_sandbox
from rodrunner.simulate import simulate_run
from rodrunner.tasks.irods import mark_ingesting, tag_run, upload_run, verify_run, write_manifest
from tests.conftest import sandbox_session, vault_file

SECOND = "secondResc"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxInfo]:
    with run_sandbox(tmp_path / "irods", resources=[SECOND]) as info:
        yield info


@pytest.fixture
def config_file(tmp_path: Path, sandbox: SandboxInfo) -> Path:
    data = {
        "irods": {
            "host": sandbox.host,
            "port": sandbox.port,
            "password": sandbox.password.get_secret_value(),
            "transfer_threads": 2,
        },
        "daemon": {"state_dir": str(tmp_path / "state")},
        "retention": {"min_replicas": 1, "keep_days": 0, "verify_within": 1},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def config(config_file: Path) -> AppConfig:
    return get_config(config_file)


@pytest.fixture
def client(config: AppConfig) -> Iterator[iRODSClient]:
    with iRODSClient(config.irods) as c:
        yield c


def ingest(
    run_dir: Path, config: AppConfig, client: iRODSClient, *, record_md5: bool = True
) -> str:
    """Store a run as the "Ingest Run" flow does, step by step (its task functions, no
    Prefect); ``record_md5=False`` writes the manifest as before MD5 zones were known."""
    plan = _plan(run_dir, None, config)
    mark_ingesting.fn(client, plan.collection)
    report = upload_run.fn(
        client, run_dir, plan.collection, include=plan.include, exclude=plan.exclude
    )
    assert report.ok, report.errors
    sizes = {rel: (run_dir / rel).stat().st_size for rel in report.checksums}
    assert verify_run.fn(client, plan.collection, sizes, report.checksums, report.md5s).ok
    if record_md5:
        manifest = build_manifest(
            plan.run_id,
            sizes,
            report.checksums,
            md5s=report.md5s,
            irods_checksum=client.hash_scheme,
        )
    else:
        manifest = build_manifest(plan.run_id, sizes, report.checksums)
    write_manifest.fn(client, plan.collection, manifest)
    tag_run.fn(client, plan, manifest)
    return plan.collection


@pytest.fixture
def run(tmp_path: Path, config: AppConfig, client: iRODSClient) -> tuple[Path, str]:
    run_dir = simulate_run(tmp_path / "novaseq", "novaseq", files=6, size=2048)
    return run_dir, ingest(run_dir, config, client)


def replicate_all(sandbox: SandboxInfo, client: iRODSClient, collection: str) -> None:
    session = sandbox_session(sandbox)
    try:
        for rel in client.list_replicas(collection):
            session.data_objects.replicate(f"{collection}/{rel}", resource=SECOND)
    finally:
        session.cleanup()


def a_data_file(client: iRODSClient, collection: str) -> str:
    """The relative path of one run file of at least 2 KiB (not the manifest)."""
    return next(
        rel
        for rel, replicas in sorted(client.list_replicas(collection).items())
        if rel != "rodrunner.manifest.json" and replicas[0].size >= 2048
    )


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()  # what the test's own set-up printed
    code = main(list(args))
    return code, capsys.readouterr().out


def verify_json(
    capsys: pytest.CaptureFixture[str], config_file: Path, target: str, *flags: str
) -> tuple[int, dict[str, Any]]:
    code, out = cli(capsys, "verify", target, "--json", "--config", str(config_file), *flags)
    return code, json.loads(out)


def kinds(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["kind"], p["path"]) for p in document["problems"]]


# ------------------------------------------------------------------------------------ verify


def test_a_whole_run_verifies_from_the_folder_and_from_the_collection(
    run: tuple[Path, str], config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Folder, manifest and catalog agree: exit 0, one summary line, no problem lines."""
    run_dir, collection = run
    code, out = cli(capsys, "verify", str(run_dir), "--config", str(config_file))
    assert code == 0, out
    assert out.strip().splitlines() == [
        f"{collection}: whole (verified {len(list(_files(run_dir)))} files, "
        f"{len(list(_files(run_dir))) + 1} replicas)"
    ]
    code, document = verify_json(capsys, config_file, collection)
    assert (code, document["ok"], document["run_dir"]) == (0, True, None)


def _files(run_dir: Path) -> Iterator[Path]:
    return (p for p in run_dir.rglob("*") if p.is_file())


def test_deep_verification_of_a_whole_run_records_verified_at(
    run: tuple[Path, str],
    config_file: Path,
    client: iRODSClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--deep on a whole run exits 0 and sets rodrunner::verified_at on the collection."""
    run_dir, collection = run
    code, document = verify_json(capsys, config_file, str(run_dir), "--deep")
    assert (code, document["ok"]) == (0, True)
    stamps = [a.value for a in client.get_metadata(collection) if a.attr == VERIFIED_AT_ATTR]
    assert stamps == [document["verified_at"]]


def test_a_corrupted_vault_object_is_caught_only_by_deep(
    run: tuple[Path, str],
    config_file: Path,
    client: iRODSClient,
    sandbox: SandboxInfo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Bytes changed on storage, size kept: the catalog still agrees; --deep names the file."""
    run_dir, collection = run
    rel = a_data_file(client, collection)
    file = vault_file(sandbox, f"{collection}/{rel}")
    raw = bytearray(file.read_bytes())
    raw[0] ^= 0xFF
    file.write_bytes(bytes(raw))
    assert verify_json(capsys, config_file, str(run_dir))[0] == 0
    code, document = verify_json(capsys, config_file, str(run_dir), "--deep")
    assert code == 1
    assert kinds(document) == [("storage", rel)]
    assert "-314000" in document["problems"][0]["message"]
    assert "computed checksum" in document["problems"][0]["message"]
    assert not any(a.attr == VERIFIED_AT_ATTR for a in client.get_metadata(collection))


def test_a_truncated_vault_object_is_reported_by_deep(
    run: tuple[Path, str],
    config_file: Path,
    client: iRODSClient,
    sandbox: SandboxInfo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A shorter storage file: a size and an unreadable-checksum line for that file."""
    run_dir, collection = run
    rel = a_data_file(client, collection)
    file = vault_file(sandbox, f"{collection}/{rel}")
    file.write_bytes(file.read_bytes()[:10])
    code, out = cli(capsys, "verify", str(run_dir), "--deep", "--config", str(config_file))
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0] == (
        f"storage       {rel}: ERROR: Physical size does not match size in catalog for "
        "replica [0]. (-401000)"
    )
    assert "NOT whole, 2 problem(s)" in lines[-1]


def test_a_deleted_vault_file_and_a_deleted_object_are_reported(
    run: tuple[Path, str],
    config_file: Path,
    client: iRODSClient,
    sandbox: SandboxInfo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A storage file gone: --deep reports it; a data object gone: plain verify reports it."""
    run_dir, collection = run
    rels = [
        rel
        for rel, replicas in sorted(client.list_replicas(collection).items())
        if rel != "rodrunner.manifest.json" and replicas[0].size >= 2048
    ]
    vault_file(sandbox, f"{collection}/{rels[0]}").unlink()
    code, document = verify_json(capsys, config_file, str(run_dir), "--deep")
    assert code == 1
    assert ("storage", rels[0]) in kinds(document)
    session = sandbox_session(sandbox)
    try:
        session.data_objects.unlink(f"{collection}/{rels[1]}", force=True)
    finally:
        session.cleanup()
    code, document = verify_json(capsys, config_file, str(run_dir))
    assert (code, kinds(document)) == (1, [("missing", rels[1])])


def test_an_extra_object_is_reported(
    run: tuple[Path, str],
    config_file: Path,
    client: iRODSClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A data object the manifest does not list is an 'extra' problem."""
    run_dir, collection = run
    client.put_bytes(f"{collection}/smuggled.txt", b"not part of the run")
    code, document = verify_json(capsys, config_file, str(run_dir))
    assert (code, kinds(document)) == (1, [("extra", "smuggled.txt")])


def test_a_changed_local_file_is_reported(
    run: tuple[Path, str],
    config_file: Path,
    client: iRODSClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Same size, other bytes in the run folder: 'local_changed'; a new file: 'local_extra'."""
    run_dir, collection = run
    rel = a_data_file(client, collection)
    local = run_dir / rel
    raw = bytearray(local.read_bytes())
    raw[-1] ^= 0xFF
    local.write_bytes(bytes(raw))
    (run_dir / "late.txt").write_text("written after the ingest")
    code, document = verify_json(capsys, config_file, str(run_dir))
    assert (code, kinds(document)) == (1, [("local_changed", rel), ("local_extra", "late.txt")])


def test_a_stale_replica_is_reported(
    run: tuple[Path, str],
    config_file: Path,
    client: iRODSClient,
    sandbox: SandboxInfo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Replica 1 left stale by a rewrite of replica 0 (same bytes): a 'stale' problem."""
    run_dir, collection = run
    replicate_all(sandbox, client, collection)
    assert verify_json(capsys, config_file, str(run_dir), "--deep")[0] == 0
    rel = a_data_file(client, collection)
    client.put_bytes(f"{collection}/{rel}", (run_dir / rel).read_bytes())
    code, document = verify_json(capsys, config_file, str(run_dir), "--deep")
    assert (code, kinds(document)) == (1, [("stale", rel)])
    assert document["problems"][0]["message"] == f"replica 1 on {SECOND} is stale"


def test_verify_of_an_unknown_collection_and_a_bad_argument(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A collection that is not there is one problem (exit 1); a relative non-folder exits 1."""
    code, document = verify_json(capsys, config_file, "/tempZone/home/rods/nothing")
    assert (code, kinds(document)) == (1, [("missing", "")])
    assert main(["verify", "no/such/dir", "--config", str(config_file)]) == 1
    assert "neither a run folder" in capsys.readouterr().err


# --------------------------------------------------------------------------------- deletable


def mark_ingested(config: AppConfig, run_dir: Path) -> None:
    with Ledger.open(config.daemon.state_dir) as ledger:
        ledger.observe(str(run_dir), run_dir.name, "novaseq")
        ledger.transition(str(run_dir), RunState.QUEUED)
        ledger.transition(str(run_dir), RunState.SUBMITTED)
        ledger.transition(str(run_dir), RunState.INGESTED)


def deletable_json(
    capsys: pytest.CaptureFixture[str], config_file: Path, run_dir: Path
) -> tuple[int, dict[str, bool]]:
    code, out = cli(capsys, "deletable", str(run_dir), "--json", "--config", str(config_file))
    document = json.loads(out)
    assert [c["name"] for c in document["conditions"]] == [
        "ledger_ingested",
        "status_complete",
        "folder_matches_manifest",
        "min_replicas",
        "keep_days",
        "verified_within",
        "no_keep_file",
    ]
    return code, {c["name"]: c["ok"] for c in document["conditions"]}


def failing(conditions: dict[str, bool]) -> list[str]:
    return [name for name, ok in conditions.items() if not ok]


@pytest.fixture
def released(
    run: tuple[Path, str],
    config: AppConfig,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> tuple[Path, str]:
    """A run the ledger calls ingested and that was deep-verified just now."""
    run_dir, collection = run
    mark_ingested(config, run_dir)
    assert verify_json(capsys, config_file, str(run_dir), "--deep")[0] == 0
    return run_dir, collection


def test_a_verified_ingested_run_is_deletable(
    released: tuple[Path, str], config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every condition holds: exit 0, each condition named with 'ok'."""
    run_dir, _ = released
    code, out = cli(capsys, "deletable", str(run_dir), "--config", str(config_file))
    assert code == 0, out
    lines = out.strip().splitlines()
    assert len(lines) == 8
    assert all(line.startswith("ok   ") for line in lines[:7])
    assert lines[-1] == f"{run_dir}: deletable"


def test_a_run_never_deep_verified_or_unknown_to_the_ledger_is_not_deletable(
    run: tuple[Path, str], config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No ledger entry and no verified_at: those two conditions fail, by name."""
    run_dir, _ = run
    code, conditions = deletable_json(capsys, config_file, run_dir)
    assert (code, failing(conditions)) == (1, ["ledger_ingested", "verified_within"])


def test_a_keep_file_a_new_file_or_a_grown_file_keeps_the_run(
    released: tuple[Path, str], config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """.rodrunner-keep fails no_keep_file; a file added or grown fails folder_matches_manifest."""
    run_dir, _ = released
    (run_dir / ".rodrunner-keep").touch()
    code, conditions = deletable_json(capsys, config_file, run_dir)
    assert (code, failing(conditions)) == (1, ["no_keep_file"])
    (run_dir / ".rodrunner-keep").unlink()
    (run_dir / "Logs" / "late.log").parent.mkdir(exist_ok=True)
    (run_dir / "Logs" / "late.log").write_text("new")
    code, conditions = deletable_json(capsys, config_file, run_dir)
    assert (code, failing(conditions)) == (1, ["folder_matches_manifest"])
    (run_dir / "Logs" / "late.log").unlink()
    assert deletable_json(capsys, config_file, run_dir)[0] == 0
    grown = next(p for p in _files(run_dir) if p.stat().st_size > 0)
    with grown.open("ab") as f:
        f.write(b"more")
    code, conditions = deletable_json(capsys, config_file, run_dir)
    assert (code, failing(conditions)) == (1, ["folder_matches_manifest"])


def test_a_file_rewritten_after_the_ingest_keeps_the_run(
    released: tuple[Path, str],
    config_file: Path,
    client: iRODSClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Same size, modified after rodrunner::ingested_at: the folder no longer matches."""
    run_dir, collection = released
    ingested = next(a.value for a in client.get_metadata(collection) if a.attr == INGESTED_AT_ATTR)
    when = datetime.fromisoformat(ingested.replace("Z", "+00:00")) + timedelta(minutes=5)
    file = run_dir / a_data_file(client, collection)
    file.write_bytes(file.read_bytes())
    os.utime(file, (when.timestamp(), when.timestamp()))
    code, conditions = deletable_json(capsys, config_file, run_dir)
    assert (code, failing(conditions)) == (1, ["folder_matches_manifest"])


def test_keep_days_and_verify_within_are_measured_from_the_avus(
    released: tuple[Path, str],
    tmp_path: Path,
    config_file: Path,
    client: iRODSClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ingested or verified too long ago (or too recently) fails the named condition."""
    run_dir, collection = released
    data = yaml.safe_load(config_file.read_text())
    data["retention"]["keep_days"] = 30
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump(data))
    code, conditions = deletable_json(capsys, strict, run_dir)
    assert (code, failing(conditions)) == (1, ["keep_days"])
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
    client.set_metadata(
        collection,
        [(VERIFIED_AT_ATTR, old.replace("+00:00", "Z"), "")],
        replace_attributes=[VERIFIED_AT_ATTR],
    )
    code, conditions = deletable_json(capsys, config_file, run_dir)
    assert (code, failing(conditions)) == (1, ["verified_within"])


def test_min_replicas_counts_good_replicas_matching_the_manifest(
    released: tuple[Path, str],
    tmp_path: Path,
    config_file: Path,
    client: iRODSClient,
    sandbox: SandboxInfo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """min_replicas 2 fails with one replica each, holds after replication, fails on a stale one."""
    run_dir, collection = released
    data = yaml.safe_load(config_file.read_text())
    data["retention"]["min_replicas"] = 2
    two = tmp_path / "two.yaml"
    two.write_text(yaml.safe_dump(data))
    assert failing(deletable_json(capsys, two, run_dir)[1]) == ["min_replicas"]
    replicate_all(sandbox, client, collection)
    assert deletable_json(capsys, two, run_dir)[0] == 0
    rel = a_data_file(client, collection)
    client.put_bytes(f"{collection}/{rel}", (run_dir / rel).read_bytes())
    assert failing(deletable_json(capsys, two, run_dir)[1]) == ["status_complete", "min_replicas"]


def test_what_verify_reports_keeps_the_run_on_the_share(
    released: tuple[Path, str],
    config_file: Path,
    client: iRODSClient,
    sandbox: SandboxInfo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A storage file corrupted (found by verify --deep), an extra object, a stale replica:
    each makes deletable exit 1 with the condition that says why."""
    run_dir, collection = released
    rel = a_data_file(client, collection)
    file = vault_file(sandbox, f"{collection}/{rel}")
    original = file.read_bytes()
    file.write_bytes(bytes([original[0] ^ 0xFF]) + original[1:])
    assert verify_json(capsys, config_file, str(run_dir), "--deep")[0] == 1
    code, out = cli(capsys, "deletable", str(run_dir), "--config", str(config_file))
    assert code == 1
    assert "FAIL verified_within          the deep verification 0.0 days ago found problems" in out
    file.write_bytes(original)
    assert verify_json(capsys, config_file, str(run_dir), "--deep")[0] == 0
    assert deletable_json(capsys, config_file, run_dir)[0] == 0
    client.put_bytes(f"{collection}/smuggled.txt", b"x")
    code, out = cli(capsys, "deletable", str(run_dir), "--config", str(config_file))
    assert code == 1
    assert "smuggled.txt: data object not in the manifest" in out
    sandbox_session_remove(sandbox, f"{collection}/smuggled.txt")
    replicate_all(sandbox, client, collection)
    client.put_bytes(f"{collection}/{rel}", (run_dir / rel).read_bytes())
    code, conditions = deletable_json(capsys, config_file, run_dir)
    assert (code, failing(conditions)) == (1, ["status_complete"])


def sandbox_session_remove(sandbox: SandboxInfo, path: str) -> None:
    session = sandbox_session(sandbox)
    try:
        session.data_objects.unlink(path, force=True)
    finally:
        session.cleanup()


def test_a_tampered_collection_is_not_deletable(
    released: tuple[Path, str],
    config_file: Path,
    client: iRODSClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A changed manifest digest AVU fails status_complete (and the folder check with it)."""
    run_dir, collection = released
    client.set_metadata(
        collection,
        [("rodrunner::manifest_sha256", "0" * 64, "")],
        replace_attributes=["rodrunner::manifest_sha256"],
    )
    code, conditions = deletable_json(capsys, config_file, run_dir)
    assert code == 1
    assert "status_complete" in failing(conditions)


# ------------------------------------------------------------------------------- MD5 zone


@pytest.fixture
def md5_zone(tmp_path: Path) -> Iterator[tuple[SandboxInfo, Path]]:
    """A sandbox whose default_hash_scheme is MD5, and a configuration for it."""
    with run_sandbox(tmp_path / "irods-md5", hash="md5") as info:
        data = {
            "irods": {
                "host": info.host,
                "port": info.port,
                "password": info.password.get_secret_value(),
                "transfer_threads": 2,
            },
            "daemon": {"state_dir": str(tmp_path / "state-md5")},
            "retention": {"min_replicas": 1, "keep_days": 0, "verify_within": 1},
        }
        path = tmp_path / "config-md5.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        yield info, path


@pytest.fixture
def md5_client(md5_zone: tuple[SandboxInfo, Path]) -> Iterator[iRODSClient]:
    with iRODSClient(get_config(md5_zone[1]).irods) as c:
        yield c


def md5_run(
    tmp_path: Path, md5_zone: tuple[SandboxInfo, Path], client: iRODSClient, *, record_md5: bool
) -> tuple[Path, str]:
    run_dir = simulate_run(tmp_path / "novaseq-md5", "novaseq", files=6, size=2048)
    collection = ingest(run_dir, get_config(md5_zone[1]), client, record_md5=record_md5)
    return run_dir, collection


def test_a_whole_run_in_an_md5_zone_verifies_and_is_deletable(
    tmp_path: Path,
    md5_zone: tuple[SandboxInfo, Path],
    md5_client: iRODSClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The catalog's MD5s equal the manifest's: plain and --deep verify pass without a note,
    and the deep-verified run passes the gate (its MD5 replicas count as good)."""
    _, config_file = md5_zone
    run_dir, collection = md5_run(tmp_path, md5_zone, md5_client, record_md5=True)
    assert md5_client.hash_scheme == "md5"
    code, document = verify_json(capsys, config_file, str(run_dir))
    assert (code, document["problems"], document["notes"]) == (0, [], [])
    code, document = verify_json(capsys, config_file, collection, "--deep")
    assert (code, document["problems"], document["notes"]) == (0, [], [])
    mark_ingested(get_config(config_file), run_dir)
    code, conditions = deletable_json(capsys, config_file, run_dir)
    assert (code, failing(conditions)) == (0, [])


def force_checksum(sandbox: SandboxInfo, path: str) -> str:
    """Have the server store the checksum of what is on its storage now (python-irodsclient's
    chksum with force): the catalog then differs from the manifest."""
    session = sandbox_session(sandbox)
    try:
        return str(session.data_objects.chksum(path, **{kw.FORCE_CHKSUM_KW: ""}))
    finally:
        session.cleanup()


def test_a_changed_vault_object_in_an_md5_zone_is_reported(
    tmp_path: Path,
    md5_zone: tuple[SandboxInfo, Path],
    md5_client: iRODSClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One byte flipped on storage, size kept: --deep names the file; once the catalog MD5
    was recomputed from those bytes, plain verify names it too, with both MD5s."""
    sandbox, config_file = md5_zone
    run_dir, collection = md5_run(tmp_path, md5_zone, md5_client, record_md5=True)
    rel = a_data_file(md5_client, collection)
    file = vault_file(sandbox, f"{collection}/{rel}")
    raw = bytearray(file.read_bytes())
    raw[0] ^= 0xFF
    file.write_bytes(bytes(raw))
    code, document = verify_json(capsys, config_file, str(run_dir), "--deep")
    assert (code, kinds(document)) == (1, [("storage", rel)])
    assert "-314000" in document["problems"][0]["message"]
    stored = force_checksum(sandbox, f"{collection}/{rel}")
    assert stored == hashlib.md5(bytes(raw), usedforsecurity=False).hexdigest()
    code, document = verify_json(capsys, config_file, str(run_dir))
    assert (code, kinds(document)) == (1, [("checksum", rel)])
    manifest_md5 = hashlib.md5((run_dir / rel).read_bytes(), usedforsecurity=False).hexdigest()
    assert document["problems"][0]["message"] == (
        f"replica 0 on demoResc has MD5 {stored} in the catalog, the manifest says {manifest_md5}"
    )
    code, out = cli(capsys, "verify", collection, "--config", str(config_file))
    assert code == 1
    assert out.splitlines()[0].startswith(f"checksum      {rel}: replica 0 on demoResc has MD5 ")


def test_an_md5_zone_run_with_a_manifest_without_md5_verifies_by_size_with_a_note(
    tmp_path: Path,
    md5_zone: tuple[SandboxInfo, Path],
    md5_client: iRODSClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A manifest without MD5s (written before MD5 zones were known): the catalog's MD5s
    cannot be compared; verify passes on sizes and says so in one note line."""
    _, config_file = md5_zone
    run_dir, collection = md5_run(tmp_path, md5_zone, md5_client, record_md5=False)
    code, document = verify_json(capsys, config_file, str(run_dir))
    assert (code, document["ok"], document["problems"]) == (0, True, [])
    assert [n["kind"] for n in document["notes"]] == ["size_only"]
    files = len(list(_files(run_dir)))
    assert document["notes"][0]["message"].startswith(
        f"cannot compare: the manifest has no MD5 ({files} replica(s) of {files} file(s)"
    )
    code, out = cli(capsys, "verify", str(run_dir), "--config", str(config_file))
    assert code == 0, out
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("note          cannot compare: the manifest has no MD5")
    assert lines[1].startswith(f"{collection}: whole (verified {files} files")

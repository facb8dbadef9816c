"""A second ingest of a run marked complete checks the catalog against the manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rodrunner.config import get_config
from rodrunner.irods.client import iRODSClient
from rodrunner.plan import MANIFEST_NAME
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from tests.conftest import sandbox_session
from tests.rodrunner.workflows.test_ingest import local_sha256, run, write_config

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def config_file(tmp_path: Path, irods_sandbox: SandboxInfo) -> Path:
    """A config file for this test's sandbox."""
    return write_config(tmp_path / "config.yaml", irods_sandbox)


def test_objects_deleted_from_a_complete_run_are_sent_again(
    tmp_path: Path, config_file: Path, irods_sandbox: SandboxInfo
) -> None:
    """Four objects deleted from a complete collection (python-irodsclient) make the next
    ingest (no --force) send those four again; the run is whole and complete afterwards."""
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=30, size=1024)
    first = run(run_dir, config_file)
    assert first["status"] == "complete", first["error"]
    collection = first["irods_path"]
    victims = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*.cbcl"))[:4]
    session = sandbox_session(irods_sandbox)
    try:
        for rel in victims:
            session.data_objects.unlink(f"{collection}/{rel}", force=True)
    finally:
        session.cleanup()
    again = run(run_dir, config_file)
    assert again["status"] == "complete", again["error"]
    assert again["uploaded_files"] == 4
    with iRODSClient(get_config(config_file).irods) as client:
        remote = client.list_objects(collection)
        status = {a.attr: a.value for a in client.get_metadata(collection)}
    assert {rel: o.checksum for rel, o in remote.items() if rel != MANIFEST_NAME} == (
        local_sha256(run_dir)
    )
    assert status["rodrunner::status"] == "complete"
    assert again["run_id"] == first["run_id"]


def test_object_replaced_with_other_size_is_sent_again(
    tmp_path: Path, config_file: Path, irods_sandbox: SandboxInfo
) -> None:
    """An object of a complete run overwritten with other bytes of another size in iRODS is
    found by the catalog check and sent again."""
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=10, size=1024)
    first = run(run_dir, config_file)
    assert first["status"] == "complete", first["error"]
    rel = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*.cbcl"))[0]
    with iRODSClient(get_config(config_file).irods) as client:
        client.put_bytes(f"{first['irods_path']}/{rel}", b"short")
    again = run(run_dir, config_file)
    assert again["status"] == "complete", again["error"]
    assert again["uploaded_files"] == 1
    with iRODSClient(get_config(config_file).irods) as client:
        obj = client.list_objects(first["irods_path"])[rel]
    assert obj.checksum == hashlib.sha256((run_dir / rel).read_bytes()).hexdigest()

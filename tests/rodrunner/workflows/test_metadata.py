"""Update Run Metadata: run AVUs re-derived from the files stored in iRODS."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rodrunner.config import get_config
from rodrunner.irods.client import iRODSClient
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from rodrunner.workflows.ingest import ingest_run
from rodrunner.workflows.metadata import metadata_files, update_run_metadata
from tests.rodrunner.workflows.test_ingest import write_config

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_metadata_files_match_case_insensitively_per_folder() -> None:
    """Only the type's metadata files are chosen; patterns do not cross folders."""
    names = ["RunInfo.xml", "runParameters.xml", "Data/RunInfo.xml", "SampleSheet.csv", "x.cbcl"]
    assert metadata_files(names, "novaseq") == [
        "RunInfo.xml",
        "SampleSheet.csv",
        "runParameters.xml",
    ]
    assert metadata_files(
        ["1_A01/metadata/m1.metadata.xml", "metadata/m1.metadata.xml"], "pacbio"
    ) == ["metadata/m1.metadata.xml"]


def test_update_replaces_run_avus_from_stored_files(
    tmp_path: Path, irods_sandbox: SandboxInfo
) -> None:
    """With the share gone, a fixed stored sample sheet replaces the run AVUs atomically."""
    config = write_config(tmp_path / "config.yaml", irods_sandbox)
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=5, size=64)
    summary = ingest_run(str(run_dir), config=str(config))
    collection = summary["irods_path"]
    shutil.rmtree(run_dir)
    with iRODSClient(get_config(config).irods) as client:
        before = {(a.attr, a.value) for a in client.get_metadata(collection)}
        old_sample = sorted(v for a, v in before if a == "sample_id")[0]
        sheet = client.read_bytes(f"{collection}/SampleSheet.csv")
        assert old_sample.encode() in sheet
        client.put_bytes(
            f"{collection}/SampleSheet.csv", sheet.replace(old_sample.encode(), b"NEWSAMPLE1")
        )
        client.set_metadata(collection, [("project", "STALE_PROJECT"), ("owner", "someone")])
    result = update_run_metadata(str(config), collection, "novaseq")
    assert result["success"] is True, result["error"]
    assert ["sample_id", "NEWSAMPLE1", ""] in result["added"]
    assert ["sample_id", old_sample, ""] in result["removed"]
    assert ["project", "STALE_PROJECT", ""] in result["removed"]
    with iRODSClient(get_config(config).irods) as client:
        after = {(a.attr, a.value) for a in client.get_metadata(collection)}
    assert ("owner", "someone") in after
    assert ("rodrunner::status", "complete") in after
    assert ("sample_id", old_sample) not in after
    assert {(a, v) for a, v in before if a.startswith("rodrunner::")} <= after


def test_update_of_missing_collection_fails_with_message(
    tmp_path: Path, irods_sandbox: SandboxInfo
) -> None:
    """A collection that does not exist gives a failed result naming it."""
    config = write_config(tmp_path / "config.yaml", irods_sandbox)
    state = update_run_metadata(
        str(config), "/tempZone/home/rods/nothing", "novaseq", return_state=True
    )
    assert state.is_failed()  # type: ignore[union-attr]
    result = state.result(raise_on_failure=False)  # type: ignore[union-attr]
    assert result["success"] is False
    assert "/tempZone/home/rods/nothing" in result["error"]


def test_update_refuses_climbing_path(tmp_path: Path, irods_sandbox: SandboxInfo) -> None:
    """An iRODS path with '..' is refused before anything is touched."""
    config = write_config(tmp_path / "config.yaml", irods_sandbox)
    state = update_run_metadata(str(config), "/tempZone/home/../x", "novaseq", return_state=True)
    result = state.result(raise_on_failure=False)  # type: ignore[union-attr]
    assert "'..'" in result["error"]

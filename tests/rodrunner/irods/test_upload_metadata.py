"""``upload_directory(..., metadata=...)``: a RunMetadata becomes the flows' run AVUs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rodrunner.config import IRODSConfig
from rodrunner.irods.avus import AVU
from rodrunner.irods.client import iRODSClient
from rodrunner.parsers import parse_run_folder
from rodrunner.plan import run_avus
from rodrunner.sandbox import SandboxInfo
from rodrunner.simulate import simulate_run
from tests.conftest import sandbox_session


def _client(info: SandboxInfo, **overrides: Any) -> iRODSClient:
    return iRODSClient(
        IRODSConfig(
            host=info.host,
            port=info.port,
            zone=info.zone,
            user=info.user,
            password=info.password,
            **overrides,
        )
    )


@pytest.mark.parametrize("prefix", ["", "seq::"])
def test_run_metadata_is_stored_as_the_run_avus(
    tmp_path: Path, irods_sandbox: SandboxInfo, prefix: str
) -> None:
    """RunMetadata as metadata stores exactly run_avus(metadata, irods.avu_prefix), no repr."""
    run_dir = simulate_run(tmp_path / "miseq", "miseq", files=2, size=16)
    metadata = parse_run_folder(run_dir, "miseq")
    coll = f"/tempZone/home/rods/{run_dir.name}"
    with _client(irods_sandbox, avu_prefix=prefix) as client:
        report = client.upload_directory(run_dir, coll, metadata=metadata)
    assert report.ok, report.errors
    session = sandbox_session(irods_sandbox)
    try:
        stored = {
            (m.name, m.value, m.units or "") for m in session.collections.get(coll).metadata.items()
        }
    finally:
        session.cleanup()
    assert stored == set(run_avus(metadata, prefix))
    assert (f"{prefix}run_id", metadata.run_id, "") in stored
    assert not [v for _, v, _ in stored if v.startswith(("[", "{", "Read(", "Sample("))]


def test_triples_and_avus_are_taken_as_they_are(tmp_path: Path, irods_sandbox: SandboxInfo) -> None:
    """(attribute, value, units) triples, pairs and AVUs are stored as given."""
    run_dir = simulate_run(tmp_path / "miseq", "miseq", files=1, size=8)
    coll = "/tempZone/home/rods/triples"
    given = [("project", "P1", ""), ("lane_count", 2, None), AVU("owner", "lab", "team")]
    with _client(irods_sandbox) as client:
        client.upload_directory(run_dir, coll, metadata=given)  # type: ignore[arg-type]
        stored = set(client.get_metadata(coll))
    assert stored == {AVU("project", "P1"), AVU("lane_count", "2"), AVU("owner", "lab", "team")}


@pytest.mark.parametrize(
    ("metadata", "what"),
    [
        ({"run_id": "X"}, "dict"),
        ("run_id=X", "str"),
        (42, "int"),
        ([("reads", [1, 2], "")], "a value of type list for attribute 'reads'"),
        ([object()], "an item of type object"),
        ([("a", "b", "c", "d")], "an item of 4 elements"),
    ],
)
def test_other_metadata_is_a_type_error_before_any_transfer(
    tmp_path: Path, irods_sandbox: SandboxInfo, metadata: object, what: str
) -> None:
    """Any other metadata is a TypeError naming RunMetadata and triples; nothing is sent."""
    run_dir = simulate_run(tmp_path / "miseq", "miseq", files=1, size=8)
    coll = "/tempZone/home/rods/refused"
    with _client(irods_sandbox) as client:
        with pytest.raises(TypeError) as caught:
            client.upload_directory(run_dir, coll, metadata=metadata)  # type: ignore[arg-type]
        assert not client.collection_exists(coll)
    message = str(caught.value)
    assert "RunMetadata" in message
    assert "(attribute, value, units) triples" in message
    assert what in message

"""Replica listing and server-side verification through ``iRODSClient``, against the sandbox
(with a second resource) over TCP with the real python-irodsclient."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rodrunner.config import IRODSConfig
from rodrunner.irods.client import iRODSClient
from rodrunner.irods.replicas import ChecksumFinding, parse_findings
from rodrunner.sandbox import SandboxInfo, run_sandbox
from tests.conftest import sandbox_session, vault_file

SECOND = "secondResc"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxInfo]:
    with run_sandbox(tmp_path / "irods", resources=[SECOND]) as info:
        yield info


@pytest.fixture
def client(sandbox: SandboxInfo) -> Iterator[iRODSClient]:
    config = IRODSConfig(
        host=sandbox.host,
        port=sandbox.port,
        password=sandbox.password,
        transfer_threads=2,
        connection_timeout=30,
    )
    with iRODSClient(config) as c:
        yield c


def replicate(sandbox: SandboxInfo, path: str) -> None:
    session = sandbox_session(sandbox)
    try:
        session.data_objects.replicate(path, resource=SECOND)
    finally:
        session.cleanup()


def corrupt(file: Path) -> None:
    raw = bytearray(file.read_bytes())
    raw[:16] = bytes(b ^ 0xFF for b in raw[:16])
    file.write_bytes(bytes(raw))


@pytest.fixture
def stored(client: iRODSClient, sandbox: SandboxInfo) -> str:
    """A collection with one 8 KiB object in two replicas and one 1 KiB object in one."""
    coll = f"{client.home}/run_A1"
    client.ensure_collection(f"{coll}/sub")
    client.put_bytes(f"{coll}/sub/two", os.urandom(8192))
    client.put_bytes(f"{coll}/one", os.urandom(1024))
    replicate(sandbox, f"{coll}/sub/two")
    return coll


def test_list_replicas_gives_every_replica_with_its_resource_and_state(
    client: iRODSClient, stored: str
) -> None:
    """Both replicas of the replicated object are listed, good, on their resources."""
    listing = client.list_replicas(stored)
    assert sorted(listing) == ["one", "sub/two"]
    two = listing["sub/two"]
    assert [(r.number, r.resource, r.status, r.size) for r in two] == [
        (0, "demoResc", "good", 8192),
        (1, SECOND, "good", 8192),
    ]
    assert two[0].checksum == two[1].checksum
    assert two[0].checksum.startswith("sha2:")


def test_list_replicas_ignores_a_sibling_that_like_would_match(
    client: iRODSClient, stored: str
) -> None:
    """'_' in a run id is a LIKE wildcard: a sibling collection's objects are not listed."""
    client.ensure_collection(f"{client.home}/runXA1/sub")
    client.put_bytes(f"{client.home}/runXA1/sub/other", b"x")
    assert sorted(client.list_replicas(stored)) == ["one", "sub/two"]


def test_verify_of_intact_replicas_finds_nothing(client: iRODSClient, stored: str) -> None:
    """Every replica re-read and equal to the catalog: no findings."""
    assert client.verify_replicas(f"{stored}/sub/two").ok
    assert client.verify_replicas(f"{stored}/one").ok


def test_verify_names_a_corrupted_replica_without_the_clients_attribute_error(
    client: iRODSClient, stored: str, sandbox: SandboxInfo
) -> None:
    """A corrupted second replica is one -314000 finding for replica 1, with both checksums."""
    path = f"{stored}/sub/two"
    corrupt(vault_file(sandbox, path, 1))
    result = client.verify_replicas(path)
    assert result.findings == (
        ChecksumFinding(
            -314000,
            "error",
            "ERROR: Computed checksum does not match what is in the catalog for replica [1].",
            1,
        ),
    )
    assert len(result.details) == 1
    assert "computed checksum" in result.details[0]


def test_verify_never_stores_what_it_read(
    client: iRODSClient, stored: str, sandbox: SandboxInfo
) -> None:
    """Verifying twice finds the corruption twice: the catalog's checksum is left alone."""
    path = f"{stored}/one"
    before = client.list_replicas(stored)["one"][0].checksum
    corrupt(vault_file(sandbox, path, 0))
    assert not client.verify_replicas(path).ok
    assert not client.verify_replicas(path).ok
    assert client.list_replicas(stored)["one"][0].checksum == before


def test_verify_reports_a_truncated_replica_as_a_size_change(
    client: iRODSClient, stored: str, sandbox: SandboxInfo
) -> None:
    """A shorter file: -401000 (size) and -512000 (cannot checksum), no detail lines."""
    path = f"{stored}/one"
    file = vault_file(sandbox, path, 0)
    file.write_bytes(file.read_bytes()[:100])
    result = client.verify_replicas(path)
    assert [(f.code, f.replica) for f in result.findings] == [(-401000, 0), (-512000, 0)]
    assert result.details == ()


def test_verify_reports_a_stale_replica_as_skipped(
    client: iRODSClient, stored: str, sandbox: SandboxInfo
) -> None:
    """After a rewrite the second replica is stale: listed so, and verification says skipped."""
    path = f"{stored}/sub/two"
    client.put_bytes(path, os.urandom(8192))
    assert [r.status for r in client.list_replicas(stored)["sub/two"]] == ["good", "stale"]
    result = client.verify_replicas(path)
    assert [(f.severity, f.message) for f in result.findings] == [
        ("info", "INFO: Number of replicas skipped: 1")
    ]


def test_verify_objects_covers_every_path_and_reports_progress(
    client: iRODSClient, stored: str, sandbox: SandboxInfo
) -> None:
    """Every path gets a result; progress is called once per path."""
    corrupt(vault_file(sandbox, f"{stored}/one", 0))
    seen: list[str] = []
    paths = [f"{stored}/one", f"{stored}/sub/two"]
    results = client.verify_objects(paths, threads=2, progress=seen.append)
    assert sorted(seen) == sorted(paths)
    assert not results[f"{stored}/one"].ok
    assert results[f"{stored}/sub/two"].ok
    gone = client.verify_objects([f"{stored}/no-such-object"], threads=1)
    assert "OBJ_PATH_DOES_NOT_EXIST" in gone[f"{stored}/no-such-object"].findings[0].message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            [{"error_code": -401000, "message": "x for replica [3].", "severity": "error"}],
            (ChecksumFinding(-401000, "error", "x for replica [3].", 3),),
        ),
        (["odd"], (ChecksumFinding(0, "error", "odd", None),)),
        ([{"error_code": "n/a"}], (ChecksumFinding(0, "error", "", None),)),
    ],
)
def test_parse_findings_keeps_whatever_the_server_sent(raw: list[Any], expected: Any) -> None:
    """Findings carry code, severity, message and the replica the message names."""
    assert parse_findings(raw) == expected

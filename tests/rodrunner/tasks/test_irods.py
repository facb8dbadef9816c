"""The iRODS tasks' decisions: skip check and object verification."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rodrunner.config import AppConfig
from rodrunner.errors import IngestVerificationError
from rodrunner.ingest_rules import (
    Source,
    StoredRun,
    already_ingested,
    compare_objects,
    provenance_conflict,
)
from rodrunner.irods.checksums import RemoteObject
from rodrunner.irods.client import iRODSClient
from rodrunner.manifest import build_manifest
from rodrunner.plan import MANIFEST_NAME
from rodrunner.sandbox import SandboxInfo
from rodrunner.tasks.irods import (
    read_ingest_state,
    verify_run,
    write_manifest,
)

SHA = hashlib.sha256(b"x").hexdigest()
OTHER = hashlib.sha256(b"y").hexdigest()


def test_complete_run_with_same_paths_and_sizes_is_skipped() -> None:
    """Complete status + intact manifest + same paths and sizes → already ingested."""
    manifest = build_manifest("R", {"a": 1, "b/c": 2}, {"a": SHA, "b/c": SHA})
    stored = StoredRun(True, "complete", manifest.sha256, manifest)
    assert already_ingested(stored, {"a": 1, "b/c": 2})
    assert not already_ingested(stored, {"a": 1, "b/c": 3})
    assert not already_ingested(stored, {"a": 1})
    assert not already_ingested(stored, {"a": 1, "b/c": 2, "new": 0})


@pytest.mark.parametrize(
    "stored",
    [
        StoredRun(False),
        StoredRun(True, "ingesting"),
        StoredRun(True, "complete", "0" * 64, build_manifest("R", {"a": 1}, {"a": SHA})),
        StoredRun(True, "complete", None, None, "unreadable"),
    ],
)
def test_incomplete_or_inconsistent_run_is_not_skipped(stored: StoredRun) -> None:
    """No status, status ingesting, a manifest whose sha differs from its AVU: ingest again."""
    assert not already_ingested(stored, {"a": 1})


def test_compare_objects_names_every_difference() -> None:
    """Missing, resized, unchecksummed, stale and differing objects are each named."""
    remote = {
        "ok": RemoteObject(1, SHA),
        "resized": RemoteObject(2, SHA),
        "nosum": RemoteObject(1, None),
        "wrong": RemoteObject(1, OTHER),
        "stale": RemoteObject(1, SHA, good=False),
    }
    sizes = {"ok": 1, "resized": 1, "nosum": 1, "wrong": 1, "stale": 1, "missing": 1}
    result = compare_objects(remote, sizes, dict.fromkeys(sizes, SHA))
    assert result.verified == 1
    names = [p.split(":")[0] for p in result.problems]
    assert names == ["missing", "nosum", "resized", "stale", "wrong"]
    assert not result.ok


def test_tasks_against_sandbox(tmp_path: Path, irods_sandbox: SandboxInfo) -> None:
    """verify_run names a corrupt object; read_ingest_state reads what write_manifest put."""
    info = irods_sandbox
    config = AppConfig(
        irods={
            "host": info.host,
            "port": info.port,
            "password": info.password.get_secret_value(),
        }
    )
    coll = "/tempZone/home/rods/t"
    with iRODSClient(config.irods) as client:
        client.ensure_collection(coll)
        client.put_bytes(f"{coll}/a", b"x")
        verify_run.fn(client, coll, {"a": 1}, {"a": SHA})
        with pytest.raises(IngestVerificationError, match="a: server sha256"):
            verify_run.fn(client, coll, {"a": 1}, {"a": OTHER})
        manifest = build_manifest("t", {"a": 1}, {"a": SHA})
        write_manifest.fn(client, coll, manifest)
        client.set_metadata(
            coll,
            [("rodrunner::status", "complete"), ("rodrunner::manifest_sha256", manifest.sha256)],
        )
        stored = read_ingest_state.fn(client, coll)
        assert client.read_bytes(f"{coll}/{MANIFEST_NAME}") == manifest.to_bytes()
    assert stored.manifest == manifest
    assert already_ingested(stored, {"a": 1})


def test_complete_status_without_manifest_is_not_skipped(irods_sandbox: SandboxInfo) -> None:
    """status=complete but no manifest object: a problem to re-ingest, not an exception."""
    info = irods_sandbox
    config = AppConfig(
        irods={
            "host": info.host,
            "port": info.port,
            "password": info.password.get_secret_value(),
        }
    )
    coll = "/tempZone/home/rods/nomanifest"
    with iRODSClient(config.irods) as client:
        client.ensure_collection(coll)
        client.set_metadata(coll, [("rodrunner::status", "complete")])
        stored = read_ingest_state.fn(client, coll)
    assert stored.manifest is None
    assert stored.manifest_problem
    assert not already_ingested(stored, {})


@pytest.mark.parametrize(
    ("stored_dir", "status", "same_manifest", "conflict"),
    [
        (None, None, False, False),  # no collection yet
        ("/seq/a", "complete", True, False),  # this folder's own collection
        ("/seq/b", "ingesting", False, True),  # another folder's partial upload
        ("/seq/b", "complete", True, True),  # another folder, even with equal sizes
        (None, "ingesting", False, False),  # an older rodrunner's partial: resumed
        (None, "complete", True, False),  # an older rodrunner's, same manifest: adopted
        (None, "complete", False, True),  # an older rodrunner's, other manifest: conflict
    ],
)
def test_provenance_conflict(
    stored_dir: str | None, status: str | None, same_manifest: bool, conflict: bool
) -> None:
    """A collection recorded from another folder (or an unrecorded complete one whose manifest
    differs) is a conflict naming both folders; the folder's own, or none, is not."""
    sizes = {"a.txt": 3}
    listed = sizes if same_manifest else {"b.txt": 4}
    manifest = build_manifest("R1", listed, {"a.txt": SHA, "b.txt": OTHER})
    stored = StoredRun(
        exists=status is not None or stored_dir is not None,
        status=status,
        manifest_sha256=manifest.sha256,
        manifest=manifest,
        source_host="seq1",
        source_dir=stored_dir,
    )
    why = provenance_conflict(stored, "/z/home/r/R1", Source("seq2", "/seq/a"), sizes)
    assert (why is not None) == conflict
    if why is not None and stored_dir is not None:
        assert "/seq/a" in why
        assert stored_dir in why
        assert "--replace" in why

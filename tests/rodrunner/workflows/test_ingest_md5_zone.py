"""Ingest into a zone whose default_hash_scheme is MD5 (the embedded sandbox with
``irods.sandbox_hash_scheme: md5``) and into a SHA-256 one: both verified end to end."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from rodrunner.config import get_config
from rodrunner.connect import open_irods
from rodrunner.manifest import parse_manifest
from rodrunner.plan import MANIFEST_NAME
from rodrunner.simulate import simulate_run
from tests.rodrunner.workflows.test_ingest import run

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _config(tmp_path: Path, scheme: str) -> Path:
    path = tmp_path / f"config-{scheme}.yaml"
    data = {
        "irods": {"sandbox": str(tmp_path / f"zone-{scheme}"), "sandbox_hash_scheme": scheme},
        "sequencer": {"base_dir": str(tmp_path / "seq")},
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("scheme", ["md5", "sha256"])
def test_ingest_and_verify_in_md5_and_sha256_zones(tmp_path: Path, scheme: str) -> None:
    """Every object is verified against the zone's scheme; the manifest records SHA-256
    always, the zone's scheme, and the MD5s in an MD5 zone; a second ingest skips."""
    run_dir = simulate_run(tmp_path / "seq" / "novaseq", "novaseq", files=25, size=2048)
    config = _config(tmp_path, scheme)
    summary = run(run_dir, config)
    assert summary["status"] == "complete", summary["error"]
    assert summary["verified"] == summary["files"]
    local = {
        p.relative_to(run_dir).as_posix(): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()
    }
    with open_irods(get_config(config).irods) as client:
        remote = client.list_objects(summary["irods_path"])
        manifest = parse_manifest(client.read_bytes(f"{summary['irods_path']}/{MANIFEST_NAME}"))
    assert manifest.irods_checksum == scheme
    assert {e.path: e.sha256 for e in manifest.entries} == {
        rel: hashlib.sha256(d).hexdigest() for rel, d in local.items()
    }
    md5s = {rel: hashlib.md5(d, usedforsecurity=False).hexdigest() for rel, d in local.items()}
    if scheme == "md5":
        assert {e.path: e.md5 for e in manifest.entries} == md5s
        assert {rel: o.md5 for rel, o in remote.items() if rel != MANIFEST_NAME} == md5s
    else:
        assert all(e.md5 is None for e in manifest.entries)
        assert all(o.md5 is None for o in remote.values())
    again = run(run_dir, config)
    assert again["status"] == "skipped", again["error"]

"""The zone's checksum scheme: probed or configured, and MD5 zones ingested and verified
against the sandbox (``hash="md5"`` is a zone whose default_hash_scheme is MD5)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from rodrunner.errors import ConfigError
from rodrunner.irods.checksums import digest_bytes
from rodrunner.irods.client import iRODSClient
from rodrunner.sandbox import SandboxInfo, run_sandbox
from tests.conftest import sandbox_irods_config as _config


@pytest.fixture
def md5_zone(tmp_path: Path) -> Iterator[SandboxInfo]:
    """A sandbox whose default_hash_scheme is MD5."""
    with run_sandbox(tmp_path / "md5-zone", hash="md5") as info:
        yield info


def _tree(root: Path) -> dict[str, bytes]:
    files = {
        "RunInfo.xml": b"<RunInfo/>\n",
        "empty.txt": b"",
        "L001/C1.1/a.cbcl": os.urandom(70_000),
        "L001/big.bin": os.urandom(9 * 1024 * 1024 + 5),  # streamed: open/write/close
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_client_hints_name_sha256_and_md5_zones(
    irods_sandbox: SandboxInfo, md5_zone: SandboxInfo
) -> None:
    """auto asks the server's client hints (its default_hash_scheme): SHA256 and MD5 zones
    are told apart without storing anything, and asked once."""
    for info, expected in ((irods_sandbox, "sha256"), (md5_zone, "md5")):
        with iRODSClient(_config(info)) as client, capture_logs() as logs:
            assert client.hash_scheme == expected
            assert client.hash_scheme == expected
        events = [e for e in logs if e["event"] == "irods.hash_scheme"]
        assert [(e["scheme"], e["source"]) for e in events] == [(expected, "client_hints")]


def test_probe_when_the_hints_are_refused(
    irods_sandbox: SandboxInfo, md5_zone: SandboxInfo
) -> None:
    """A server that refuses CLIENT_HINTS is probed instead: the checksum it stores for a
    1-byte object put without one is sha2: or 32 hex digits; the probe object is gone."""
    for info, expected in ((irods_sandbox, "sha256"), (md5_zone, "md5")):
        info.faults.fail_next(10215, -13000, count=10)  # SYS_NO_API_PRIV
        with iRODSClient(_config(info)) as client, capture_logs() as logs:
            assert client.hash_scheme == expected
            home = client.list_objects(client.home)
        info.faults.reset()
        assert not [rel for rel in home if "hash-probe" in rel]
        events = [e for e in logs if e["event"] == "irods.hash_scheme"]
        assert [(e["scheme"], e["source"]) for e in events] == [(expected, "probe")]
        assert "irods.client_hints_failed" in [e["event"] for e in logs]


def test_configured_scheme_is_not_probed(md5_zone: SandboxInfo) -> None:
    """irods.hash_scheme md5 is taken as said: no probe round trips."""
    with iRODSClient(_config(md5_zone, hash_scheme="md5")) as client, capture_logs() as logs:
        assert client.hash_scheme == "md5"
    assert [e["source"] for e in logs if e["event"] == "irods.hash_scheme"] == ["irods.hash_scheme"]


def test_failed_probe_is_a_config_error(irods_sandbox: SandboxInfo) -> None:
    """No hints and a probe the server refuses: a ConfigError naming irods.hash_scheme and
    the fix."""
    irods_sandbox.faults.fail_next(10215, -13000, count=10)  # SYS_NO_API_PRIV
    irods_sandbox.faults.fail_next(606, -818000, count=10)  # CAT_NO_ACCESS_PERMISSION
    with iRODSClient(_config(irods_sandbox)) as client, pytest.raises(ConfigError) as caught:
        client.hash_scheme  # noqa: B018
    assert caught.value.key == "irods.hash_scheme"
    assert "set irods.hash_scheme" in str(caught.value)


def test_md5_zone_upload_verified_with_md5(md5_zone: SandboxInfo, tmp_path: Path) -> None:
    """In an MD5 zone every object (single-buffer and streamed) is verified against the MD5
    computed in the same read as the SHA-256; a second upload sends nothing."""
    files = _tree(tmp_path / "run")
    coll = f"/{md5_zone.zone}/home/{md5_zone.user}/md5-{uuid.uuid4().hex[:8]}"
    with iRODSClient(_config(md5_zone)) as client:
        report = client.upload_directory(tmp_path / "run", coll)
        assert report.ok, report.errors
        assert report.checksums == {rel: hashlib.sha256(d).hexdigest() for rel, d in files.items()}
        assert report.md5s == {rel: _md5(d) for rel, d in files.items()}
        listing = client.list_objects(coll)
        assert {rel: o.md5 for rel, o in listing.items()} == report.md5s
        assert all(o.checksum is None for o in listing.values())
        again = client.upload_directory(tmp_path / "run", coll)
        assert again.ok, again.errors
        assert again.uploaded == []
        forced = client.upload_directory(tmp_path / "run", coll, force=True)
        assert forced.ok, forced.errors
        assert forced.uploaded == []
        assert client.put_bytes(f"{coll}/note.txt", b"note") == hashlib.sha256(b"note").hexdigest()


def test_md5_zone_changed_file_is_sent_again(md5_zone: SandboxInfo, tmp_path: Path) -> None:
    """A local file changed at the same size differs in MD5 from the catalog: sent again."""
    files = _tree(tmp_path / "run")
    coll = f"/{md5_zone.zone}/home/{md5_zone.user}/md5-{uuid.uuid4().hex[:8]}"
    with iRODSClient(_config(md5_zone)) as client:
        assert client.upload_directory(tmp_path / "run", coll).ok
        victim = tmp_path / "run" / "L001/C1.1/a.cbcl"
        data = bytearray(files["L001/C1.1/a.cbcl"])
        data[0] ^= 0xFF
        victim.write_bytes(bytes(data))
        report = client.upload_directory(tmp_path / "run", coll)
        assert report.ok, report.errors
        assert report.uploaded == ["L001/C1.1/a.cbcl"]
        assert client.list_objects(coll)["L001/C1.1/a.cbcl"].md5 == _md5(bytes(data))


def test_digest_bytes_computes_md5_only_when_asked() -> None:
    """SHA-256 always; MD5 only for an MD5 zone."""
    assert digest_bytes(b"x").md5 is None
    both = digest_bytes(b"x", md5=True)
    assert both.sha256 == hashlib.sha256(b"x").hexdigest()
    assert both.md5 == _md5(b"x")

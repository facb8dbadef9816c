"""Tests for rodrunner.irods.client against the iRODS sandbox over TCP with python-irodsclient."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from irods.password_obfuscation import encode
from pydantic import SecretStr
from structlog.testing import capture_logs

from rodrunner.config import IRODSConfig
from rodrunner.errors import (
    AuthenticationError,
    ConfigError,
    PermanentIRODSError,
    TransientIRODSError,
)
from rodrunner.irods import retry
from rodrunner.irods.avus import AVU
from rodrunner.irods.checksums import RemoteObject
from rodrunner.irods.client import iRODSClient
from rodrunner.irods.localio import CHUNK
from rodrunner.irods.upload import UploadReport
from tests.conftest import sandbox_irods_config as _config


@pytest.fixture
def client(irods_sandbox: Any) -> Iterator[iRODSClient]:
    with iRODSClient(_config(irods_sandbox)) as c:
        yield c


@pytest.fixture
def coll(client: iRODSClient) -> str:
    return f"{client.home}/test-{uuid.uuid4().hex[:10]}"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _run_tree(root: Path) -> dict[str, bytes]:
    files = {
        "RunInfo.xml": b"<RunInfo/>\n",
        "empty.txt": b"",
        "Data/Intensities/BaseCalls/L001/C1.1/L001_1.cbcl": os.urandom(70_000),
        "Data/Intensities/BaseCalls/L001/C2.1/L001_1.cbcl": os.urandom(5_000),
        "InterOp/Q.bin": os.urandom(1234),
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "Logs").mkdir()
    return files


def _server_sha(session: Any, path: str) -> str:
    import base64

    obj = session.data_objects.get(path)
    assert obj.checksum.startswith("sha2:")
    return base64.b64decode(obj.checksum[5:]).hex()


def test_upload_tree_verified_by_server_checksums(
    client: iRODSClient, coll: str, tmp_path: Path, irods_session: Any
) -> None:
    """Every file (nested, empty) lands with a server SHA-256 equal to the local one."""
    files = _run_tree(tmp_path / "run")
    seen: list[tuple[str, int]] = []
    report = client.upload_directory(
        tmp_path / "run", coll, progress=lambda rel, n: seen.append((rel, n))
    )
    assert report.ok, report.errors
    assert report.files == len(files)
    assert report.bytes == sum(len(d) for d in files.values())
    assert report.skipped == 0
    assert sorted(report.uploaded) == sorted(files)
    assert sorted(seen) == sorted((rel, len(d)) for rel, d in files.items())
    for rel, data in files.items():
        assert report.checksums[rel] == _sha(data)
        assert _server_sha(irods_session, f"{coll}/{rel}") == _sha(data)
        assert client.read_bytes(f"{coll}/{rel}") == data
    assert client.collection_exists(f"{coll}/Logs")
    listing = client.list_objects(coll)
    assert {rel: o.checksum for rel, o in listing.items()} == {
        rel: _sha(d) for rel, d in files.items()
    }


def test_second_upload_sends_nothing(client: iRODSClient, coll: str, tmp_path: Path) -> None:
    """A second upload of an unchanged tree skips every file."""
    files = _run_tree(tmp_path / "run")
    client.upload_directory(tmp_path / "run", coll)
    again = client.upload_directory(tmp_path / "run", coll)
    assert again.ok
    assert again.uploaded == []
    assert again.skipped == again.files == len(files)
    assert again.bytes_sent == 0


def test_changed_file_is_replaced_and_missing_one_resent(
    client: iRODSClient, coll: str, tmp_path: Path, irods_session: Any
) -> None:
    """Only a differing object (same size, new content) and a removed one are sent again."""
    files = _run_tree(tmp_path / "run")
    client.upload_directory(tmp_path / "run", coll)
    changed = "InterOp/Q.bin"
    new = os.urandom(len(files[changed]))
    (tmp_path / "run" / changed).write_bytes(new)
    irods_session.data_objects.unlink(f"{coll}/RunInfo.xml", force=True)
    report = client.upload_directory(tmp_path / "run", coll)
    assert report.ok, report.errors
    assert sorted(report.uploaded) == ["InterOp/Q.bin", "RunInfo.xml"]
    assert report.skipped == len(files) - 2
    assert _server_sha(irods_session, f"{coll}/{changed}") == _sha(new)


def _abandon_write(session: Any, path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` and drop the connection before the close (a killed writer)."""
    handle = session.data_objects.open(path, "w")
    handle.write(data)
    handle.flush()
    conn = handle.raw.conn
    conn.socket.shutdown(socket.SHUT_RDWR)
    conn.socket.close()


def test_object_without_a_good_replica_is_sent_again(
    client: iRODSClient, coll: str, tmp_path: Path, irods_session: Any
) -> None:
    """A write that never closed leaves a stale replica with the right bytes: it is resent."""
    files = _run_tree(tmp_path / "run")
    client.upload_directory(tmp_path / "run", coll)
    rel = "InterOp/Q.bin"
    _abandon_write(irods_session, f"{coll}/{rel}", files[rel])
    for _ in range(100):  # the server notices the dropped connection in its own time
        listed = client.list_objects(coll)[rel]
        if not listed.good and listed.size:  # stale with its size, not still intermediate (0)
            break
        time.sleep(0.05)
    assert listed == RemoteObject(len(files[rel]), None, good=False)
    report = client.upload_directory(tmp_path / "run", coll)
    assert report.ok, report.errors
    assert report.uploaded == [rel]
    assert client.list_objects(coll)[rel] == RemoteObject(len(files[rel]), _sha(files[rel]))


def test_force_reverifies_and_sends_nothing_when_equal(
    client: iRODSClient, coll: str, tmp_path: Path
) -> None:
    """force=True recomputes server checksums but sends nothing that is already right."""
    files = _run_tree(tmp_path / "run")
    client.upload_directory(tmp_path / "run", coll)
    report = client.upload_directory(tmp_path / "run", coll, force=True)
    assert report.ok
    assert report.skipped == len(files)


def test_include_exclude_and_metadata(client: iRODSClient, coll: str, tmp_path: Path) -> None:
    """Patterns restrict the files; metadata lands atomically on the collection."""
    _run_tree(tmp_path / "run")
    report = client.upload_directory(
        tmp_path / "run",
        coll,
        [("run_id", "R1", ""), ("project", "P1", "")],
        exclude=["Data"],
    )
    assert report.ok
    assert set(client.list_objects(coll)) == {"RunInfo.xml", "empty.txt", "InterOp/Q.bin"}
    assert client.get_metadata(coll) == [AVU("project", "P1"), AVU("run_id", "R1")]


def test_per_file_problems_are_reported_not_raised(
    client: iRODSClient, coll: str, tmp_path: Path
) -> None:
    """A FIFO, a dangling link, a link out of the tree and a non-UTF-8 name are per-file errors."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "good.txt").write_bytes(b"good")
    os.mkfifo(run / "pipe")
    (run / "dangling").symlink_to("missing")
    (tmp_path / "secret").write_text("secret")
    (run / "escape").symlink_to(tmp_path / "secret")
    with open(os.path.join(os.fsencode(run), b"caf\xe9"), "wb") as fh:
        fh.write(b"x")
    report = client.upload_directory(run, coll)
    assert report.uploaded == ["good.txt"]
    assert sorted(rel for rel, _ in report.errors) == ["caf\\xe9", "dangling", "escape", "pipe"]
    assert not report.ok
    assert set(client.list_objects(coll)) == {"good.txt"}


def test_symlink_inside_uploaded_as_file(client: iRODSClient, coll: str, tmp_path: Path) -> None:
    """A symlink to a file inside the run becomes a data object with the target's bytes."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "real.txt").write_bytes(b"payload")
    (run / "alias.txt").symlink_to("real.txt")
    report = client.upload_directory(run, coll)
    assert report.ok
    assert client.read_bytes(f"{coll}/alias.txt") == b"payload"


def test_metadata_set_get_replace_search_remove(client: iRODSClient, coll: str) -> None:
    """AVUs are added once, replaced atomically by attribute, searchable and removable."""
    client.ensure_collection(coll)
    obj = f"{coll}/data.txt"
    client.put_bytes(obj, b"abc")
    tag = uuid.uuid4().hex
    added, removed = client.set_metadata(coll, [("tag", tag), ("sample_id", "S1", "")])
    assert len(added) == 2
    assert removed == []
    added, _ = client.set_metadata(coll, [("tag", tag)])
    assert added == []
    client.set_metadata(obj, [AVU("tag", tag, "u")])
    assert client.get_metadata(obj) == [AVU("tag", tag, "u")]
    assert client.search("tag", tag) == [coll, obj]
    assert client.search("tag", tag, kind="collection") == [coll]
    assert client.search("tag", tag, kind="data_object") == [obj]
    assert client.search("tag", tag, limit=1, offset=1) == [obj]
    added, removed = client.set_metadata(
        coll, [("sample_id", "S2")], replace_attributes={"sample_id"}
    )
    assert added == [AVU("sample_id", "S2")]
    assert removed == [AVU("sample_id", "S1")]
    assert client.get_metadata(coll) == [AVU("sample_id", "S2"), AVU("tag", tag)]
    client.remove_metadata(coll, [("tag", tag)])
    assert client.get_metadata(coll) == [AVU("sample_id", "S2")]


def test_put_read_checksum_remove(client: iRODSClient, coll: str) -> None:
    """put_bytes is verified, read_bytes enforces its bound, remove_collection removes."""
    client.ensure_collection(coll)
    path = f"{coll}/m.json"
    assert client.put_bytes(path, b"{}") == _sha(b"{}")
    assert client.checksum(path) == _sha(b"{}")
    assert client.checksum(path, recompute=True) == _sha(b"{}")
    assert client.read_bytes(path) == b"{}"
    with pytest.raises(PermanentIRODSError, match="larger than 1 bytes"):
        client.read_bytes(path, max_bytes=1)
    client.remove_collection(coll)
    assert not client.collection_exists(coll)


def test_identity_and_ping(client: iRODSClient, irods_sandbox: Any) -> None:
    """whoami, zone and user come from the session; ping logs in."""
    assert client.whoami == f"{irods_sandbox.user}#{irods_sandbox.zone}"
    assert client.ping() >= 0


def test_wrong_password_fails_at_once_without_retries(irods_sandbox: Any) -> None:
    """A wrong password raises AuthenticationError on the first attempt, no irods.retry."""
    assert retry.get_policy().attempts > 1
    with (
        capture_logs() as logs,
        iRODSClient(_config(irods_sandbox, password=SecretStr("wrong"))) as c,
        pytest.raises(AuthenticationError, match="CAT_INVALID_AUTHENTICATION"),
    ):
        c.ensure_collection(f"/{irods_sandbox.zone}/home/{irods_sandbox.user}/x")
    assert [e for e in logs if e["event"] == "irods.retry"] == []


def test_wrong_password_aborts_upload(irods_sandbox: Any, tmp_path: Path) -> None:
    """An upload with bad credentials raises instead of reporting every file."""
    _run_tree(tmp_path / "run")
    with (
        iRODSClient(_config(irods_sandbox, password=SecretStr("wrong"))) as c,
        pytest.raises(AuthenticationError),
    ):
        c.upload_directory(tmp_path / "run", f"/{irods_sandbox.zone}/home/x/run")


def test_missing_password_is_a_config_error() -> None:
    """No password and no env file is a ConfigError naming the key."""
    with pytest.raises(ConfigError, match=r"irods\.password"):
        iRODSClient(IRODSConfig())


def test_env_file_session_with_irodsA(irods_sandbox: Any, tmp_path: Path) -> None:
    """An irods_environment.json plus an .irodsA next to it logs in."""
    env = tmp_path / "irods_environment.json"
    env.write_text(
        json.dumps(
            {
                "irods_host": irods_sandbox.host,
                "irods_port": irods_sandbox.port,
                "irods_user_name": irods_sandbox.user,
                "irods_zone_name": irods_sandbox.zone,
            }
        )
    )
    (tmp_path / ".irodsA").write_text(encode(irods_sandbox.password.get_secret_value()))
    with iRODSClient(IRODSConfig(env_file=env)) as c:
        assert c.whoami == f"{irods_sandbox.user}#{irods_sandbox.zone}"
        assert c.ping() >= 0


def test_env_file_without_irodsA_is_an_auth_error(
    irods_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An environment file without any password file says to run iinit."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("IRODS_AUTHENTICATION_FILE", raising=False)
    env = tmp_path / "env.json"
    env.write_text(
        json.dumps(
            {
                "irods_host": irods_sandbox.host,
                "irods_port": irods_sandbox.port,
                "irods_user_name": "rods",
                "irods_zone_name": "tempZone",
            }
        )
    )
    with pytest.raises(AuthenticationError, match="iinit"):
        iRODSClient(IRODSConfig(env_file=env))


def test_env_file_missing_is_a_config_error(tmp_path: Path) -> None:
    """A missing environment file is a ConfigError naming the path."""
    with pytest.raises(ConfigError, match="does not exist"):
        iRODSClient(IRODSConfig(env_file=tmp_path / "nope.json"))


@pytest.mark.slow
def test_large_file_over_32_mib(client: iRODSClient, coll: str, tmp_path: Path) -> None:
    """A 40 MiB file is uploaded and verified."""
    run = tmp_path / "run"
    run.mkdir()
    data = os.urandom(40 * 1024 * 1024)
    (run / "big.bin").write_bytes(data)
    report = client.upload_directory(run, coll)
    assert report.ok, report.errors
    assert report.checksums["big.bin"] == _sha(data)
    assert client.checksum(f"{coll}/big.bin", recompute=True) == _sha(data)


@pytest.fixture
def fast_retries() -> Iterator[None]:
    previous = retry.get_policy()
    retry.set_policy(
        retry.RetryPolicy(attempts=8, max_seconds=60, initial_wait=0.01, max_wait=0.05)
    )
    try:
        yield
    finally:
        retry.set_policy(previous)


@pytest.mark.usefixtures("fast_retries")
def test_dropped_connections_are_retried_through(
    client: iRODSClient, coll: str, tmp_path: Path, irods_sandbox: Any, irods_session: Any
) -> None:
    """Connections dropped mid-transfer are retried on fresh ones; every object ends right."""
    files = _run_tree(tmp_path / "run")
    for i in range(20):
        (tmp_path / "run" / f"extra_{i}.bin").write_bytes(os.urandom(3000 + i))
        files[f"extra_{i}.bin"] = (tmp_path / "run" / f"extra_{i}.bin").read_bytes()
    irods_sandbox.faults.reseed(7)
    irods_sandbox.faults.drop_probability = 0.3
    try:
        with capture_logs() as logs:
            report = client.upload_directory(tmp_path / "run", coll)
    finally:
        irods_sandbox.faults.reset()
    assert report.ok, report.errors
    assert [e for e in logs if e["event"] == "irods.retry"]
    for rel, data in files.items():
        assert _server_sha(irods_session, f"{coll}/{rel}") == _sha(data)


@pytest.mark.usefixtures("fast_retries")
def test_server_errors_on_open_are_retried(
    client: iRODSClient, coll: str, tmp_path: Path, irods_sandbox: Any
) -> None:
    """A SYS_RESC_IS_DOWN answer to an open is transient: the file is retried and lands."""
    from rodrunner.sandbox.protocol import codes

    files = _run_tree(tmp_path / "run")
    client.ensure_collection(coll)
    irods_sandbox.faults.fail_next(602, codes.SYS_RESC_IS_DOWN, count=2)
    report = client.upload_directory(tmp_path / "run", coll)
    irods_sandbox.faults.reset()
    assert report.ok, report.errors
    assert report.files == len(files)


@pytest.mark.usefixtures("fast_retries")
def test_unreachable_server_raises_after_bounded_retries(
    client: iRODSClient, coll: str, tmp_path: Path, irods_sandbox: Any
) -> None:
    """A server that stays away ends the upload with a TransientIRODSError, not a hang."""
    _run_tree(tmp_path / "run")
    client.ensure_collection(coll)
    irods_sandbox.faults.unreachable = True
    try:
        with capture_logs() as logs, pytest.raises(TransientIRODSError):
            client.upload_directory(tmp_path / "run", coll)
    finally:
        irods_sandbox.faults.reset()
    assert len([e for e in logs if e["event"] == "irods.retry"]) > 0


def test_report_defaults() -> None:
    """An empty report is ok and has sent nothing."""
    report = UploadReport()
    assert report.ok
    assert report.bytes_sent == 0


def test_multi_chunk_file_is_stored_whole(client: iRODSClient, coll: str, tmp_path: Path) -> None:
    """A file of two full chunks and a partial one is stored byte for byte, checksum verified."""
    run = tmp_path / "run"
    run.mkdir()
    data = os.urandom(2 * CHUNK + 12345)
    (run / "big.bin").write_bytes(data)
    report = client.upload_directory(run, coll, threads=1)
    assert report.ok, report.errors
    assert report.checksums["big.bin"] == _sha(data)
    assert client.checksum(f"{coll}/big.bin", recompute=True) == _sha(data)
    assert client.read_bytes(f"{coll}/big.bin", max_bytes=len(data)) == data


def test_on_close_runs_once_after_close_or_a_failed_start(irods_sandbox: Any) -> None:
    """on_close runs once when the client closes (a second close does nothing), and once when
    the constructor fails, so whatever the caller started for the client is stopped."""
    calls: list[str] = []
    with pytest.raises(ConfigError):
        iRODSClient(IRODSConfig(), on_close=lambda: calls.append("failed"))
    assert calls == ["failed"]
    client = iRODSClient(_config(irods_sandbox), on_close=lambda: calls.append("closed"))
    client.ping()
    client.close()
    client.close()
    assert calls == ["failed", "closed"]

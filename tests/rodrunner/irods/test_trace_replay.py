"""rodrunner's client against recorded answers of a real iRODS 5.0.2 server (trace replay).

Each test serves one recorded operation (tests/data/irods-traces/rodrunner/, see
tests/irods_replay.py) and checks that the client sends what it sent to the real server and
ends as the recording says it ended ("outcome in the client" in the file's header), or, where
this release changed the behaviour on purpose, as it does now.
"""

from __future__ import annotations

import ast
import base64
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rodrunner.config import IRODSConfig
from rodrunner.errors import PermanentIRODSError
from rodrunner.irods import _wire
from rodrunner.irods.avus import AVU
from rodrunner.irods.client import iRODSClient
from tests.irods_replay import TRACES, ReplayServer, exchanges, load_trace

RUN3 = "/tempZone/home/rods/trace2/run3"


def _outcome(name: str) -> str:
    """The 'outcome in the client' the recording's header states."""
    text = (TRACES / name).read_text(encoding="utf-8")
    found = re.search(r"^# outcome in the client: (.*)$", text, re.M)
    assert found is not None
    return found.group(1)


def _returned(name: str) -> Any:
    outcome = _outcome(name)
    assert outcome.startswith("returned: ")
    return ast.literal_eval(outcome[len("returned: ") :])


@pytest.fixture
def replay(request: pytest.FixtureRequest) -> Iterator[tuple[ReplayServer, iRODSClient]]:
    """A replay server for the trace named by the parameter, and a client on it
    (irods.hash_scheme sha256: the recordings have no scheme probe)."""
    name = request.param
    server = ReplayServer(load_trace(name))
    config = IRODSConfig(
        host="127.0.0.1",
        port=server.port,
        password="rods",
        hash_scheme="sha256",
        connection_timeout=10,
    )
    with server.running(), iRODSClient(config) as client:
        yield server, client
    assert server.unmatched == []


def _recorded_requests(name: str) -> list[bytes]:
    return [req.msg for req, _ in exchanges(load_trace(name)) if req.api != 110000]


def _sha2_hex(value: str) -> str:
    return base64.b64decode(value[5:]).hex()


@pytest.mark.parametrize("replay", ["rodrunner/07-put-single-existing-force.txt"], indirect=True)
def test_single_buffer_put_sends_the_recorded_message(replay: Any) -> None:
    """The single-buffer put is byte for byte the message the real server accepted (0)."""
    server, client = replay
    with client._sessions.worker() as session:
        _wire.put_single(session, f"{RUN3}/tiny/sub1/one_k", os.urandom(1024), None)
    assert [r.msg for r in server.requests] == _recorded_requests(
        "rodrunner/07-put-single-existing-force.txt"
    )
    assert server.requests[0].bs_len == 1024


@pytest.mark.parametrize("replay", ["rodrunner/06-put-single-existing-no-force.txt"], indirect=True)
def test_overwrite_without_force_is_permanent(replay: Any) -> None:
    """The real server's -312000 (no forceFlag onto an existing object) is a permanent
    OVERWRITE_WITHOUT_FORCE_FLAG error, not retried."""
    _, client = replay
    with client._sessions.worker() as session, pytest.raises(PermanentIRODSError) as caught:
        _wire.put_single(session, f"{RUN3}/tiny/sub1/one_k", b"x" * 1024, None)
    assert caught.value.name == "OVERWRITE_WITHOUT_FORCE_FLAG"
    assert _outcome("rodrunner/06-put-single-existing-no-force.txt").startswith(
        "raised: irods.exception.OVERWRITE_WITHOUT_FORCE_FLAG"
    )


@pytest.mark.parametrize(
    "replay", ["rodrunner/08-put-single-missing-collection.txt"], indirect=True
)
def test_missing_collection_is_the_recorded_error(replay: Any) -> None:
    """-814000 with an RError_PI whose status is 0: the recorded PermanentIRODSError."""
    _, client = replay
    with client._sessions.worker() as session, pytest.raises(PermanentIRODSError) as caught:
        _wire.put_single(session, f"{RUN3}/nope/x", b"y" * 1024, None)
    outcome = _outcome("rodrunner/08-put-single-missing-collection.txt")
    assert outcome == f"raised: rodrunner.errors.PermanentIRODSError: {caught.value}"


@pytest.mark.parametrize("replay", ["rodrunner/15-chksum-plain-corrupt.txt"], indirect=True)
def test_plain_checksum(replay: Any) -> None:
    """DATA_OBJ_CHKSUM without keywords: the stored sha2: value as hex, as recorded."""
    _, client = replay
    value = client.checksum(f"{RUN3}/tiny/sub2/k100")
    assert value == _returned("rodrunner/15-chksum-plain-corrupt.txt")


@pytest.mark.parametrize("replay", ["rodrunner/16-chksum-force-corrupt.txt"], indirect=True)
def test_forced_checksum_sends_force_chksum(replay: Any) -> None:
    """recompute=True sends forceChksum and returns the recomputed value, as recorded."""
    server, client = replay
    value = client.checksum(f"{RUN3}/tiny/sub2/k100", recompute=True)
    assert value == _returned("rodrunner/16-chksum-force-corrupt.txt")
    assert b"<keyWord>forceChksum</keyWord>" in server.requests[0].msg


@pytest.mark.parametrize("replay", ["rodrunner/30-chksum-force-size-changed.txt"], indirect=True)
def test_forced_checksum_of_a_truncated_file(replay: Any) -> None:
    """-512000 with no body (the vault file is shorter than the catalog says): the recorded
    permanent error, no retry."""
    _, client = replay
    with pytest.raises(PermanentIRODSError) as caught:
        client.checksum(f"{RUN3}/big/big.bin", recompute=True)
    outcome = _outcome("rodrunner/30-chksum-force-size-changed.txt")
    assert outcome == f"raised: rodrunner.errors.PermanentIRODSError: {caught.value}"


@pytest.mark.parametrize("replay", ["rodrunner/36-chksum-md5-object.txt"], indirect=True)
def test_md5_checksum_is_read_as_md5(replay: Any) -> None:
    """A stored MD5 (bare hex) is read as an MD5 by checksum_of() (the recording's
    checksum() call raised "not SHA-256" on it, so an MD5 zone failed every file)."""
    server, client = replay
    recorded = re.search(rb"<myStr>([0-9a-f]{32})</myStr>", exchanges(server.trace)[0][1].msg)
    assert recorded is not None
    obj = client.checksum_of(f"{RUN3}/md5/a")
    assert (obj.checksum, obj.md5) == (None, recorded.group(1).decode())


@pytest.mark.parametrize("replay", ["rodrunner/37-chksum-force-md5-object.txt"], indirect=True)
def test_forced_checksum_of_md5_object_is_sha256(replay: Any) -> None:
    """forceChksum recomputes in the zone's default scheme (SHA256): as recorded."""
    _, client = replay
    assert client.checksum(f"{RUN3}/md5/a", recompute=True) == _returned(
        "rodrunner/37-chksum-force-md5-object.txt"
    )


@pytest.mark.parametrize(
    "name",
    [
        "rodrunner/24-list-objects-with-replicas.txt",
        "rodrunner/28-list-objects-divergent-replicas.txt",
        "rodrunner/38-list-objects-md5.txt",
    ],
)
def test_listing_reads_rows_as_recorded(name: str) -> None:
    """list_objects over the recorded GenQuery answer (distinct rows, two good replicas that
    disagree, a stale replica, an MD5) gives the recorded (size, SHA-256, good); an MD5 is
    now kept as ``md5``."""
    server = ReplayServer(load_trace(name))
    config = IRODSConfig(host="127.0.0.1", port=server.port, password="rods", hash_scheme="sha256")
    collection = re.search(r"list_objects\('([^']+)'\)", (TRACES / name).read_text()).group(1)  # type: ignore[union-attr]
    with server.running(), iRODSClient(config) as client:
        listing = client.list_objects(collection)
    assert server.unmatched == []
    assert {rel: (o.size, o.checksum, o.good) for rel, o in listing.items()} == _returned(name)
    assert [r.msg for r in server.requests] == _recorded_requests(name)
    md5s = {rel: o.md5 for rel, o in listing.items() if o.md5}
    assert md5s == ({"c": "c949281687106569be1fdd0f095af188"} if "md5" in name else {})


def _tiny_tree(root: Path) -> None:
    for rel, size in (("sub1/zero", 0), ("sub1/one_k", 1024), ("sub2/k100", 102400)):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))


@pytest.mark.parametrize("replay", ["rodrunner/01-upload-tiny-tree.txt"], indirect=True)
def test_upload_sends_the_recorded_sequence(replay: Any, tmp_path: Path) -> None:
    """upload_directory of the recorded tree sends the recorded API calls (listing, mkdirs,
    single-buffer puts, verify listing, metadata) and checks every server checksum: the empty
    file's SHA-256 is the recording's, the others (random bytes then and now) differ."""
    server, client = replay
    _tiny_tree(tmp_path / "tiny")
    report = client.upload_directory(
        tmp_path / "tiny",
        f"{RUN3}/tiny",
        metadata=[AVU("run_id", "R1"), AVU("instrument", "A00834")],
    )
    recorded = [r.api for r, _ in exchanges(server.trace) if r.api != 110000]
    assert sorted(r.api for r in server.requests) == sorted(recorded)
    assert [r.api for r in server.requests if r.api == 702][:1] == [702]
    assert report.checksums == {
        "sub1/zero": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    }
    assert sorted(rel for rel, _ in report.errors) == ["sub1/one_k", "sub2/k100"]
    recorded_checksum = _returned("rodrunner/01-upload-tiny-tree.txt")["checksums"]["sub1/one_k"]
    assert any(recorded_checksum in message for _, message in report.errors)
    puts = [r for r in server.requests if r.api == 606]
    assert sorted(r.bs_len for r in puts) == [0, 1024, 102400]
    for put in puts:
        kvp = put.xml().find("KeyValPair_PI")
        assert kvp is not None
        keys = [k.text for k in kvp.findall("keyWord")]
        assert keys == ["dataIncluded", "forceFlag", "regChksum", "dataSize"]


@pytest.mark.parametrize("replay", ["rodrunner/02-upload-40mib.txt"], indirect=True)
def test_large_upload_streams_as_recorded(replay: Any, tmp_path: Path) -> None:
    """A 40 MiB file goes as the recorded open (flags 577, PUT_OPR, regChksum, dataSize),
    ten 4 MiB writes whose counts the server confirmed, and a close; the verify listing's
    checksum (other random bytes then) is reported as a mismatch."""
    server, client = replay
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "big.bin").write_bytes(os.urandom(40 * 1024 * 1024))
    report = client.upload_directory(tmp_path / "big", f"{RUN3}/big")
    recorded = [r for r, _ in exchanges(server.trace) if r.api != 110000]
    assert [r.api for r in server.requests] == [r.api for r in recorded]
    opened = [r for r in server.requests if r.api == 602]
    assert [r.msg for r in opened] == [r.msg for r in recorded if r.api == 602]
    assert [r.bs_len for r in server.requests if r.api == 676] == [4 * 1024 * 1024] * 10
    assert [rel for rel, _ in report.errors] == ["big.bin"]

"""Data objects through the sandbox with the real python-irodsclient: put/get both transfer
paths, checksums, overwrite rules, unlink, rename, concurrency and replica states."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path

import pytest
from irods import client_configuration as prc_config
from irods import exception as ex
from irods import keywords as kw
from irods.manager.data_object_manager import Server_Checksum_Warning
from irods.message import FileOpenRequest, RErrorStack, StringStringMap, iRODSMessage
from irods.models import DataObject
from irods.session import iRODSSession

from rodrunner.sandbox import SandboxInfo, run_sandbox
from tests.conftest import sandbox_session

HOME = "/tempZone/home/rods"
MiB = 1024 * 1024


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def write_random(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


@pytest.mark.parametrize(
    "size",
    [0, 1024, 33 * MiB + 5],
    ids=["zero", "1KiB", "33MiB-parallel"],
)
def test_put_get_round_trip_is_byte_exact_with_sha256(
    irods_session: iRODSSession, tmp_path: Path, size: int
) -> None:
    """Put then get returns the same bytes; the server checksum is sha2:<base64 SHA-256>."""
    data = write_random(tmp_path / "f", size)
    target = f"{HOME}/f"
    irods_session.data_objects.put(str(tmp_path / "f"), target, **{kw.REG_CHKSUM_KW: ""})
    obj = irods_session.data_objects.get(target)
    assert (obj.size, obj.checksum) == (size, sha2(data))
    assert obj.replicas[0].status == "1"
    irods_session.data_objects.get(target, str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == data


@pytest.mark.slow
def test_put_get_200_mib_round_trip(irods_session: iRODSSession, tmp_path: Path) -> None:
    """A 200 MiB file goes through the parallel path both ways unchanged."""
    data = write_random(tmp_path / "big", 200 * MiB)
    target = f"{HOME}/big"
    irods_session.data_objects.put(str(tmp_path / "big"), target, **{kw.REG_CHKSUM_KW: ""})
    assert irods_session.data_objects.get(target).checksum == sha2(data)
    irods_session.data_objects.get(target, str(tmp_path / "back"))
    assert (
        hashlib.sha256((tmp_path / "back").read_bytes()).digest() == hashlib.sha256(data).digest()
    )


def test_md5_sandbox_stores_md5_hex(tmp_path: Path) -> None:
    """With hash='md5' the registered checksum is the md5 hex digest."""
    data = write_random(tmp_path / "f", 5000)
    with run_sandbox(tmp_path / "sb", hash="md5") as info:
        session = sandbox_session(info)
        try:
            session.data_objects.put(str(tmp_path / "f"), f"{HOME}/f", **{kw.REG_CHKSUM_KW: ""})
            checksum = session.data_objects.get(f"{HOME}/f").checksum
        finally:
            session.cleanup()
    assert checksum == hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_chksum_api_computes_and_verify_detects_a_corrupted_replica(
    irods_session: iRODSSession, irods_sandbox: SandboxInfo, tmp_path: Path
) -> None:
    """DATA_OBJ_CHKSUM computes sha2; verify on altered bytes answers CHECK_VERIFICATION_RESULTS."""
    data = write_random(tmp_path / "f", 4096)
    irods_session.data_objects.put(str(tmp_path / "f"), f"{HOME}/f")
    assert irods_session.data_objects.get(f"{HOME}/f").checksum is None
    assert irods_session.data_objects.chksum(f"{HOME}/f") == sha2(data)
    assert irods_session.data_objects.chksum(f"{HOME}/f", **{kw.VERIFY_CHKSUM_KW: ""}) == ""
    vault_file = Path(irods_session.data_objects.get(f"{HOME}/f").replicas[0].path)
    vault_file.write_bytes(bytes([data[0] ^ 0xFF]) + data[1:])  # "x" + ... was equal 1 in 256
    with pytest.raises(Server_Checksum_Warning) as caught:
        irods_session.data_objects.chksum(
            f"{HOME}/f", r_error=RErrorStack(), **{kw.VERIFY_CHKSUM_KW: ""}
        )
    assert [r["error_code"] for r in caught.value.response] == [-314000]


def test_put_with_a_wrong_client_checksum_is_refused(
    irods_session: iRODSSession, tmp_path: Path
) -> None:
    """Passing the local checksum with the put makes the server compare it: a mismatch fails."""
    write_random(tmp_path / "f", 2048)
    with pytest.raises(ex.USER_CHKSUM_MISMATCH):
        irods_session.data_objects.put(
            str(tmp_path / "f"), f"{HOME}/f", **{kw.CHKSUM_KW: sha2(b"other bytes")}
        )
    assert irods_session.data_objects.get(f"{HOME}/f").replicas[0].status == "0"


def test_missing_object_and_collection_raise_the_client_exceptions(
    irods_session: iRODSSession,
) -> None:
    """Lookups of missing paths raise DataObjectDoesNotExist / CollectionDoesNotExist."""
    with pytest.raises(ex.DataObjectDoesNotExist):
        irods_session.data_objects.get(f"{HOME}/nothing-here")
    with pytest.raises(ex.CollectionDoesNotExist):
        irods_session.collections.get(f"{HOME}/no-such-collection")
    with pytest.raises(ex.OBJ_PATH_DOES_NOT_EXIST):
        irods_session.data_objects.open(f"{HOME}/nothing-here", "r")


def test_overwrite_rules_match_a_real_server(irods_session: iRODSSession, tmp_path: Path) -> None:
    """Open with O_TRUNC overwrites; create without force and put without force are refused."""
    write_random(tmp_path / "a", 100)
    second = write_random(tmp_path / "b", 50)
    irods_session.data_objects.put(str(tmp_path / "a"), f"{HOME}/x")
    irods_session.data_objects.put(str(tmp_path / "b"), f"{HOME}/x")  # 577, no force: accepted
    with irods_session.data_objects.open(f"{HOME}/x", "r") as f:
        assert f.read() == second
    message = iRODSMessage(
        "RODS_API_REQ",
        msg=FileOpenRequest(
            objPath=f"{HOME}/x",
            createMode=0o644,
            openFlags=0,
            offset=0,
            dataSize=-1,
            numThreads=0,
            oprType=0,
            KeyValPair_PI=StringStringMap({}),
        ),
        int_info=601,
    )
    with irods_session.pool.get_connection() as conn:
        conn.send(message)
        with pytest.raises(ex.OVERWRITE_WITHOUT_FORCE_FLAG):
            conn.recv()
    saved = prc_config.data_objects.force_put_by_default
    prc_config.data_objects.force_put_by_default = False
    try:
        with pytest.raises(ex.OVERWRITE_WITHOUT_FORCE_FLAG):
            irods_session.data_objects.put(str(tmp_path / "a"), f"{HOME}/x")
    finally:
        prc_config.data_objects.force_put_by_default = saved


def test_four_threads_put_100_files_over_one_session(
    irods_session: iRODSSession, tmp_path: Path
) -> None:
    """Concurrent puts from four threads sharing one session all land with the right bytes."""
    irods_session.collections.create(f"{HOME}/many")
    payloads = {f"f{i:03d}": os.urandom(100 + i) for i in range(100)}
    for name, data in payloads.items():
        (tmp_path / name).write_bytes(data)
    errors: list[BaseException] = []
    names = sorted(payloads)

    def worker(part: list[str]) -> None:
        try:
            for name in part:
                irods_session.data_objects.put(
                    str(tmp_path / name), f"{HOME}/many/{name}", **{kw.REG_CHKSUM_KW: ""}
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(names[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = irods_session.query(DataObject.name, DataObject.checksum).filter(
        DataObject.collection_id == irods_session.collections.get(f"{HOME}/many").id
    )
    stored = {r[DataObject.name]: r[DataObject.checksum] for r in rows}
    assert stored == {name: sha2(data) for name, data in payloads.items()}


def test_replica_is_intermediate_while_written_and_good_after_close(
    irods_session: iRODSSession,
) -> None:
    """A replica open for writing is status 2 with size 0; closing makes it 1 with its size."""
    f = irods_session.data_objects.open(f"{HOME}/w", "w")
    f.write(b"12345")
    f.flush()
    replica = irods_session.data_objects.get(f"{HOME}/w").replicas[0]
    assert (replica.status, replica.size) == ("2", 0)
    f.close()
    replica = irods_session.data_objects.get(f"{HOME}/w").replicas[0]
    assert (replica.status, replica.size) == ("1", 5)


def test_abandoned_write_leaves_a_stale_replica(irods_sandbox: SandboxInfo) -> None:
    """A client that vanishes mid-write leaves the replica stale, and it can be rewritten."""
    writer = sandbox_session(irods_sandbox)
    f = writer.data_objects.open(f"{HOME}/gone", "w")
    f.write(b"partial")
    f.flush()
    with writer.pool.get_connection() as conn:
        conn.socket.close()
    for conn in list(writer.pool.active):
        conn.socket.close()
    reader = sandbox_session(irods_sandbox)
    try:
        for _ in range(200):
            status = reader.data_objects.get(f"{HOME}/gone").replicas[0].status
            if status != "2":
                break
            threading.Event().wait(0.05)
        assert status == "0"
        with reader.data_objects.open(f"{HOME}/gone", "w") as g:
            g.write(b"whole")
        assert reader.data_objects.get(f"{HOME}/gone").replicas[0].status == "1"
    finally:
        reader.cleanup()


def test_unlink_moves_to_trash_and_force_deletes(irods_session: iRODSSession) -> None:
    """unlink() without force lands in the zone trash; with force the object is gone."""
    irods_session.data_objects.create(f"{HOME}/t1")
    irods_session.data_objects.unlink(f"{HOME}/t1")
    assert not irods_session.data_objects.exists(f"{HOME}/t1")
    assert irods_session.data_objects.exists("/tempZone/trash/home/rods/t1")
    irods_session.data_objects.create(f"{HOME}/t2")
    irods_session.data_objects.unlink(f"{HOME}/t2", force=True)
    assert not irods_session.data_objects.exists(f"{HOME}/t2")
    assert not irods_session.data_objects.exists("/tempZone/trash/home/rods/t2")


def test_rename_data_object_keeps_its_bytes(irods_session: iRODSSession) -> None:
    """move() of a data object changes its path, not its content; a taken name is refused."""
    with irods_session.data_objects.open(f"{HOME}/src", "w") as f:
        f.write(b"content")
    irods_session.data_objects.create(f"{HOME}/taken")
    with pytest.raises(ex.CAT_NAME_EXISTS_AS_DATAOBJ):
        irods_session.data_objects.move(f"{HOME}/src", f"{HOME}/taken")
    irods_session.data_objects.move(f"{HOME}/src", f"{HOME}/dst")
    assert not irods_session.data_objects.exists(f"{HOME}/src")
    with irods_session.data_objects.open(f"{HOME}/dst", "r") as f:
        assert f.read() == b"content"


def test_path_outside_the_zone_is_refused(irods_session: iRODSSession) -> None:
    """A path in another zone is USER_INPUT_PATH_ERR, not a crash."""
    with pytest.raises(ex.USER_INPUT_PATH_ERR):
        irods_session.data_objects.open("/otherZone/home/rods/x", "w")


@pytest.mark.parametrize(
    ("writes", "expected"),
    [([(0, b"aaaa"), (0, b"bb")], b"bbaa"), ([(2, b"cc"), (0, b"dd")], b"ddcc")],
    ids=["rewrite-hashed-prefix", "tail-before-head"],
)
def test_checksum_at_close_follows_writes_in_any_order(
    irods_session: iRODSSession, writes: list[tuple[int, bytes]], expected: bytes
) -> None:
    """Rewritten or out-of-order ranges still give the SHA-256 of the final bytes at close."""
    target = f"{HOME}/seeky"
    with irods_session.data_objects.open(target, "w", **{kw.REG_CHKSUM_KW: ""}) as fh:
        for offset, data in writes:
            fh.seek(offset)
            fh.write(data)
            fh.flush()
    obj = irods_session.data_objects.get(target)
    assert (obj.size, obj.checksum) == (len(expected), sha2(expected))

"""Resources, replicas and checksum verification through the sandbox with the real
python-irodsclient, answered as the recorded iRODS 5.0.2 answers them."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from irods import exception as ex
from irods import keywords as kw
from irods.api_number import api_number
from irods.manager.data_object_manager import Server_Checksum_Warning
from irods.message import DataObjChksumRequest, GeneralAdminRequest, RErrorStack, iRODSMessage
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from rodrunner.sandbox import SandboxInfo, run_sandbox
from tests.conftest import sandbox_session

HOME = "/tempZone/home/rods"
SECOND = "secondResc"


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxInfo]:
    """A sandbox with a second resource from its configuration."""
    with run_sandbox(tmp_path / "irods", resources=[SECOND]) as info:
        yield info


@pytest.fixture
def session(sandbox: SandboxInfo) -> Iterator[iRODSSession]:
    s = sandbox_session(sandbox)
    try:
        yield s
    finally:
        s.cleanup()


def put(session: iRODSSession, tmp_path: Path, name: str, size: int = 4096) -> bytes:
    data = os.urandom(size)
    (tmp_path / name).write_bytes(data)
    session.data_objects.put(str(tmp_path / name), f"{HOME}/{name}", **{kw.REG_CHKSUM_KW: ""})
    return data


def replicas(session: iRODSSession, name: str) -> list[tuple[int, str, str, str, int, str]]:
    """Trace 20's query: number, status, resource, checksum, size, path of every replica."""
    query = session.query(
        DataObject.replica_number,
        DataObject.replica_status,
        DataObject.resource_name,
        DataObject.checksum,
        DataObject.size,
        DataObject.path,
    ).filter(Collection.name == HOME, DataObject.name == name)
    rows = [
        (
            r[DataObject.replica_number],
            r[DataObject.replica_status],
            r[DataObject.resource_name],
            r[DataObject.checksum],
            r[DataObject.size],
            r[DataObject.path],
        )
        for r in query.all()
    ]
    return sorted(rows)


def corrupt(path: str) -> None:
    """Invert the first 16 bytes of a vault file, size unchanged (as the traces did)."""
    raw = bytearray(Path(path).read_bytes())
    raw[:16] = bytes(b ^ 0xFF for b in raw[:16])
    Path(path).write_bytes(bytes(raw))


def verify(session: iRODSSession, name: str, **options: str) -> tuple[str, RErrorStack]:
    """Verify with an RError stack; ('', errors) when good, else raises Server_Checksum_Warning."""
    errors = RErrorStack()
    result = session.data_objects.chksum(
        f"{HOME}/{name}", r_error=errors, **{kw.VERIFY_CHKSUM_KW: ""}, **options
    )
    return result, errors


def raw_chksum(session: iRODSSession, name: str, options: dict[str, str]) -> iRODSMessage:
    """The server's reply to DATA_OBJ_CHKSUM as it came, error block included."""
    body = DataObjChksumRequest(f"{HOME}/{name}", **options)
    message = iRODSMessage("RODS_API_REQ", msg=body, int_info=api_number["DATA_OBJ_CHKSUM_AN"])
    got: list[iRODSMessage] = []
    with session.pool.get_connection() as conn:
        conn.send(message)
        with contextlib.suppress(ex.iRODSException):
            conn.recv(return_message=got)
    return got[0]


def failed_verification(
    session: iRODSSession, name: str, **options: str
) -> tuple[list[dict[str, object]], RErrorStack]:
    errors = RErrorStack()
    with pytest.raises(Server_Checksum_Warning) as caught:
        session.data_objects.chksum(
            f"{HOME}/{name}", r_error=errors, **{kw.VERIFY_CHKSUM_KW: ""}, **options
        )
    return caught.value.response, errors


def test_a_configured_resource_takes_a_good_replica_with_the_same_checksum(
    session: iRODSSession, tmp_path: Path
) -> None:
    """DATA_OBJ_REPL to the configured second resource gives replica 1, good, same checksum."""
    data = put(session, tmp_path, "one_k", 1024)
    session.data_objects.replicate(f"{HOME}/one_k", resource=SECOND)
    rows = replicas(session, "one_k")
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        (0, "1", "demoResc", sha2(data), 1024),
        (1, "1", SECOND, sha2(data), 1024),
    ]
    assert rows[0][5] != rows[1][5]
    assert Path(rows[1][5]).read_bytes() == data


def test_mkresc_creates_a_resource_and_warns_about_localhost(
    session: iRODSSession, tmp_path: Path
) -> None:
    """GENERAL_ADMIN add resource answers 0 with an RError_PI warning (status 0), as trace 18."""
    vault = tmp_path / "vault2"
    body = GeneralAdminRequest(
        "add", "resource", "thirdResc", "unixfilesystem", f"localhost:{vault}", "", ""
    )
    message = iRODSMessage("RODS_API_REQ", msg=body, int_info=api_number["GENERAL_ADMIN_AN"])
    with session.pool.get_connection() as conn:
        conn.send(message)
        reply = conn.recv()
    assert reply.int_info == 0
    assert b"<status>0</status>" in reply.error
    assert b"will not work properly" in reply.error
    assert session.resources.get("thirdResc").vault_path == str(vault)
    put(session, tmp_path, "f")
    session.data_objects.replicate(f"{HOME}/f", resource="thirdResc")
    assert replicas(session, "f")[1][5].startswith(str(vault))


def test_replicating_to_an_unknown_resource_is_refused(
    session: iRODSSession, tmp_path: Path
) -> None:
    """A destination resource that does not exist is SYS_RESC_DOES_NOT_EXIST."""
    put(session, tmp_path, "f")
    with pytest.raises(ex.SYS_RESC_DOES_NOT_EXIST):
        session.data_objects.replicate(f"{HOME}/f", resource="nowhere")


def test_verify_of_a_good_object_is_zero_and_empty(session: iRODSSession, tmp_path: Path) -> None:
    """verifyChksum on intact bytes returns '' with no error block (trace 12)."""
    put(session, tmp_path, "f")
    assert verify(session, "f") == ("", [])


def test_verify_catches_a_corrupted_vault_file_with_the_json_list_and_an_error_block(
    session: iRODSSession, tmp_path: Path
) -> None:
    """Same size, other bytes: -407000 with the JSON list and a -314000 RError naming both sums."""
    data = put(session, tmp_path, "k100", 102400)
    corrupt(replicas(session, "k100")[0][5])
    results, errors = failed_verification(session, "k100")
    assert results == [
        {
            "error_code": -314000,
            "message": "ERROR: Computed checksum does not match what is in the catalog for "
            "replica [0].",
            "severity": "error",
        }
    ]
    assert [e.status_ for e in errors] == [-314000]
    assert f"!= catalog value [{sha2(data)}]" in errors[0].message
    assert "hierarchy [demoResc] replica number [0]" in errors[0].message


def test_python_irodsclient_fails_on_a_failed_verification_without_an_error_stack(
    session: iRODSSession, tmp_path: Path
) -> None:
    """python-irodsclient 3.3.0 raises AttributeError on the -407000 reply unless given r_error."""
    put(session, tmp_path, "f")
    corrupt(replicas(session, "f")[0][5])
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'fill'"):
        session.data_objects.chksum(f"{HOME}/f", **{kw.VERIFY_CHKSUM_KW: ""})


def test_plain_checksum_returns_the_stored_value_without_reading_the_file(
    session: iRODSSession, tmp_path: Path
) -> None:
    """A checksum call without keywords does not notice corrupted bytes (trace 15)."""
    data = put(session, tmp_path, "f")
    corrupt(replicas(session, "f")[0][5])
    assert session.data_objects.chksum(f"{HOME}/f") == sha2(data)


def test_force_silently_stores_what_is_on_disk_now(session: iRODSSession, tmp_path: Path) -> None:
    """forceChksum stores the corrupted bytes' checksum; verify then passes (traces 16, 17)."""
    put(session, tmp_path, "f")
    path = replicas(session, "f")[0][5]
    corrupt(path)
    now = sha2(Path(path).read_bytes())
    assert session.data_objects.chksum(f"{HOME}/f", **{kw.FORCE_CHKSUM_KW: ""}) == now
    assert replicas(session, "f")[0][3] == now
    assert verify(session, "f") == ("", [])


def test_a_truncated_vault_file_fails_verification_without_an_error_block(
    session: iRODSSession, tmp_path: Path
) -> None:
    """Shorter file: -401000 and -512000 in the JSON list, no RError (trace 29); force -512000."""
    put(session, tmp_path, "big", 40000)
    path = Path(replicas(session, "big")[0][5])
    path.write_bytes(path.read_bytes()[:1000])
    results, errors = failed_verification(session, "big")
    assert [(r["error_code"], r["message"]) for r in results] == [
        (-401000, "ERROR: Physical size does not match size in catalog for replica [0]."),
        (-512000, "ERROR: Could not verify checksum for replica [0]."),
    ]
    assert [e.status_ for e in errors] == [-401000, -512000]  # the client's copy of the list
    reply = raw_chksum(session, "big", {kw.VERIFY_CHKSUM_KW: ""})
    assert (reply.int_info, reply.error) == (-407000, None)
    with pytest.raises(ex.UNIX_FILE_READ_ERR):
        session.data_objects.chksum(f"{HOME}/big", **{kw.FORCE_CHKSUM_KW: ""})


def test_a_deleted_vault_file_fails_verification(session: iRODSSession, tmp_path: Path) -> None:
    """A replica whose file is gone: its size and checksum cannot be verified."""
    put(session, tmp_path, "f")
    Path(replicas(session, "f")[0][5]).unlink()
    results, _ = failed_verification(session, "f")
    assert [r["message"] for r in results] == [
        "ERROR: Could not verify size for replica [0].",
        "ERROR: Could not verify checksum for replica [0].",
    ]


def test_chksum_all_verify_names_the_corrupted_replica(
    session: iRODSSession, tmp_path: Path
) -> None:
    """ChksumAll + verify with replica 1 corrupted names replica [1] on its resource (trace 25)."""
    data = put(session, tmp_path, "one_k", 1024)
    session.data_objects.replicate(f"{HOME}/one_k", resource=SECOND)
    assert session.data_objects.chksum(f"{HOME}/one_k", **{kw.CHKSUM_ALL_KW: ""}) == sha2(data)
    assert verify(session, "one_k", **{kw.CHKSUM_ALL_KW: ""}) == ("", [])
    corrupt(replicas(session, "one_k")[1][5])
    results, errors = failed_verification(session, "one_k", **{kw.CHKSUM_ALL_KW: ""})
    assert [r["message"] for r in results] == [
        "ERROR: Computed checksum does not match what is in the catalog for replica [1]."
    ]
    assert f"hierarchy [{SECOND}] replica number [1]" in errors[0].message


def test_chksum_all_force_with_diverging_replicas_returns_nothing_and_a_warning(
    session: iRODSSession, tmp_path: Path
) -> None:
    """ChksumAll + force: 0, no checksum, an RError -314000 warning (trace 26); rows then differ."""
    put(session, tmp_path, "one_k", 1024)
    session.data_objects.replicate(f"{HOME}/one_k", resource=SECOND)
    corrupt(replicas(session, "one_k")[1][5])
    errors = RErrorStack()
    result = session.data_objects.chksum(
        f"{HOME}/one_k", r_error=errors, **{kw.CHKSUM_ALL_KW: "", kw.FORCE_CHKSUM_KW: ""}
    )
    assert result == ""
    assert [(e.status_, e.message) for e in errors] == [
        (-314000, "WARNING: Data object has replicas with different checksums.")
    ]
    rows = replicas(session, "one_k")
    assert [r[1] for r in rows] == ["1", "1"]
    assert rows[0][3] != rows[1][3]


def test_genquery_rows_are_distinct_over_the_selected_columns(
    session: iRODSSession, tmp_path: Path
) -> None:
    """Two agreeing replicas list as one row; once their checksums differ, as two (24, 28)."""
    put(session, tmp_path, "one_k", 1024)
    session.data_objects.replicate(f"{HOME}/one_k", resource=SECOND)

    def listing() -> int:
        query = session.query(
            Collection.name,
            DataObject.name,
            DataObject.size,
            DataObject.checksum,
            DataObject.replica_status,
        ).filter(Collection.name == HOME, DataObject.name == "one_k")
        return len(query.all())

    assert listing() == 1
    corrupt(replicas(session, "one_k")[1][5])
    session.data_objects.chksum(
        f"{HOME}/one_k", r_error=RErrorStack(), **{kw.CHKSUM_ALL_KW: "", kw.FORCE_CHKSUM_KW: ""}
    )
    assert listing() == 2


def test_overwriting_an_object_makes_its_other_replicas_stale(
    session: iRODSSession, tmp_path: Path
) -> None:
    """A new write to replica 0 leaves replica 1 stale; verify skips it and says so."""
    put(session, tmp_path, "f")
    session.data_objects.replicate(f"{HOME}/f", resource=SECOND)
    put(session, tmp_path, "f")
    assert [r[1] for r in replicas(session, "f")] == ["1", "0"]
    results, _ = failed_verification(session, "f")
    assert results == [
        {"error_code": 0, "message": "INFO: Number of replicas skipped: 1", "severity": "info"}
    ]
    session.data_objects.replicate(f"{HOME}/f", resource=SECOND)
    assert [r[1] for r in replicas(session, "f")] == ["1", "1"]
    assert verify(session, "f") == ("", [])


def test_verify_of_one_named_replica(session: iRODSSession, tmp_path: Path) -> None:
    """replNum verifies only that replica, stale or good."""
    put(session, tmp_path, "f")
    session.data_objects.replicate(f"{HOME}/f", resource=SECOND)
    corrupt(replicas(session, "f")[1][5])
    assert verify(session, "f", **{kw.REPL_NUM_KW: "0"}) == ("", [])
    results, _ = failed_verification(session, "f", **{kw.REPL_NUM_KW: "1"})
    assert results[0]["error_code"] == -314000


def test_removing_an_object_or_its_collection_removes_every_replica_file(
    session: iRODSSession, tmp_path: Path
) -> None:
    """Unlink (force) and a recursive collection removal leave no replica file behind."""
    put(session, tmp_path, "f")
    session.data_objects.replicate(f"{HOME}/f", resource=SECOND)
    files = [Path(r[5]) for r in replicas(session, "f")]
    session.data_objects.unlink(f"{HOME}/f", force=True)
    assert [f.exists() for f in files] == [False, False]
    session.collections.create(f"{HOME}/c")
    (tmp_path / "g").write_bytes(b"g" * 100)
    session.data_objects.put(str(tmp_path / "g"), f"{HOME}/c/g")
    session.data_objects.replicate(f"{HOME}/c/g", resource=SECOND)
    query = session.query(DataObject.path).filter(Collection.name == f"{HOME}/c")
    files = [Path(r[DataObject.path]) for r in query.all()]
    assert len(files) == 2
    session.collections.remove(f"{HOME}/c", recurse=True, force=True)
    assert [f.exists() for f in files] == [False, False]


def test_an_md5_sandbox_verifies_in_md5(tmp_path: Path) -> None:
    """With hash md5 the stored checksum is bare MD5 hex and verification uses that scheme."""
    with run_sandbox(tmp_path / "irods-md5", hash="md5") as info:
        s = sandbox_session(info)
        try:
            data = put(s, tmp_path, "f")
            assert replicas(s, "f")[0][3] == hashlib.md5(data, usedforsecurity=False).hexdigest()
            assert verify(s, "f") == ("", [])
            corrupt(replicas(s, "f")[0][5])
            results, _ = failed_verification(s, "f")
            assert [r["error_code"] for r in results] == [-314000]
        finally:
            s.cleanup()


def test_a_stale_replica_keeps_what_the_catalog_knew_of_it(
    session: iRODSSession, tmp_path: Path
) -> None:
    """Rewriting replica 0 with other bytes leaves replica 1 stale with its old size and sum."""
    old = put(session, tmp_path, "f", 4096)
    session.data_objects.replicate(f"{HOME}/f", resource=SECOND)
    new = put(session, tmp_path, "f", 1000)
    rows = replicas(session, "f")
    assert [(r[1], r[3], r[4]) for r in rows] == [("1", sha2(new), 1000), ("0", sha2(old), 4096)]


def test_a_put_with_dest_resc_name_lands_on_that_resource(
    session: iRODSSession, tmp_path: Path
) -> None:
    """destRescName: replica 0 is on that resource, in its vault, readable, verifiable; an
    overwrite stays there; removing the collection removes its file."""
    session.collections.create(f"{HOME}/c")
    data = os.urandom(3000)
    (tmp_path / "f").write_bytes(data)
    options = {kw.REG_CHKSUM_KW: "", kw.DEST_RESC_NAME_KW: SECOND}
    session.data_objects.put(str(tmp_path / "f"), f"{HOME}/c/f", **options)
    query = session.query(
        DataObject.replica_number, DataObject.resource_name, DataObject.path, DataObject.checksum
    ).filter(Collection.name == f"{HOME}/c", DataObject.name == "f")
    [row] = query.all()
    assert (row[DataObject.replica_number], row[DataObject.resource_name]) == (0, SECOND)
    assert f"/resources/{SECOND}/" in row[DataObject.path]
    assert Path(row[DataObject.path]).read_bytes() == data
    assert row[DataObject.checksum] == sha2(data)
    with session.data_objects.open(f"{HOME}/c/f", "r") as f:
        assert f.read() == data
    errors = RErrorStack()
    assert (
        session.data_objects.chksum(f"{HOME}/c/f", r_error=errors, **{kw.VERIFY_CHKSUM_KW: ""})
        == ""
    )
    (tmp_path / "f").write_bytes(b"new")
    session.data_objects.put(str(tmp_path / "f"), f"{HOME}/c/f", **{kw.FORCE_FLAG_KW: ""})
    [row] = query.all()
    assert row[DataObject.resource_name] == SECOND
    assert Path(row[DataObject.path]).read_bytes() == b"new"
    session.collections.remove(f"{HOME}/c", recurse=True, force=True)
    assert not Path(row[DataObject.path]).exists()


def test_a_put_to_an_unknown_resource_is_refused(session: iRODSSession, tmp_path: Path) -> None:
    """destRescName naming no resource: SYS_RESC_DOES_NOT_EXIST, and no object."""
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(ex.SYS_RESC_DOES_NOT_EXIST):
        session.data_objects.put(
            str(tmp_path / "f"), f"{HOME}/nowhere", **{kw.DEST_RESC_NAME_KW: "noSuchResc"}
        )
    assert not session.data_objects.exists(f"{HOME}/nowhere")

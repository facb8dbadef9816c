"""DATA_OBJ_PUT with the bytes included (single-buffer put) through the real client's wire."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from irods import exception as ex
from irods import keywords as kw
from irods.api_number import api_number
from irods.message import FileOpenRequest, StringStringMap, iRODSMessage
from irods.session import iRODSSession

HOME = "/tempZone/home/rods"


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def single_put(
    session: iRODSSession, path: str, data: bytes, data_size: int | None = None, **options: str
) -> int:
    """Send DATA_OBJ_PUT_AN with ``data`` as the byte stream; the reply's intInfo."""
    body = FileOpenRequest(
        objPath=path,
        createMode=0o644,
        openFlags=0,
        offset=0,
        dataSize=len(data) if data_size is None else data_size,
        numThreads=0,
        oprType=1,
        KeyValPair_PI=StringStringMap(options),
    )
    message = iRODSMessage(
        "RODS_API_REQ", msg=body, bs=data, int_info=api_number["DATA_OBJ_PUT_AN"]
    )
    with session.pool.get_connection() as conn:
        conn.send(message)
        return int(conn.recv().int_info)


def test_single_buffer_put_creates_a_good_replica_with_its_checksum(
    irods_session: iRODSSession,
) -> None:
    """The bytes land in a new object whose replica is good, sized and SHA-256 checksummed."""
    data = os.urandom(5000)
    opts = {kw.DATA_INCLUDED_KW: "", kw.REG_CHKSUM_KW: ""}
    assert single_put(irods_session, f"{HOME}/one", data, **opts) == 0
    obj = irods_session.data_objects.get(f"{HOME}/one")
    assert (obj.size, obj.checksum, obj.replicas[0].status) == (len(data), sha2(data), "1")
    with obj.open("r") as fh:
        assert fh.read() == data


def test_single_buffer_put_of_zero_bytes_without_checksum(irods_session: iRODSSession) -> None:
    """An empty put makes an empty good object; without regChksum no checksum is recorded."""
    assert single_put(irods_session, f"{HOME}/empty", b"", **{kw.DATA_INCLUDED_KW: ""}) == 0
    obj = irods_session.data_objects.get(f"{HOME}/empty")
    assert (obj.size, obj.checksum, obj.replicas[0].status) == (0, None, "1")


def test_single_buffer_put_overwrites_only_with_force(irods_session: iRODSSession) -> None:
    """An existing object is refused without forceFlag and replaced (same object) with it."""
    path = f"{HOME}/twice"
    single_put(irods_session, path, b"first", **{kw.DATA_INCLUDED_KW: ""})
    data_id = irods_session.data_objects.get(path).id
    with pytest.raises(ex.OVERWRITE_WITHOUT_FORCE_FLAG):
        single_put(irods_session, path, b"second", **{kw.DATA_INCLUDED_KW: ""})
    opts = {kw.DATA_INCLUDED_KW: "", kw.FORCE_FLAG_KW: "", kw.REG_CHKSUM_KW: ""}
    single_put(irods_session, path, b"second!", **opts)
    obj = irods_session.data_objects.get(path)
    assert (obj.id, obj.size, obj.checksum) == (data_id, 7, sha2(b"second!"))


def test_single_buffer_put_with_a_wrong_checksum_leaves_a_stale_replica(
    irods_session: iRODSSession,
) -> None:
    """A client checksum that does not match the bytes fails with USER_CHKSUM_MISMATCH."""
    opts = {kw.DATA_INCLUDED_KW: "", kw.VERIFY_CHKSUM_KW: "", kw.CHKSUM_KW: sha2(b"x")}
    with pytest.raises(ex.USER_CHKSUM_MISMATCH):
        single_put(irods_session, f"{HOME}/bad", b"not x", **opts)
    assert irods_session.data_objects.get(f"{HOME}/bad").replicas[0].status == "0"


def test_single_buffer_put_names_what_is_wrong(irods_session: iRODSSession) -> None:
    """A missing collection, a collection's name and the portal form are refused by code."""
    with pytest.raises(ex.CAT_UNKNOWN_COLLECTION):
        single_put(irods_session, f"{HOME}/no/such/x", b"a", **{kw.DATA_INCLUDED_KW: ""})
    irods_session.collections.create(f"{HOME}/coll")
    with pytest.raises(ex.CAT_NAME_EXISTS_AS_COLLECTION):
        single_put(irods_session, f"{HOME}/coll", b"a", **{kw.DATA_INCLUDED_KW: ""})
    with pytest.raises(ex.SYS_NOT_SUPPORTED):
        single_put(irods_session, f"{HOME}/portal", b"a")
    assert not irods_session.data_objects.exists(f"{HOME}/portal")


def test_single_buffer_put_with_a_wrong_data_size_is_refused(irods_session: iRODSSession) -> None:
    """dataSize other than the bytes carried is SYS_COPY_LEN_ERR, as a real server's
    finalize_replica answers (4.3.5 and 5.0.2); dataSize 0 or -1 means unknown and passes."""
    with pytest.raises(ex.SYS_COPY_LEN_ERR):
        single_put(irods_session, f"{HOME}/short", b"12345", 10, **{kw.DATA_INCLUDED_KW: ""})
    assert (
        single_put(irods_session, f"{HOME}/unknown", b"12345", -1, **{kw.DATA_INCLUDED_KW: ""}) == 0
    )

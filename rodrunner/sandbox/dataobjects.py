"""Data-object APIs of the sandbox: open/create, read/write/lseek/close, the parallel-transfer
APIs (20000 file descriptor info, 20004 replica close), unlink and rename (objects and
collections). Checksums and replication are in ``replicas.py``.

A write open registers an ``OpenReplica`` under a replica token on the server; further opens
with that token (python-irodsclient's parallel threads, on other connections) write the same
file. The replica is intermediate (``data_is_dirty=2``, size 0) in the catalog until the
first descriptor closes: then size and status (and the checksum when asked) are final. A
connection that goes away with a write open leaves its replica stale, as iRODS does.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rodrunner.sandbox.catalog import GOOD, INTERMEDIATE, RESOURCE, STALE, now_ts, split_path
from rodrunner.sandbox.colls import (
    in_trash,
    is_collection,
    is_data_object,
    logical_path,
    make_collection,
    rename_collection,
    trash_path,
)
from rodrunner.sandbox.dispatch import Context, Reply, Request, api
from rodrunner.sandbox.protocol import SandboxError, codes, json_buf, pack
from rodrunner.sandbox.replicas import SYS_RESC_DOES_NOT_EXIST, vault_of
from rodrunner.sandbox.vault import Vault, format_checksum, new_hasher, scheme_of

O_WRONLY, O_RDWR, O_CREAT, O_TRUNC = 1, 2, 64, 512
CHECKSUM_KWS = ("regChksum", "verifyChksum", "chksum")


@dataclass
class OpenReplica:
    """A replica open for writing, shared by the descriptors that carry its token."""

    token: str
    data_id: int
    path: str
    hasher: Any | None = None  # running hash of the bytes [0, hashed), in order from offset 0
    hashed: int = 0  # writes past it are hashed from the file at close; writes before it void it
    writers: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    vault: Vault | None = None  # its resource's vault (None: the server's, demoResc)


@dataclass
class Descriptor:
    """One open data object of one connection (an L1 descriptor)."""

    fd: int
    os_fd: int
    data_id: int
    path: str
    write: bool
    options: dict[str, str]
    open_flags: int
    replica: OpenReplica | None = None
    primary: bool = False
    pos: int = 0


def _add(ctx: Context, desc: Descriptor) -> int:
    fd = 3
    while fd in ctx.descriptors:
        fd += 1
    desc.fd = fd
    ctx.descriptors[fd] = desc
    return fd


def _get(ctx: Context, fd: int) -> Descriptor:
    desc = ctx.descriptors.get(fd)
    if desc is None:
        raise SandboxError(codes.SYS_FILE_DESC_OUT_OF_RANGE, f"no open data object {fd}")
    assert isinstance(desc, Descriptor)
    return desc


def _register(ctx: Context, replica: OpenReplica) -> None:
    with ctx.server.replicas_lock:
        ctx.server.open_replicas[replica.token] = replica


def _unregister(ctx: Context, replica: OpenReplica) -> None:
    with ctx.server.replicas_lock:
        ctx.server.open_replicas.pop(replica.token, None)


def _being_written(ctx: Context, data_id: int) -> bool:
    with ctx.server.replicas_lock:
        return any(r.data_id == data_id for r in ctx.server.open_replicas.values())


def target_resource(ctx: Context, options: dict[str, str]) -> str:
    """Where a new object goes: ``destRescName``, else ``demoResc``; an unknown one is
    SYS_RESC_DOES_NOT_EXIST, as in iRODS."""
    name = options.get("destRescName") or RESOURCE
    if not ctx.catalog.query("SELECT 1 FROM resources WHERE resc_name = ?", (name,)):
        raise SandboxError(SYS_RESC_DOES_NOT_EXIST, f"no resource {name!r}")
    return name


def _open(ctx: Context, req: Request, *, create_api: bool) -> Reply:
    node = req.node
    path = logical_path(ctx, node.str("objPath"))
    flags = node.int("openFlags")
    options = node.kvp()
    if create_api:
        flags = O_RDWR | O_CREAT | O_TRUNC
    write = bool(flags & (O_WRONLY | O_RDWR))
    token = options.get("replicaToken")
    if write and token:
        with ctx.server.replicas_lock:
            replica = ctx.server.open_replicas.get(token)
        if replica is None or replica.path != path:
            raise SandboxError(codes.SYS_REPLICA_INACCESSIBLE, f"no open replica for {path}")
        with replica.lock:
            replica.writers += 1
        os_fd = (replica.vault or ctx.vault).open(replica.data_id, write=True)
        desc = Descriptor(0, os_fd, replica.data_id, path, True, options, flags, replica)
        return Reply(int_info=_add(ctx, desc))

    truncate = False
    ts = now_ts()
    resource = target_resource(ctx, options)
    with ctx.catalog.tx() as db:
        parent, name = split_path(path)
        row = db.execute(
            "SELECT data_id, resc_name FROM data JOIN colls USING (coll_id) "
            "WHERE coll_name = ? AND data_name = ? AND data_repl_num = 0",
            (parent, name),
        ).fetchone()
        if row is None:
            if is_collection(db, path):
                raise SandboxError(codes.CAT_NAME_EXISTS_AS_COLLECTION, path)
            if not (write and flags & O_CREAT):
                raise SandboxError(codes.OBJ_PATH_DOES_NOT_EXIST, f"no data object {path}")
            coll = db.execute("SELECT coll_id FROM colls WHERE coll_name = ?", (parent,)).fetchone()
            if coll is None:
                raise SandboxError(codes.CAT_UNKNOWN_COLLECTION, f"no collection {parent}")
            data_id = ctx.catalog.new_id()
            db.execute(
                "INSERT INTO data (data_id, coll_id, data_name, data_repl_num, data_type_name,"
                " data_size, resc_name, resc_hier, resc_id, data_path, data_owner_name,"
                " data_owner_zone, data_is_dirty, data_mode, create_ts, modify_ts, access_ts)"
                " VALUES (?, ?, ?, 0, ?, 0, ?, ?, ?, ?, ?, ?, ?, '0', ?, ?, ?)",
                (
                    data_id,
                    coll["coll_id"],
                    name,
                    options.get("dataType", "generic"),
                    resource,
                    resource,
                    ctx.catalog.resource_id(resource),
                    str(vault_of(ctx, resource).path_for(data_id)),
                    ctx.user,
                    ctx.zone,
                    INTERMEDIATE,
                    ts,
                    ts,
                    ts,
                ),
            )
            truncate = True
        else:
            data_id = int(row["data_id"])
            resource = str(row["resc_name"])
            if write:
                if create_api and "forceFlag" not in options:
                    raise SandboxError(codes.OVERWRITE_WITHOUT_FORCE_FLAG, path)
                if _being_written(ctx, data_id):
                    raise SandboxError(
                        codes.SYS_REPLICA_INACCESSIBLE, f"{path} is being written by another client"
                    )
                truncate = bool(flags & O_TRUNC)
                db.execute(
                    "UPDATE data SET data_is_dirty = ?, data_checksum = '', modify_ts = ?,"
                    " data_size = CASE WHEN ? THEN 0 ELSE data_size END WHERE data_id = ?"
                    " AND data_repl_num = 0",
                    (INTERMEDIATE, ts, truncate, data_id),
                )
    vault = vault_of(ctx, resource)
    os_fd = vault.open(data_id, write=write, truncate=truncate)
    desc = Descriptor(0, os_fd, data_id, path, write, options, flags)
    if write:
        replica = OpenReplica(uuid.uuid4().hex, data_id, path, writers=1, vault=vault)
        if truncate and any(k in options for k in CHECKSUM_KWS):
            scheme = scheme_of(options.get("chksum", ""), ctx.vault.hash_scheme)
            replica.hasher = new_hasher(scheme)
        desc.replica, desc.primary = replica, True
        _register(ctx, replica)
    return Reply(int_info=_add(ctx, desc))


@api(602)
def data_obj_open(ctx: Context, req: Request) -> Reply:
    """DATA_OBJ_OPEN_AN: open (and with O_CREAT create) a data object; intInfo = descriptor."""
    return _open(ctx, req, create_api=False)


@api(601)
def data_obj_create(ctx: Context, req: Request) -> Reply:
    """DATA_OBJ_CREATE_AN: create a data object (an existing one only with ``forceFlag``)."""
    return _open(ctx, req, create_api=True)


@api(674)
def data_obj_lseek(ctx: Context, req: Request) -> Reply:
    """DATA_OBJ_LSEEK_AN: move a descriptor's position; replies fileLseekOut_PI."""
    node = req.node
    desc = _get(ctx, node.int("l1descInx"))
    whence, offset = node.int("whence"), node.int("offset")
    if whence == os.SEEK_SET:
        pos = offset
    elif whence == os.SEEK_CUR:
        pos = desc.pos + offset
    elif whence == os.SEEK_END:
        pos = os.fstat(desc.os_fd).st_size + offset
    else:
        raise SandboxError(codes.SYS_INVALID_INPUT_PARAM, f"whence {whence}")
    if pos < 0:
        raise SandboxError(codes.SYS_INVALID_INPUT_PARAM, f"negative offset {pos}")
    desc.pos = pos
    return Reply(msg=pack("fileLseekOut_PI", [("offset", pos)]))


@api(676)
def data_obj_write(ctx: Context, req: Request) -> Reply:
    """DATA_OBJ_WRITE_AN: write the byte stream at the descriptor's position."""
    desc = _get(ctx, req.node.int("l1descInx"))
    if not desc.write:
        raise SandboxError(codes.SYS_NOT_ALLOWED, f"{desc.path} is open for reading only")
    data = req.bs if req.bs is not None else memoryview(b"")
    done = 0
    while done < len(data):
        done += os.pwrite(desc.os_fd, data[done:], desc.pos + done)
    replica = desc.replica
    if replica is not None and replica.hasher is not None:
        with replica.lock:
            if replica.hasher is not None:
                if desc.pos == replica.hashed:
                    replica.hasher.update(data)
                    replica.hashed += len(data)
                elif desc.pos < replica.hashed:
                    replica.hasher = None  # rewrites hashed bytes: hash the file at close
    desc.pos += len(data)
    return Reply(int_info=len(data))


@api(675)
def data_obj_read(ctx: Context, req: Request) -> Reply:
    """DATA_OBJ_READ_AN: read up to ``len`` bytes; intInfo = count, bytes in bs."""
    node = req.node
    desc = _get(ctx, node.int("l1descInx"))
    data = os.pread(desc.os_fd, max(0, node.int("len")), desc.pos)
    desc.pos += len(data)
    return Reply(int_info=len(data), bs=data)


def _finalize(ctx: Context, desc: Descriptor, options: dict[str, str]) -> None:
    """Make the replica good: size, status and (if asked) the checksum."""
    replica = desc.replica
    assert replica is not None
    vault = replica.vault or ctx.vault
    try:
        size = vault.size(desc.data_id)
        checksum = ""
        if any(k in options for k in CHECKSUM_KWS):
            given = options.get("chksum", "")
            scheme = scheme_of(given, ctx.vault.hash_scheme)
            with replica.lock:
                hasher, hashed = replica.hasher, replica.hashed
            if hasher is not None and hashed <= size:
                # a parallel put's later ranges arrived before the prefix: read only those
                vault.hash_tail(desc.data_id, hasher, hashed)
                checksum = format_checksum(hasher, scheme)
            else:
                checksum = vault.checksum(desc.data_id, scheme)
            if given and given != checksum:
                _set_status(ctx, desc.data_id, STALE, size, checksum)
                raise SandboxError(
                    codes.USER_CHKSUM_MISMATCH,
                    f"checksum of {desc.path} is {checksum}, the client said {given}",
                )
        _set_status(ctx, desc.data_id, GOOD, size, checksum)
    finally:
        _unregister(ctx, replica)


def _set_status(ctx: Context, data_id: int, status: int, size: int, checksum: str) -> None:
    """Replica 0 was written: its new state; every other replica is now stale (as in iRODS)."""
    with ctx.catalog.tx() as db:
        db.execute(
            "UPDATE data SET data_is_dirty = ?, data_size = ?, data_checksum = ?, modify_ts = ?"
            " WHERE data_id = ? AND data_repl_num = 0",
            (status, size, checksum, now_ts(), data_id),
        )
        db.execute(
            "UPDATE data SET data_is_dirty = ? WHERE data_id = ? AND data_repl_num <> 0",
            (STALE, data_id),
        )


def _close(ctx: Context, fd: int, options: dict[str, str], *, finalize: bool) -> None:
    desc = _get(ctx, fd)
    del ctx.descriptors[fd]
    os.close(desc.os_fd)
    if not desc.write or desc.replica is None:
        return
    with desc.replica.lock:
        desc.replica.writers -= 1
    if desc.primary and finalize:
        _finalize(ctx, desc, {**desc.options, **options})


@api(673)
def data_obj_close(ctx: Context, req: Request) -> Reply:
    """DATA_OBJ_CLOSE_AN: close a descriptor; the creating one finalises the replica."""
    node = req.node
    _close(ctx, node.int("l1descInx"), node.kvp(), finalize=True)
    return Reply()


@api(20004)
def replica_close(ctx: Context, req: Request) -> Reply:
    """REPLICA_CLOSE_APN: close a descriptor, finalising only when asked to."""
    body = req.json
    if not isinstance(body, dict) or "fd" not in body:
        raise SandboxError(codes.SYS_API_INPUT_ERR, "replica close needs {'fd': n}")
    extra = {"regChksum": ""} if body.get("compute_checksum") else {}
    finalize = bool(body.get("update_status") or body.get("update_size"))
    _close(ctx, int(body["fd"]), extra, finalize=finalize)
    return Reply()


@api(20000)
def get_file_descriptor_info(ctx: Context, req: Request) -> Reply:
    """GET_FILE_DESCRIPTOR_INFO_APN: what a descriptor refers to, with its replica token."""
    body = req.json
    if not isinstance(body, dict) or "fd" not in body:
        raise SandboxError(codes.SYS_API_INPUT_ERR, "file descriptor info needs {'fd': n}")
    desc = _get(ctx, int(body["fd"]))
    rows = ctx.catalog.query("SELECT * FROM data WHERE data_id = ?", (desc.data_id,))
    if not rows:
        raise SandboxError(codes.OBJ_PATH_DOES_NOT_EXIST, f"no data object {desc.path}")
    row = rows[0]
    token = desc.replica.token if desc.replica is not None else uuid.uuid4().hex
    info = {
        "checksum": row["data_checksum"],
        "collection_id": row["coll_id"],
        "data_create": row["create_ts"],
        "data_expiry": row["data_expiry_ts"],
        "data_id": row["data_id"],
        "data_mode": row["data_mode"],
        "data_modify": row["modify_ts"],
        "data_owner_name": row["data_owner_name"],
        "data_owner_zone": row["data_owner_zone"],
        "data_size": row["data_size"],
        "data_type": row["data_type_name"],
        "file_path": row["data_path"],
        "object_path": desc.path,
        "replica_number": row["data_repl_num"],
        "replica_status": row["data_is_dirty"],
        "resource_hierarchy": row["resc_hier"],
        "resource_id": row["resc_id"],
        "resource_name": row["resc_name"],
        "version": row["data_version"],
    }
    answer = {
        "bytes_written": -1,
        "data_object_info": info,
        "data_object_input": {
            "condition_input": [{"key": k, "value": v} for k, v in desc.options.items()],
            "object_path": desc.path,
            "open_flags": desc.open_flags,
        },
        "data_size": row["data_size"],
        "in_use": True,
        "l3descInx": desc.fd,
        "open_type": 1 if desc.write else 0,
        "replica_status": row["data_is_dirty"],
        "replica_token": token,
    }
    return Reply(msg=json_buf(answer))


def abandon_descriptors(ctx: Context) -> None:
    """Close what a vanished connection left open; its unfinished replicas become stale."""
    for fd in list(ctx.descriptors):
        desc = ctx.descriptors.pop(fd)
        with contextlib.suppress(OSError):
            os.close(desc.os_fd)
        if desc.write and desc.replica is not None:
            with desc.replica.lock:
                desc.replica.writers -= 1
            if desc.primary:
                vault = desc.replica.vault or ctx.vault
                _set_status(ctx, desc.data_id, STALE, vault.size(desc.data_id), "")
                _unregister(ctx, desc.replica)


def _delete_data(ctx: Context, data_id: int) -> None:
    with ctx.catalog.tx() as db:
        others = db.execute(  # replicas on other resources (replicas.py)
            "SELECT data_path FROM data WHERE data_id = ? AND resc_name <> ?", (data_id, RESOURCE)
        ).fetchall()
        db.execute("DELETE FROM data WHERE data_id = ?", (data_id,))
        db.execute("DELETE FROM objt_meta WHERE object_id = ?", (data_id,))
    ctx.vault.remove(data_id)
    for row in others:
        Path(row["data_path"]).unlink(missing_ok=True)


def _move_data(ctx: Context, data_id: int, dst: str) -> None:
    with ctx.catalog.tx() as db:
        if is_data_object(db, dst):
            raise SandboxError(codes.CAT_NAME_EXISTS_AS_DATAOBJ, dst)
        if is_collection(db, dst):
            raise SandboxError(codes.CAT_NAME_EXISTS_AS_COLLECTION, dst)
        parent, name = split_path(dst)
        coll = db.execute("SELECT coll_id FROM colls WHERE coll_name = ?", (parent,)).fetchone()
        if coll is None:
            raise SandboxError(codes.CAT_UNKNOWN_COLLECTION, f"no collection {parent}")
        db.execute(
            "UPDATE data SET coll_id = ?, data_name = ? WHERE data_id = ?",
            (coll["coll_id"], name, data_id),
        )


def _data_id(ctx: Context, path: str) -> int:
    row = ctx.catalog.data_by_path(path)
    if row is None:
        raise SandboxError(codes.OBJ_PATH_DOES_NOT_EXIST, f"no data object {path}")
    return int(row["data_id"])


@api(615)
def data_obj_unlink(ctx: Context, req: Request) -> Reply:
    """DATA_OBJ_UNLINK_AN: delete a data object (to the trash unless ``forceFlag``)."""
    node = req.node
    path = logical_path(ctx, node.str("objPath"))
    options = node.kvp()
    data_id = _data_id(ctx, path)
    if _being_written(ctx, data_id):
        raise SandboxError(codes.SYS_REPLICA_INACCESSIBLE, f"{path} is being written")
    if "forceFlag" in options or in_trash(ctx, path) or node.int("oprType") == 26:
        _delete_data(ctx, data_id)
    else:
        target = trash_path(ctx, path)
        make_collection(ctx, split_path(target)[0], recursive=True)
        _move_data(ctx, data_id, target)
    return Reply()


@api(627)
def data_obj_rename(ctx: Context, req: Request) -> Reply:
    """DATA_OBJ_RENAME_AN: rename/move a data object or a collection."""
    node = req.node
    parts = node.findall("DataObjInp_PI")  # the client packs both under their struct name
    if len(parts) != 2:
        raise SandboxError(codes.SYS_API_INPUT_ERR, "rename needs a source and a destination")
    src_node, dst_node = parts
    src = logical_path(ctx, src_node.str("objPath"))
    dst = logical_path(ctx, dst_node.str("objPath"))
    with ctx.catalog.tx() as db:
        if is_data_object(db, src):
            _move_data(ctx, _data_id(ctx, src), dst)
        elif is_collection(db, src):
            rename_collection(ctx, src, dst)
        elif src_node.int("oprType") == 12:
            raise SandboxError(codes.CAT_UNKNOWN_COLLECTION, f"no collection {src}")
        else:
            raise SandboxError(codes.OBJ_PATH_DOES_NOT_EXIST, f"no data object {src}")
    return Reply()

"""Data-object I/O APIs of the sandbox: open/create, read/write/lseek/close and the
parallel-transfer APIs (20000 file descriptor info, 20004 replica close).

The descriptors and the replicas being written are kept in ``descriptors.py``; unlink and
rename in ``namespace.py``; checksums in ``checksums.py`` and replication in ``replicas.py``.
"""

from __future__ import annotations

import os
import uuid

from rodrunner.sandbox.catalog import INTERMEDIATE, now_ts, split_path
from rodrunner.sandbox.colls import is_collection, logical_path
from rodrunner.sandbox.descriptors import (
    CHECKSUM_KWS,
    Descriptor,
    OpenReplica,
    add_descriptor,
    being_written,
    close_descriptor,
    get_descriptor,
    register,
)
from rodrunner.sandbox.dispatch import Context, Reply, Request, api
from rodrunner.sandbox.protocol import SandboxError, codes, json_buf, pack
from rodrunner.sandbox.resources import target_resource, vault_of
from rodrunner.sandbox.vault import new_hasher, scheme_of

O_WRONLY, O_RDWR, O_CREAT, O_TRUNC = 1, 2, 64, 512


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
        return Reply(int_info=add_descriptor(ctx, desc))

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
                if being_written(ctx, data_id):
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
        register(ctx, replica)
    return Reply(int_info=add_descriptor(ctx, desc))


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
    desc = get_descriptor(ctx, node.int("l1descInx"))
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
    desc = get_descriptor(ctx, req.node.int("l1descInx"))
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
    desc = get_descriptor(ctx, node.int("l1descInx"))
    data = os.pread(desc.os_fd, max(0, node.int("len")), desc.pos)
    desc.pos += len(data)
    return Reply(int_info=len(data), bs=data)


@api(673)
def data_objclose_descriptor(ctx: Context, req: Request) -> Reply:
    """DATA_OBJ_CLOSE_AN: close a descriptor; the creating one finalises the replica."""
    node = req.node
    close_descriptor(ctx, node.int("l1descInx"), node.kvp(), finalize=True)
    return Reply()


@api(20004)
def replicaclose_descriptor(ctx: Context, req: Request) -> Reply:
    """REPLICA_CLOSE_APN: close a descriptor, finalising only when asked to."""
    body = req.json
    if not isinstance(body, dict) or "fd" not in body:
        raise SandboxError(codes.SYS_API_INPUT_ERR, "replica close needs {'fd': n}")
    extra = {"regChksum": ""} if body.get("compute_checksum") else {}
    finalize = bool(body.get("update_status") or body.get("update_size"))
    close_descriptor(ctx, int(body["fd"]), extra, finalize=finalize)
    return Reply()


@api(20000)
def get_file_descriptor_info(ctx: Context, req: Request) -> Reply:
    """GET_FILE_DESCRIPTOR_INFO_APN: what a descriptor refers to, with its replica token."""
    body = req.json
    if not isinstance(body, dict) or "fd" not in body:
        raise SandboxError(codes.SYS_API_INPUT_ERR, "file descriptor info needs {'fd': n}")
    desc = get_descriptor(ctx, int(body["fd"]))
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

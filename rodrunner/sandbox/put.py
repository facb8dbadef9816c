"""DATA_OBJ_PUT_AN (606) with the bytes included: the single-round-trip put of small files.

A real iRODS server (4.2 to 5.x) answers ``DATA_OBJ_PUT`` carrying the ``dataIncluded``
keyword with a "single buffer put": it creates (or, with ``forceFlag``, truncates) the object,
writes the request's byte stream, registers the checksum when asked (``regChksum``,
``verifyChksum`` with ``chksum``) and finalises the replica, all in one API call; iCommands use
it for files up to 32 MiB. The sandbox does the same: the replica is intermediate while the
bytes go to the vault, then good with its size and checksum. The portal (parallel) form of
``DATA_OBJ_PUT`` (no ``dataIncluded``) is not served: clients use open/write/close for that.
"""

from __future__ import annotations

import uuid

from rodrunner.sandbox.catalog import GOOD, INTERMEDIATE, STALE, now_ts, split_path
from rodrunner.sandbox.colls import logical_path
from rodrunner.sandbox.descriptors import (
    CHECKSUM_KWS,
    OpenReplica,
    being_written,
    register,
    set_status,
    unregister,
)
from rodrunner.sandbox.dispatch import Context, Reply, Request, api
from rodrunner.sandbox.protocol import SandboxError, codes
from rodrunner.sandbox.resources import target_resource, vault_of
from rodrunner.sandbox.vault import format_checksum, new_hasher, scheme_of

MAX_SINGLE_BUFFER = 32 * 1024 * 1024  # MAX_SZ_FOR_SINGLE_BUF of the iRODS server
SYS_COPY_LEN_ERR = -27000  # the bytes stored differ from the declared dataSize


@api(606)
def data_obj_put(ctx: Context, req: Request) -> Reply:
    """DATA_OBJ_PUT_AN with ``dataIncluded``: create/overwrite, write, checksum, finalise."""
    node = req.node
    options = node.kvp()
    if "dataIncluded" not in options:
        raise SandboxError(
            codes.SYS_NOT_SUPPORTED,
            "the sandbox serves DATA_OBJ_PUT only with the bytes included (dataIncluded); "
            "send larger files with open/write/close",
        )
    path = logical_path(ctx, node.str("objPath"))
    data = req.bs if req.bs is not None else memoryview(b"")
    declared = node.int("dataSize")
    if declared > 0 and declared != len(data):  # finalize_replica's size check (4.3, 5.0)
        raise SandboxError(
            SYS_COPY_LEN_ERR,
            f"{path}: dataSize says {declared} bytes, the request carries {len(data)}",
        )
    if len(data) > MAX_SINGLE_BUFFER:
        raise SandboxError(
            codes.SYS_INVALID_INPUT_PARAM,
            f"{path}: {len(data)} bytes is more than a single-buffer put takes",
        )
    checksum = ""
    if any(k in options for k in CHECKSUM_KWS):
        given = options.get("chksum", "")
        scheme = scheme_of(given, ctx.vault.hash_scheme)
        hasher = new_hasher(scheme)
        hasher.update(data)
        checksum = format_checksum(hasher, scheme)
        if given and given != checksum:
            mismatch = f"checksum of {path} is {checksum}, the client said {given}"
            return _finish(ctx, path, data, options, checksum, STALE, mismatch)
    return _finish(ctx, path, data, options, checksum, GOOD, "")


def _finish(
    ctx: Context,
    path: str,
    data: memoryview,
    options: dict[str, str],
    checksum: str,
    status: int,
    mismatch: str,
) -> Reply:
    """Store the bytes and the replica row; a new object takes one catalog transaction.

    The bytes go to a fresh vault file first; the row (already final) is inserted only if
    nothing is at ``path`` yet, else the file is dropped and the existing object is
    overwritten in two steps (intermediate while its bytes change, then final).
    """
    parent, name = split_path(path)
    catalog = ctx.catalog
    resource = target_resource(ctx, options)
    vault = vault_of(ctx, resource)
    data_id = catalog.new_id()
    vault.write(data_id, data)
    ts = now_ts()
    with catalog.tx() as db:
        parent_id, existing, is_coll = db.execute(
            "SELECT (SELECT coll_id FROM colls WHERE coll_name = ?),"
            " (SELECT data_id FROM data JOIN colls USING (coll_id)"
            "  WHERE coll_name = ? AND data_name = ? AND data_repl_num = 0),"
            " EXISTS (SELECT 1 FROM colls WHERE coll_name = ?)",
            (parent, parent, name, path),
        ).fetchone()
        inserted = existing is None and not is_coll and parent_id is not None
        if inserted:
            db.execute(
                "INSERT INTO data (data_id, coll_id, data_name, data_repl_num, data_type_name,"
                " data_size, resc_name, resc_hier, resc_id, data_path, data_owner_name,"
                " data_owner_zone, data_is_dirty, data_checksum, data_mode, create_ts,"
                " modify_ts, access_ts)"
                " VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '0', ?, ?, ?)",
                (
                    data_id,
                    parent_id,
                    name,
                    options.get("dataType", "generic"),
                    len(data),
                    resource,
                    resource,
                    catalog.resource_id(resource),
                    str(vault.path_for(data_id)),
                    ctx.user,
                    ctx.zone,
                    status,
                    checksum,
                    ts,
                    ts,
                    ts,
                ),
            )
    if inserted:
        if mismatch:
            raise SandboxError(codes.USER_CHKSUM_MISMATCH, mismatch)
        return Reply()
    vault.remove(data_id)
    if is_coll:
        raise SandboxError(codes.CAT_NAME_EXISTS_AS_COLLECTION, path)
    if parent_id is None:
        raise SandboxError(codes.CAT_UNKNOWN_COLLECTION, f"no collection {parent}")
    _overwrite(ctx, path, int(existing), data, options, checksum, status)
    if mismatch:
        raise SandboxError(codes.USER_CHKSUM_MISMATCH, mismatch)
    return Reply()


def _overwrite(
    ctx: Context,
    path: str,
    data_id: int,
    data: memoryview,
    options: dict[str, str],
    checksum: str,
    status: int,
) -> None:
    """Replace the bytes of an existing object (``forceFlag`` required), as iRODS does."""
    if "forceFlag" not in options:
        raise SandboxError(codes.OVERWRITE_WITHOUT_FORCE_FLAG, path)
    with ctx.catalog.tx() as db:
        row = db.execute(
            "SELECT resc_name FROM data WHERE data_id = ? AND data_repl_num = 0", (data_id,)
        ).fetchone()
        vault = vault_of(ctx, str(row["resc_name"]))
        if being_written(ctx, data_id):
            raise SandboxError(
                codes.SYS_REPLICA_INACCESSIBLE, f"{path} is being written by another client"
            )
        db.execute(
            "UPDATE data SET data_is_dirty = ?, data_checksum = '', data_size = 0,"
            " modify_ts = ? WHERE data_id = ? AND data_repl_num = 0",
            (INTERMEDIATE, now_ts(), data_id),
        )
        replica = OpenReplica(uuid.uuid4().hex, data_id, path, vault=vault)
        register(ctx, replica)
    try:
        try:
            vault.write(data_id, data)
        except OSError:
            set_status(ctx, data_id, STALE, vault.size(data_id), "")
            raise
        set_status(ctx, data_id, status, len(data), checksum)
    finally:
        unregister(ctx, replica)

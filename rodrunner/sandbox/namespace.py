"""Data objects in the sandbox's namespace: unlink (615) and rename (627).

Unlink without ``forceFlag`` moves the object into ``/<zone>/trash/...`` as iRODS does (an
object in the trash, or ``oprType`` 26, is deleted for good, with every replica's file). A data
object being written cannot be unlinked. Rename serves data objects and collections, as the
one iRODS API does (collections through ``colls.rename_collection``).
"""

from __future__ import annotations

from pathlib import Path

from rodrunner.sandbox.catalog import RESOURCE, split_path
from rodrunner.sandbox.colls import (
    in_trash,
    is_collection,
    is_data_object,
    logical_path,
    make_collection,
    rename_collection,
    trash_path,
)
from rodrunner.sandbox.descriptors import being_written
from rodrunner.sandbox.dispatch import Context, Reply, Request, api
from rodrunner.sandbox.protocol import SandboxError, codes


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
    if being_written(ctx, data_id):
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

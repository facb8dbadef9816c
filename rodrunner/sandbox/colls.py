"""Collection APIs of the sandbox (create 681, remove 679) and the logical-path rules.

Rename of collections and data objects (627) lives in ``namespace.py`` because one API
serves both. Removing without ``forceFlag`` moves into ``/<zone>/trash/...`` as iRODS does.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

from rodrunner.sandbox.catalog import RESOURCE, now_ts, parent_of, split_path
from rodrunner.sandbox.dispatch import Context, Reply, Request, api
from rodrunner.sandbox.protocol import SandboxError, codes


def logical_path(ctx: Context, raw: str) -> str:
    """Normalise an absolute logical path of this zone, or refuse it (USER_INPUT_PATH_ERR)."""
    if not raw.startswith("/"):
        raise SandboxError(codes.USER_INPUT_PATH_ERR, f"path {raw!r} is not absolute")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise SandboxError(codes.USER_INPUT_PATH_ERR, f"path {raw!r} contains '..'")
    if not parts or parts[0] != ctx.server.settings.zone:
        raise SandboxError(codes.USER_INPUT_PATH_ERR, f"path {raw!r} is not in zone {ctx.zone}")
    return "/" + "/".join(parts)


def is_data_object(db: sqlite3.Connection, path: str) -> bool:
    """Whether a data object exists at ``path``."""
    parent, name = split_path(path)
    row = db.execute(
        "SELECT 1 FROM data JOIN colls USING (coll_id) WHERE coll_name = ? AND data_name = ?",
        (parent, name),
    ).fetchone()
    return row is not None


def is_collection(db: sqlite3.Connection, path: str) -> bool:
    """Whether a collection exists at ``path``."""
    return db.execute("SELECT 1 FROM colls WHERE coll_name = ?", (path,)).fetchone() is not None


def make_collection(ctx: Context, path: str, *, recursive: bool) -> None:
    """Create ``path`` (and its missing parents when ``recursive``)."""
    with ctx.catalog.tx() as db:
        if is_collection(db, path):
            if recursive:
                return
            raise SandboxError(codes.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, path)
        if is_data_object(db, path):
            raise SandboxError(codes.CAT_NAME_EXISTS_AS_DATAOBJ, path)
        parent = parent_of(path)
        if not is_collection(db, parent):
            if not recursive:
                raise SandboxError(codes.CAT_UNKNOWN_COLLECTION, f"no collection {parent}")
            make_collection(ctx, parent, recursive=True)
        ctx.catalog.add_coll(path, ctx.user)


def trash_path(ctx: Context, path: str) -> str:
    """Where ``path`` goes when removed without force (unique within the trash)."""
    zone = f"/{ctx.server.settings.zone}"
    rest = path[len(zone) :]
    target = f"{zone}/trash{rest}"
    with ctx.catalog.tx() as db:
        while is_collection(db, target) or is_data_object(db, target):
            target = f"{zone}/trash{rest}.{secrets.randbelow(10**10)}"
    return target


def in_trash(ctx: Context, path: str) -> bool:
    """Whether ``path`` already lies in the zone's trash."""
    return path.startswith(f"/{ctx.server.settings.zone}/trash/")


def rename_collection(ctx: Context, src: str, dst: str) -> None:
    """Rename a collection and everything below it (catalog only)."""
    with ctx.catalog.tx() as db:
        if is_collection(db, dst):
            raise SandboxError(codes.CAT_NAME_EXISTS_AS_COLLECTION, dst)
        if is_data_object(db, dst):
            raise SandboxError(codes.CAT_NAME_EXISTS_AS_DATAOBJ, dst)
        if dst.startswith(src + "/"):
            raise SandboxError(codes.SYS_INVALID_INPUT_PARAM, f"cannot move {src} into itself")
        if not is_collection(db, parent_of(dst)):
            raise SandboxError(codes.CAT_UNKNOWN_COLLECTION, f"no collection {parent_of(dst)}")
        ts = now_ts()
        n = len(src)
        db.execute(
            "UPDATE colls SET coll_name = ?, parent_coll_name = ?, modify_ts = ?"
            " WHERE coll_name = ?",
            (dst, parent_of(dst), ts, src),
        )
        below = db.execute(
            "SELECT coll_id, coll_name, parent_coll_name FROM colls"
            " WHERE coll_name LIKE ? ESCAPE '\\'",
            (_like_prefix(src),),
        ).fetchall()
        for row in below:
            db.execute(
                "UPDATE colls SET coll_name = ?, parent_coll_name = ? WHERE coll_id = ?",
                (dst + row["coll_name"][n:], dst + row["parent_coll_name"][n:], row["coll_id"]),
            )


def _like_prefix(path: str) -> str:
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "/%"


def delete_collection(ctx: Context, path: str) -> None:
    """Delete a collection, its sub-collections, data objects, files and AVU links."""
    with ctx.catalog.tx() as db:
        colls = db.execute(
            "SELECT coll_id FROM colls WHERE coll_name = ? OR coll_name LIKE ? ESCAPE '\\'",
            (path, _like_prefix(path)),
        ).fetchall()
        coll_ids = [r["coll_id"] for r in colls]
        data_ids: list[int] = []
        others: list[str] = []  # replica files on other resources (replicas.py)
        for coll_id in coll_ids:
            for r in db.execute(
                "SELECT data_id, resc_name, data_path FROM data WHERE coll_id = ?", (coll_id,)
            ):
                if r["data_id"] not in data_ids:  # its AVUs go, wherever its replicas are
                    data_ids.append(r["data_id"])
                if r["resc_name"] != RESOURCE:
                    others.append(r["data_path"])
            db.execute("DELETE FROM data WHERE coll_id = ?", (coll_id,))
            db.execute("DELETE FROM colls WHERE coll_id = ?", (coll_id,))
        for object_id in coll_ids + data_ids:
            db.execute("DELETE FROM objt_meta WHERE object_id = ?", (object_id,))
    for data_id in data_ids:
        ctx.vault.remove(data_id)
    for file in others:
        Path(file).unlink(missing_ok=True)


@api(681)
def coll_create(ctx: Context, req: Request) -> Reply:
    """COLL_CREATE_AN: create a collection (``recursiveOpr`` creates the parents)."""
    node = req.node
    path = logical_path(ctx, node.str("collName"))
    make_collection(ctx, path, recursive="recursiveOpr" in node.kvp())
    return Reply()


@api(679)
def coll_remove(ctx: Context, req: Request) -> Reply:
    """RM_COLL_AN: remove a collection (to the trash unless ``forceFlag``)."""
    node = req.node
    options = node.kvp()
    path = logical_path(ctx, node.str("collName"))
    recursive = "recursiveOpr" in options
    with ctx.catalog.tx() as db:
        if not is_collection(db, path):
            raise SandboxError(codes.CAT_UNKNOWN_COLLECTION, f"no collection {path}")
        trash_home = f"/{ctx.server.settings.zone}/trash/home/"
        if path.count("/") <= 3 or (path.startswith(trash_home) and path.count("/") == 4):
            raise SandboxError(codes.SYS_NOT_ALLOWED, f"the sandbox will not remove {path}")
        coll_id = db.execute("SELECT coll_id FROM colls WHERE coll_name = ?", (path,)).fetchone()[0]
        has_children = db.execute(
            "SELECT 1 FROM colls WHERE parent_coll_name = ? AND coll_name != ? "
            "UNION ALL SELECT 1 FROM data WHERE coll_id = ? LIMIT 1",
            (path, path, coll_id),
        ).fetchone()
        if has_children and not recursive:
            raise SandboxError(codes.CAT_COLLECTION_NOT_EMPTY, f"collection {path} is not empty")
        if "forceFlag" in options or in_trash(ctx, path):
            delete_collection(ctx, path)
        else:
            target = trash_path(ctx, path)
            make_collection(ctx, parent_of(target), recursive=True)
            rename_collection(ctx, path, target)
    return Reply()

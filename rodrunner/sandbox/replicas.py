"""Replicas in the sandbox: the catalog's rows of a data object, the checksum of a replica's
stored bytes, and replication, answered as iRODS 5.0 does.

``DATA_OBJ_REPL_AN`` 695 (``destRescName``): a copy of a good replica on another resource,
good, with the source's checksum; replies ``TransferStat_PI``. A good replica already there
is left alone; a stale one is brought up to date.

Each replica's bytes live in its resource's vault under the same data id
(:func:`rodrunner.sandbox.resources.vault_of`). The checksum string the catalog stores is made
in one place, :func:`replica_checksum`; the checksum API is in ``checksums.py``.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from rodrunner.sandbox.catalog import GOOD, RESOURCE, now_ts, split_path
from rodrunner.sandbox.colls import logical_path
from rodrunner.sandbox.dispatch import Context, Reply, Request, api
from rodrunner.sandbox.protocol import SandboxError, codes, pack
from rodrunner.sandbox.resources import SYS_RESC_DOES_NOT_EXIST, resource_exists, vault_of
from rodrunner.sandbox.vault import CHUNK, format_checksum, new_hasher

SYS_NO_GOOD_REPLICA = -166000
UNIX_FILE_OPEN_ERR = -510000
UNIX_FILE_READ_ERR = -512000


@dataclass(frozen=True)
class Replica:
    """One catalog row of a data object: which copy, where, and what the catalog says of it."""

    data_id: int
    number: int
    resource: str
    hierarchy: str
    status: int
    size: int
    checksum: str


def _replica(row: sqlite3.Row) -> Replica:
    return Replica(
        data_id=int(row["data_id"]),
        number=int(row["data_repl_num"]),
        resource=str(row["resc_name"]),
        hierarchy=str(row["resc_hier"]),
        status=int(row["data_is_dirty"]),
        size=int(row["data_size"]),
        checksum=str(row["data_checksum"] or ""),
    )


def replicas_of(ctx: Context, path: str) -> list[Replica]:
    """Every replica of data object ``path`` by number; OBJ_PATH_DOES_NOT_EXIST if none."""
    parent, name = split_path(path)
    rows = ctx.catalog.query(
        "SELECT data.* FROM data JOIN colls USING (coll_id) WHERE coll_name = ? AND data_name = ?"
        " ORDER BY data_repl_num",
        (parent, name),
    )
    if not rows:
        raise SandboxError(codes.OBJ_PATH_DOES_NOT_EXIST, f"no data object {path}")
    return [_replica(row) for row in rows]


def replica_checksum(ctx: Context, replica: Replica, scheme: str | None = None) -> str:
    """The checksum string of the replica's stored bytes, as the catalog would store it.

    Reads exactly the catalog's size (as iRODS' ``file_checksum`` does): a shorter file is
    UNIX_FILE_READ_ERR, a missing one UNIX_FILE_OPEN_ERR - ENOENT; extra bytes are not read.
    ``scheme`` defaults to the server's hash scheme (verification passes the stored one's).
    """
    scheme = scheme or ctx.vault.hash_scheme
    hasher = new_hasher(scheme)
    left = replica.size
    try:
        with vault_of(ctx, replica.resource).path_for(replica.data_id).open("rb") as f:
            while left > 0:
                chunk = f.read(min(CHUNK, left))
                if not chunk:
                    raise SandboxError(UNIX_FILE_READ_ERR)
                hasher.update(chunk)
                left -= len(chunk)
    except FileNotFoundError:
        raise SandboxError(UNIX_FILE_OPEN_ERR - errno.ENOENT) from None
    return format_checksum(hasher, scheme)


def _copy_file(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.exists():
        shutil.copyfile(src, dst)
    else:  # a zero-byte object whose file was never written
        dst.write_bytes(b"")


@api(695)
def data_obj_repl(ctx: Context, req: Request) -> Reply:
    """DATA_OBJ_REPL_AN: copy a good replica to ``destRescName``; replies TransferStat_PI."""
    node = req.node
    path = logical_path(ctx, node.str("objPath"))
    options = node.kvp()
    target = options.get("destRescName") or options.get("defRescName") or RESOURCE
    if not resource_exists(ctx, target):
        raise SandboxError(SYS_RESC_DOES_NOT_EXIST, f"no resource {target!r}")
    replicas = replicas_of(ctx, path)
    sources = [r for r in replicas if r.status == GOOD]
    if "rescName" in options:
        sources = [r for r in sources if r.resource == options["rescName"]]
    if not sources:
        raise SandboxError(SYS_NO_GOOD_REPLICA, f"{path} has no good replica to copy")
    source = sources[0]
    existing = next((r for r in replicas if r.resource == target), None)
    if existing is not None and existing.status == GOOD:
        return Reply(msg=_transfer_stat(0))
    src_path = vault_of(ctx, source.resource).path_for(source.data_id)
    dst_path = vault_of(ctx, target).path_for(source.data_id)
    _copy_file(src_path, dst_path)
    size = os.path.getsize(dst_path)
    ts = now_ts()
    with ctx.catalog.tx() as db:
        if existing is not None:
            db.execute(
                "UPDATE data SET data_is_dirty = ?, data_size = ?, data_checksum = ?, modify_ts = ?"
                " WHERE data_id = ? AND data_repl_num = ?",
                (GOOD, size, source.checksum, ts, source.data_id, existing.number),
            )
        else:
            number = max(r.number for r in replicas) + 1
            row = db.execute(
                "SELECT * FROM data WHERE data_id = ? AND data_repl_num = ?",
                (source.data_id, source.number),
            ).fetchone()
            values = dict(row)
            values.update(
                data_repl_num=number,
                resc_name=target,
                resc_hier=target,
                resc_id=ctx.catalog.resource_id(target),
                data_path=str(dst_path),
                data_is_dirty=GOOD,
                data_size=size,
                create_ts=ts,
                modify_ts=ts,
            )
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            db.execute(f"INSERT INTO data ({columns}) VALUES ({marks})", tuple(values.values()))  # noqa: S608 - column names come from the table itself
    return Reply(msg=_transfer_stat(size))


def _transfer_stat(written: int) -> bytes:
    return pack("TransferStat_PI", [("numThreads", 0), ("flags", 0), ("bytesWritten", written)])

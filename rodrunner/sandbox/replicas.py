"""Replicas in the sandbox: resources, replication and checksums, answered as iRODS 5.0 does.

- ``GENERAL_ADMIN_AN`` 701 ``add resource NAME unixfilesystem HOST:PATH`` (``iadmin mkresc``,
  through ``admin.py``): a resource whose vault is PATH. Like iRODS it answers 0 with an
  RError_PI warning (status 0) when HOST is ``localhost``.
- ``DATA_OBJ_REPL_AN`` 695 (``destRescName``): a copy of a good replica on another resource,
  good, with the source's checksum; replies ``TransferStat_PI``. A good replica already there
  is left alone; a stale one is brought up to date.
- ``DATA_OBJ_CHKSUM_AN`` 629, the five reply shapes of iRODS' ``rsDataObjChksum``:
  a plain call returns the stored checksum without reading the file (computing and storing it
  only when there is none); ``forceChksum`` stores whatever the file holds now; with
  ``ChksumAll`` every good replica, and replicas that disagree give 0, no checksum and an
  RError_PI warning (-314000); ``verifyChksum`` re-reads every good replica (or the one named by
  ``replNum``/``rescName``) and answers 0 and nothing when all is well, else
  ``CHECK_VERIFICATION_RESULTS`` (-407000) with a JSON list of ``{error_code, message,
  severity}`` and, for a content change only, an RError_PI per replica naming the computed
  and the catalog checksum. A file shorter than the catalog says cannot be checksummed
  (-512000: the server reads exactly the catalog's size).

Each replica's bytes live in its resource's vault under the same data id (``demoResc`` is the
server's vault, the others are ``Vault``s at their ``resc_def_path``). The checksum string the
catalog stores is made in one place, :func:`replica_checksum`.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rodrunner.sandbox.catalog import GOOD, RESOURCE, STALE, now_ts, split_path
from rodrunner.sandbox.colls import logical_path
from rodrunner.sandbox.dispatch import Context, Reply, Request, ServerState, api
from rodrunner.sandbox.protocol import Raw, SandboxError, codes, pack
from rodrunner.sandbox.vault import CHUNK, Vault, format_checksum, new_hasher, scheme_of

SYS_RESC_DOES_NOT_EXIST = -78000
SYS_REPLICA_DOES_NOT_EXIST = -164000
SYS_NO_GOOD_REPLICA = -166000
USER_FILE_SIZE_MISMATCH = -401000
USER_INCOMPATIBLE_PARAMS = -402000
UNIX_FILE_OPEN_ERR = -510000
UNIX_FILE_READ_ERR = -512000
UNIX_FILE_STAT_ERR = -516000
CAT_INVALID_RESOURCE_TYPE = -810000
CAT_INVALID_RESOURCE_VAULT_PATH = -813000
CAT_NO_CHECKSUM_FOR_REPLICA = -862000

_vaults: weakref.WeakKeyDictionary[ServerState, dict[str, Vault]] = weakref.WeakKeyDictionary()


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


def vault_of(ctx: Context, resource: str) -> Vault:
    """The vault of ``resource`` (the server's own for ``demoResc``)."""
    if resource == RESOURCE:
        return ctx.vault
    known = _vaults.setdefault(ctx.server, {})
    vault = known.get(resource)
    if vault is None:
        rows = ctx.catalog.query(
            "SELECT resc_def_path FROM resources WHERE resc_name = ?", (resource,)
        )
        if not rows or not rows[0]["resc_def_path"]:
            raise SandboxError(SYS_RESC_DOES_NOT_EXIST, f"no resource {resource!r} with a vault")
        vault = Vault(Path(rows[0]["resc_def_path"]), hash_scheme=ctx.vault.hash_scheme)
        known[resource] = vault
    return vault


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


def _size_on_disk(ctx: Context, replica: Replica) -> int:
    return vault_of(ctx, replica.resource).path_for(replica.data_id).stat().st_size


def _store_checksum(ctx: Context, replica: Replica, checksum: str) -> None:
    with ctx.catalog.tx() as db:
        db.execute(
            "UPDATE data SET data_checksum = ?, modify_ts = ?"
            " WHERE data_id = ? AND data_repl_num = ?",
            (checksum, now_ts(), replica.data_id, replica.number),
        )


def rerror(messages: list[tuple[int, str]]) -> bytes:
    """An RError_PI holding every ``(status, message)``, in order."""
    inner = [
        Raw(pack("RErrMsg_PI", [("status", status), ("msg", text)]).decode())
        for status, text in messages
    ]
    return pack("RError_PI", [("count", len(messages)), ("RErrMsg_PI", inner)])


def _str_reply(text: str, *, int_info: int = 0, error: bytes = b"") -> Reply:
    return Reply(int_info=int_info, msg=pack("STR_PI", [("myStr", text)]), error=error)


# ----------------------------------------------------------------------------- checksums


def _pick(replicas: list[Replica], options: dict[str, str]) -> tuple[Replica, bool]:
    """The replica a single-replica call works on, and whether the client named it."""
    if "replNum" in options:
        number = options["replNum"]
        found = [r for r in replicas if str(r.number) == number]
    elif "rescName" in options:
        found = [r for r in replicas if r.resource == options["rescName"]]
    else:
        good = [r for r in replicas if r.status == GOOD]
        return (good or replicas)[0], False
    if not found:
        raise SandboxError(SYS_REPLICA_DOES_NOT_EXIST, "no such replica")
    return found[0], True


def _check_accessible(replica: Replica) -> None:
    if replica.status not in (GOOD, STALE):
        raise SandboxError(codes.SYS_REPLICA_INACCESSIBLE, f"replica {replica.number} is in use")


class _Results:
    """The verification results iRODS sends back as JSON, and the RError messages beside them."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.errors: list[tuple[int, str]] = []

    def add(self, severity: str, code: int, message: str) -> None:
        self.items.append({"error_code": code, "message": message, "severity": severity})

    def check_size(self, ctx: Context, replica: Replica) -> None:
        try:
            size = _size_on_disk(ctx, replica)
        except OSError as exc:
            code = UNIX_FILE_STAT_ERR - (exc.errno or 0)
            self.add("error", code, f"ERROR: Could not verify size for replica [{replica.number}].")
            return
        if size != replica.size:
            self.add(
                "error",
                USER_FILE_SIZE_MISMATCH,
                "ERROR: Physical size does not match size in catalog for replica "
                f"[{replica.number}].",
            )

    def check_checksum(self, ctx: Context, path: str, replica: Replica) -> None:
        try:
            computed = replica_checksum(
                ctx, replica, scheme_of(replica.checksum, ctx.vault.hash_scheme)
            )
        except SandboxError as exc:
            self.add(
                "error",
                exc.code,
                f"ERROR: Could not verify checksum for replica [{replica.number}].",
            )
            return
        if computed != replica.checksum:
            self.errors.append(
                (
                    codes.USER_CHKSUM_MISMATCH,
                    f"verifyDataObjChksum: computed checksum [{computed}] != catalog value "
                    f"[{replica.checksum}] for [{path}] hierarchy [{replica.hierarchy}] "
                    f"replica number [{replica.number}]",
                )
            )
            self.add(
                "error",
                codes.USER_CHKSUM_MISMATCH,
                "ERROR: Computed checksum does not match what is in the catalog for replica "
                f"[{replica.number}].",
            )

    def reply(self) -> Reply:
        if not self.items:
            return Reply(error=rerror(self.errors) if self.errors else b"")
        text = json.dumps(self.items, sort_keys=True, separators=(",", ":"))
        error = rerror(self.errors) if self.errors else b""
        return _str_reply(text, int_info=codes.CHECK_VERIFICATION_RESULTS, error=error)


def _targeted(options: dict[str, str]) -> bool:
    if "replNum" in options and "rescName" in options:
        raise SandboxError(USER_INCOMPATIBLE_PARAMS, "give replNum or rescName, not both")
    targeted = "replNum" in options or "rescName" in options
    if targeted and "ChksumAll" in options:
        raise SandboxError(USER_INCOMPATIBLE_PARAMS, "ChksumAll names no single replica")
    return targeted


def _verify(ctx: Context, path: str, replicas: list[Replica], options: dict[str, str]) -> Reply:
    if "forceChksum" in options:
        raise SandboxError(USER_INCOMPATIBLE_PARAMS, "verifyChksum and forceChksum together")
    results = _Results()
    if _targeted(options):
        replica, _ = _pick(replicas, options)
        _check_accessible(replica)
        results.check_size(ctx, replica)
        if not replica.checksum:
            results.add(
                "warning",
                CAT_NO_CHECKSUM_FOR_REPLICA,
                f"WARNING: No checksum available for replica [{replica.number}].",
            )
            return results.reply()
        results.check_checksum(ctx, path, replica)
        return results.reply()
    good = [r for r in replicas if r.status == GOOD]
    if not good:
        raise SandboxError(SYS_NO_GOOD_REPLICA, f"{path} has no good replica")
    if len(replicas) > len(good):
        results.add("info", 0, f"INFO: Number of replicas skipped: {len(replicas) - len(good)}")
    for replica in good:
        results.check_size(ctx, replica)
    unsummed = [r for r in good if not r.checksum]
    for replica in unsummed:
        results.add(
            "warning",
            CAT_NO_CHECKSUM_FOR_REPLICA,
            f"WARNING: No checksum available for replica [{replica.number}].",
        )
    if unsummed:
        return results.reply()
    for replica in good:
        results.check_checksum(ctx, path, replica)
    if len({r.checksum for r in good}) > 1:
        results.add(
            "warning",
            codes.USER_CHKSUM_MISMATCH,
            "WARNING: Data object has replicas with different checksums.",
        )
    return results.reply()


def _lookup_or_update(ctx: Context, replicas: list[Replica], options: dict[str, str]) -> Reply:
    force = "forceChksum" in options
    if "ChksumAll" not in options or _targeted(options):
        replica, _ = _pick(replicas, options)
        _check_accessible(replica)
        if not force and replica.checksum:
            return _str_reply(replica.checksum)
        checksum = replica_checksum(ctx, replica)
        _store_checksum(ctx, replica, checksum)
        return _str_reply(checksum)
    good = [r for r in replicas if r.status == GOOD]
    if not good:
        raise SandboxError(SYS_NO_GOOD_REPLICA, "no good replica")
    sums: list[str] = []
    for replica in good:
        if force or not replica.checksum:
            try:
                checksum = replica_checksum(ctx, replica)
            except SandboxError as exc:
                text = f"Could not compute/update checksum for replica [{replica.number}]."
                raise SandboxError(exc.code, text) from None
            _store_checksum(ctx, replica, checksum)
            sums.append(checksum)
        else:
            sums.append(replica.checksum)
    if len(set(sums)) > 1:
        warning = "WARNING: Data object has replicas with different checksums."
        return Reply(error=rerror([(codes.USER_CHKSUM_MISMATCH, warning)]))
    return _str_reply(sums[-1])


@api(629)
def data_obj_chksum(ctx: Context, req: Request) -> Reply:
    """DATA_OBJ_CHKSUM_AN: report, compute (``forceChksum``) or verify replica checksums."""
    node = req.node
    path = logical_path(ctx, node.str("objPath"))
    options = node.kvp()
    replicas = replicas_of(ctx, path)
    if "verifyChksum" in options:
        return _verify(ctx, path, replicas, options)
    return _lookup_or_update(ctx, replicas, options)


# ----------------------------------------------------------------------------- replication


def _resource_exists(ctx: Context, name: str) -> bool:
    return bool(ctx.catalog.query("SELECT 1 FROM resources WHERE resc_name = ?", (name,)))


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
    if not _resource_exists(ctx, target):
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


# ----------------------------------------------------------------------------- resources


def add_resource(ctx: Context, args: list[str]) -> Reply:
    """``add resource NAME TYPE HOST:PATH``: a unixfilesystem resource with its own vault."""
    name, kind, location = args[2], args[3], args[4]
    if not name:
        raise SandboxError(codes.SYS_INVALID_INPUT_PARAM, "a resource needs a name")
    if kind != "unixfilesystem":
        raise SandboxError(
            CAT_INVALID_RESOURCE_TYPE,
            f"the sandbox only makes unixfilesystem resources, not {kind!r}",
        )
    host, _, vault = location.partition(":")
    if not vault.startswith("/"):
        raise SandboxError(
            CAT_INVALID_RESOURCE_VAULT_PATH, f"resource vault path {vault!r} is not absolute"
        )
    if _resource_exists(ctx, name):
        raise SandboxError(codes.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, f"resource {name!r} exists")
    ctx.catalog.add_resource(name, vault, net=host or "localhost")
    if host == "localhost":
        warning = (
            "Warning, resource host address 'localhost' will not work properly as it maps to "
            "the local host from each client."
        )
        return Reply(error=rerror([(0, warning)]))
    return Reply()

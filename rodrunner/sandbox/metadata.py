"""AVU metadata for the iRODS sandbox: ``MOD_AVU_METADATA_AN`` (706) and atomic apply (20002).

Entities are data objects (``-d``), collections (``-C``), resources (``-R``) and users (``-u``);
an AVU is a ``meta`` row linked to the entity's id through ``objt_meta``. As in iRODS, one
``meta`` row is shared by every entity carrying the same (attribute, value, units).

Behaviour taken from a real iRODS 5.0.2 (traces 10-17): a classic ``add`` of an AVU the entity
already has is ``CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME``; the atomic API accepts adding an
existing AVU and removing a missing one, rolls a failed batch back completely, and reports
errors as ``SYS_INVALID_INPUT_PARAM`` with ``{"error_message", "operation", "operation_index"}``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from rodrunner.sandbox.catalog import now_ts, split_path
from rodrunner.sandbox.dispatch import Context, Reply, Request, api
from rodrunner.sandbox.protocol import Node, SandboxError, codes, json_buf

CAT_INVALID_ARGUMENT = -816000
CAT_SUCCESS_BUT_WITH_NO_INFO = -819000
CAT_INVALID_RESOURCE = -831000

_KINDS = {
    "-d": "data_object",
    "-D": "data_object",
    "-c": "collection",
    "-C": "collection",
    "-r": "resource",
    "-R": "resource",
    "-u": "user",
    "-U": "user",
}
_MISSING = {
    "data_object": codes.CAT_UNKNOWN_FILE,
    "collection": codes.CAT_UNKNOWN_COLLECTION,
    "resource": CAT_INVALID_RESOURCE,
    "user": codes.CAT_INVALID_USER,
}


def entity_id(db: sqlite3.Connection, kind: str, name: str, zone: str) -> int | None:
    """The catalog id of a data object, collection, resource or user (None when absent)."""
    if kind == "data_object":
        parent, base = split_path(name)
        row = db.execute(
            "SELECT d.data_id FROM data d JOIN colls c ON c.coll_id = d.coll_id "
            "WHERE c.coll_name = ? AND d.data_name = ? LIMIT 1",
            (parent, base),
        ).fetchone()
    elif kind == "collection":
        row = db.execute("SELECT coll_id FROM colls WHERE coll_name = ?", (name,)).fetchone()
    elif kind == "resource":
        row = db.execute("SELECT resc_id FROM resources WHERE resc_name = ?", (name,)).fetchone()
    elif kind == "user":
        user, _, user_zone = name.partition("#")
        row = db.execute(
            "SELECT user_id FROM users WHERE user_name = ? AND zone_name = ?",
            (user, user_zone or zone),
        ).fetchone()
    else:
        return None
    return None if row is None else int(row[0])


def _meta_id(db: sqlite3.Connection, attr: str, value: str, units: str) -> int | None:
    row = db.execute(
        "SELECT meta_id FROM meta WHERE meta_attr_name = ? AND meta_attr_value = ? "
        "AND meta_attr_unit = ? ORDER BY meta_id LIMIT 1",
        (attr, value, units),
    ).fetchone()
    return None if row is None else int(row[0])


def _new_id(db: sqlite3.Connection) -> int:
    cur = db.execute("INSERT INTO objects DEFAULT VALUES")
    assert cur.lastrowid is not None
    return cur.lastrowid


def has_avu(db: sqlite3.Connection, obj: int, attr: str, value: str, units: str) -> bool:
    """Whether entity ``obj`` carries the AVU."""
    return (
        db.execute(
            "SELECT 1 FROM objt_meta om JOIN meta m ON m.meta_id = om.meta_id "
            "WHERE om.object_id = ? AND m.meta_attr_name = ? AND m.meta_attr_value = ? "
            "AND m.meta_attr_unit = ?",
            (obj, attr, value, units),
        ).fetchone()
        is not None
    )


def add_avu(db: sqlite3.Connection, obj: int, attr: str, value: str, units: str = "") -> bool:
    """Link the AVU to ``obj``; False when it was already there."""
    if has_avu(db, obj, attr, value, units):
        return False
    ts = now_ts()
    meta_id = _meta_id(db, attr, value, units)
    if meta_id is None:
        meta_id = _new_id(db)
        db.execute(
            "INSERT INTO meta (meta_id, meta_attr_name, meta_attr_value, meta_attr_unit,"
            " create_ts, modify_ts) VALUES (?, ?, ?, ?, ?, ?)",
            (meta_id, attr, value, units, ts, ts),
        )
    db.execute(
        "INSERT INTO objt_meta (object_id, meta_id, create_ts, modify_ts) VALUES (?, ?, ?, ?)",
        (obj, meta_id, ts, ts),
    )
    return True


_MATCH_EQUAL = ("meta_attr_name = ? AND meta_attr_value = ?", " AND meta_attr_unit = ?")
_MATCH_LIKE = ("meta_attr_name LIKE ? AND meta_attr_value LIKE ?", " AND meta_attr_unit LIKE ?")


def remove_avu(
    db: sqlite3.Connection,
    obj: int,
    attr: str,
    value: str,
    units: str | None = "",
    *,
    wildcards: bool = False,
) -> int:
    """Unlink matching AVUs from ``obj`` (``units`` None: any units); returns how many."""
    match = _MATCH_LIKE if wildcards else _MATCH_EQUAL
    sql = "SELECT meta_id FROM meta WHERE " + match[0]  # noqa: S608 - fixed text only
    params: list[Any] = [attr, value]
    if units is not None:
        sql += match[1]
        params.append(units)
    ids = [row[0] for row in db.execute(sql, params).fetchall()]
    removed = 0
    for meta_id in ids:
        removed += db.execute(
            "DELETE FROM objt_meta WHERE object_id = ? AND meta_id = ?", (obj, meta_id)
        ).rowcount
    return removed


def set_avu(db: sqlite3.Connection, obj: int, attr: str, value: str, units: str = "") -> None:
    """Make ``attr`` have exactly this value and units on ``obj``.

    As iRODS does, a single AVU of that name carried by nobody else is updated in place (it
    keeps its id and create time); otherwise every AVU of that name is replaced.
    """
    rows = db.execute(
        "SELECT m.meta_id, (SELECT count(*) FROM objt_meta o WHERE o.meta_id = m.meta_id) "
        "FROM objt_meta om JOIN meta m ON m.meta_id = om.meta_id "
        "WHERE om.object_id = ? AND m.meta_attr_name = ?",
        (obj, attr),
    ).fetchall()
    if len(rows) == 1 and rows[0][1] == 1:
        ts = now_ts()
        db.execute(
            "UPDATE meta SET meta_attr_value = ?, meta_attr_unit = ?, modify_ts = ? "
            "WHERE meta_id = ?",
            (value, units, ts, rows[0][0]),
        )
        db.execute(
            "UPDATE objt_meta SET modify_ts = ? WHERE object_id = ? AND meta_id = ?",
            (ts, obj, rows[0][0]),
        )
        return
    db.execute(
        "DELETE FROM objt_meta WHERE object_id = ? AND meta_id IN "
        "(SELECT meta_id FROM meta WHERE meta_attr_name = ?)",
        (obj, attr),
    )
    add_avu(db, obj, attr, value, units)


def _require(db: sqlite3.Connection, flag: str, name: str, zone: str) -> tuple[str, int]:
    kind = _KINDS.get(flag)
    if kind is None:
        raise SandboxError(CAT_INVALID_ARGUMENT, f"unknown entity type {flag!r}")
    obj = entity_id(db, kind, name, zone)
    if obj is None:
        raise SandboxError(_MISSING[kind], f"{kind.replace('_', ' ')} {name!r} does not exist")
    return kind, obj


def _check_avu(attr: str, value: str) -> None:
    if not attr or not value:
        raise SandboxError(CAT_INVALID_ARGUMENT, "empty metadata attribute name or value")


def mod_avu(db: sqlite3.Connection, args: list[str], zone: str) -> None:
    """Apply one ``ModAVUMetadataInp_PI`` (``args`` = arg0..arg9) inside a transaction."""
    args = args + [""] * (10 - len(args))
    op = args[0].lower()
    if op in ("add", "adda", "set", "rm", "rmw"):
        _, obj = _require(db, args[1], args[2], zone)
        attr, value, units = args[3], args[4], args[5]
        if op in ("add", "adda"):
            _check_avu(attr, value)
            if not add_avu(db, obj, attr, value, units):
                raise SandboxError(
                    codes.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, f"AVU {attr}={value} exists"
                )
        elif op == "set":
            _check_avu(attr, value)
            set_avu(db, obj, attr, value, units)
        elif remove_avu(db, obj, attr, value, units, wildcards=op == "rmw") == 0:
            raise SandboxError(CAT_SUCCESS_BUT_WITH_NO_INFO, f"no AVU {attr}={value} to remove")
    elif op == "rmi":
        _, obj = _require(db, args[1], args[2], zone)
        if not args[3].isdigit():
            raise SandboxError(CAT_INVALID_ARGUMENT, f"AVU id {args[3]!r} is not a number")
        removed = db.execute(
            "DELETE FROM objt_meta WHERE object_id = ? AND meta_id = ?", (obj, int(args[3]))
        ).rowcount
        if removed == 0:
            raise SandboxError(CAT_SUCCESS_BUT_WITH_NO_INFO, f"no AVU with id {args[3]}")
    elif op == "cp":
        _, src = _require(db, args[1], args[3], zone)
        _, dst = _require(db, args[2], args[4], zone)
        rows = db.execute(
            "SELECT m.meta_attr_name, m.meta_attr_value, m.meta_attr_unit FROM objt_meta om "
            "JOIN meta m ON m.meta_id = om.meta_id WHERE om.object_id = ?",
            (src,),
        ).fetchall()
        for attr, value, units in rows:
            add_avu(db, dst, attr, value, units or "")
    else:
        raise SandboxError(codes.SYS_NOT_SUPPORTED, f"metadata operation {args[0]!r}")


def mod_avu_args(body: Node) -> list[str]:
    """arg0..arg9 of a ``ModAVUMetadataInp_PI`` (absent ones empty)."""
    return [body.str(f"arg{i}") for i in range(10)]


# ----------------------------------------------------------------------------- atomic apply


class AtomicError(SandboxError):
    """An atomic batch failed: SYS_INVALID_INPUT_PARAM with the server's JSON error object."""

    def __init__(self, message: str, operation: Any = None, index: int = 0) -> None:
        body = {"error_message": message, "operation": operation, "operation_index": index}
        super().__init__(codes.SYS_INVALID_INPUT_PARAM, message, msg=json_buf(body))


_ENTITY_FLAGS = {
    "data_object": "-d",
    "collection": "-C",
    "resource": "-R",
    "user": "-u",
}


def _text(op: Mapping[str, Any], key: str) -> str | None:
    value = op.get(key)
    return value if isinstance(value, str) else None


def apply_atomic(db: sqlite3.Connection, request: Any, zone: str) -> bytes:
    """Apply an atomic metadata request (already decoded JSON); returns the reply body.

    Raises :class:`AtomicError`; the caller's transaction must roll the batch back then.
    """
    if not isinstance(request, dict):
        raise AtomicError("Invalid JSON request")
    name, kind = request.get("entity_name"), request.get("entity_type")
    operations = request.get("operations")
    if not isinstance(name, str) or not name:
        raise AtomicError("Missing entity_name")
    if kind not in _ENTITY_FLAGS:
        raise AtomicError(f"Invalid entity type [entity_type={kind}]")
    if not isinstance(operations, list):
        raise AtomicError("Missing operations")
    obj = entity_id(db, str(kind), name, zone)
    if obj is None:
        raise AtomicError(f"Entity does not exist [entity_name={name}]")
    for index, op in enumerate(operations):
        if not isinstance(op, dict):
            raise AtomicError("Invalid metadata operation", op, index)
        action = op.get("operation")
        attr, value = _text(op, "attribute"), _text(op, "value")
        units = _text(op, "units") or ""
        if action not in ("add", "remove"):
            raise AtomicError(
                f"Invalid metadata operation [metadata_operation={action}]", op, index
            )
        if not attr or not value:
            raise AtomicError(
                "Empty metadata attribute name or value "
                f"[attribute={attr or ''}, value={value or ''}]",
                op,
                index,
            )
        if action == "add":
            add_avu(db, obj, attr, value, units)
        else:
            remove_avu(db, obj, attr, value, units)
    return json_buf({})


# ----------------------------------------------------------------------------- API handlers


@api(706)
def mod_avu_metadata(ctx: Context, req: Request) -> Reply:
    """MOD_AVU_METADATA_AN: add/adda/set/rm/rmw/rmi/cp on -d/-C/-R/-u."""
    args = mod_avu_args(req.node)
    with ctx.catalog.tx() as db:
        mod_avu(db, args, ctx.server.settings.zone)
    return Reply()


@api(20002)
def atomic_apply_metadata(ctx: Context, req: Request) -> Reply:
    """ATOMIC_APPLY_METADATA_OPERATIONS_APN: all operations or none."""
    request = req.json
    with ctx.catalog.tx() as db:
        body = apply_atomic(db, request, ctx.server.settings.zone)
    for op in request.get("operations", []):  # applied: note them for the audit trail
        ctx.server.faults.note(
            "avu",
            str(request["entity_name"]),
            str(op.get("operation")),
            str(op.get("attribute")),
            str(op.get("value")),
        )
    return Reply(msg=body)

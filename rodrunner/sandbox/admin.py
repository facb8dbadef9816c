"""Minimal users and admin for the sandbox: ``GENERAL_ADMIN_AN`` 701, ``USER_ADMIN_AN`` 714.

What python-irodsclient's ``session.users`` and its test suite send:

- 701 ``add user NAME[#ZONE] TYPE ZONE AUTH``: a user (or a ``rodsgroup``) with its home and
  trash collections;
- 701 ``rm user|group NAME[#ZONE]``: the user, its AVU links and its (empty) home and trash;
- 701 ``modify user NAME[#ZONE] password|type|info|comment VALUE``: a new password arrives
  obfuscated with the caller's password and the connection's client signature;
- 701 ``rm unusedAVUs``: AVUs no entity carries any more;
- 701 ``add resource NAME unixfilesystem HOST:PATH`` (``iadmin mkresc``, in ``replicas.py``);
- 714 ``userpw NAME password OBF`` (``modify_password``) and ``mkuser NAME[#ZONE] OBF``.

Passwords are stored where the server's native authentication reads them (``users.password``),
so a changed password takes effect at the next login. The reversal of the client's
obfuscation uses python-irodsclient's own ``password_obfuscation`` (the scheme is defined by
that code and iRODS' ``obf.cpp``; a second copy of its tables here could only drift).
"""

from __future__ import annotations

import hashlib
import sqlite3

from irods import password_obfuscation as obf

from rodrunner.sandbox.catalog import now_ts
from rodrunner.sandbox.dispatch import Context, Reply, Request, api
from rodrunner.sandbox.protocol import Node, SandboxError, codes
from rodrunner.sandbox.resources import add_resource

CAT_INVALID_USER_TYPE = -820000
CAT_INSUFFICIENT_PRIVILEGE_LEVEL = -830000

USER_TYPES = ("rodsuser", "rodsadmin", "groupadmin", "rodsgroup")
MAX_PASSWORD_LEN = 50
_PADDING = "1gCBizHWbwIYyWLoysGzTe6SyzqFKMniZX05faZHWAwQKXf6Fs"
_V2_HEADER = 1 + len(obf.v2_prefix[1:10])  # one random character, then ".ObfV2"


# ----------------------------------------------------------------------------- passwords


def strip_padding(password: str) -> str:
    """Remove the filler iRODS clients append to short passwords before obfuscating them."""
    total = len(password)
    for length in range(total):
        pad = MAX_PASSWORD_LEN - 10 - length
        if pad > 15 and total == length + pad and password[length:] == _PADDING[:pad]:
            return password[:length]
    return password


def deobfuscate_v2(obfuscated: str, key_password: str, signature: str) -> str:
    """Reverse ``obfuscate_new_password(new, key_password, signature)`` (iadmin moduser/ipasswd)."""
    key = (key_password[:90] + signature[:100]).ljust(100, "\0")
    hashed = hashlib.md5(key.encode("utf-8"), usedforsecurity=False).hexdigest()
    clear: str = obf.unscramble(obfuscated, key=hashed, scramble_prefix="", block_chaining=True)
    return strip_padding(clear[_V2_HEADER:])


def deobfuscate_with_key(obfuscated: str, key_password: str) -> str:
    """Reverse ``obfuscate_new_password_with_key(new, key_password)`` (mkuser with password)."""
    clear: str = obf.unscramble(obfuscated, key=key_password, scramble_prefix="")
    return strip_padding(clear)


# ----------------------------------------------------------------------------- catalog work


def split_user(name: str, zone: str) -> tuple[str, str]:
    """``user#zone`` (or ``user``) as (user, zone)."""
    user, _, user_zone = name.partition("#")
    return user, user_zone or zone


def _user_row(db: sqlite3.Connection, user: str, zone: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(
        "SELECT * FROM users WHERE user_name = ? AND zone_name = ?", (user, zone)
    ).fetchone()
    return row


def _new_id(db: sqlite3.Connection) -> int:
    cur = db.execute("INSERT INTO objects DEFAULT VALUES")
    assert cur.lastrowid is not None
    return cur.lastrowid


def _add_coll(db: sqlite3.Connection, name: str, owner: str, zone: str, ts: str) -> None:
    if db.execute("SELECT 1 FROM colls WHERE coll_name = ?", (name,)).fetchone():
        return
    db.execute(
        "INSERT INTO colls (coll_id, coll_name, parent_coll_name, owner_name, owner_zone,"
        " create_ts, modify_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (_new_id(db), name, name.rsplit("/", 1)[0] or "/", owner, zone, ts, ts),
    )


def add_user(
    db: sqlite3.Connection,
    name: str,
    user_type: str,
    local_zone: str,
    password: str | None = None,
) -> int:
    """Create a user (and, for local users, its home and trash collections); returns its id."""
    user, zone = split_user(name, local_zone)
    if not user:
        raise SandboxError(codes.CAT_INVALID_USER, "a user needs a name")
    if user_type not in USER_TYPES:
        raise SandboxError(
            CAT_INVALID_USER_TYPE, f"user type {user_type!r} is not one of {', '.join(USER_TYPES)}"
        )
    if _user_row(db, user, zone) is not None:
        raise SandboxError(
            codes.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, f"user {user}#{zone} exists"
        )
    ts = now_ts()
    user_id = _new_id(db)
    db.execute(
        "INSERT INTO users (user_id, user_name, zone_name, user_type_name, password,"
        " create_ts, modify_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (user_id, user, zone, user_type, password, ts, ts),
    )
    if zone == local_zone:
        for coll in (f"/{zone}/home/{user}", f"/{zone}/trash/home/{user}"):
            _add_coll(db, coll, user if user_type != "rodsgroup" else "rods", zone, ts)
    return user_id


def _coll_is_empty(db: sqlite3.Connection, coll: str) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM colls WHERE parent_coll_name = ? AND coll_name <> ? "
            "UNION ALL SELECT 1 FROM data d JOIN colls c ON c.coll_id = d.coll_id "
            "WHERE c.coll_name = ? LIMIT 1",
            (coll, coll, coll),
        ).fetchone()
        is None
    )


def remove_user(db: sqlite3.Connection, name: str, local_zone: str) -> None:
    """Delete a user, its AVU links and its empty home and trash collections."""
    user, zone = split_user(name, local_zone)
    row = _user_row(db, user, zone)
    if row is None:
        raise SandboxError(codes.CAT_INVALID_USER, f"user {user}#{zone} does not exist")
    homes = [f"/{zone}/home/{user}", f"/{zone}/trash/home/{user}"]
    for coll in homes:
        if not _coll_is_empty(db, coll):
            raise SandboxError(
                codes.CAT_COLLECTION_NOT_EMPTY, f"{coll} is not empty; remove its contents first"
            )
    for coll in homes:
        coll_row = db.execute("SELECT coll_id FROM colls WHERE coll_name = ?", (coll,)).fetchone()
        if coll_row is not None:
            db.execute("DELETE FROM objt_meta WHERE object_id = ?", (coll_row[0],))
            db.execute("DELETE FROM colls WHERE coll_id = ?", (coll_row[0],))
    db.execute("DELETE FROM objt_meta WHERE object_id = ?", (row["user_id"],))
    db.execute("DELETE FROM users WHERE user_id = ?", (row["user_id"],))


def set_password(db: sqlite3.Connection, name: str, local_zone: str, password: str) -> None:
    """Store a user's new password (read by the next native login)."""
    user, zone = split_user(name, local_zone)
    if len(password) > MAX_PASSWORD_LEN:
        raise SandboxError(codes.SYS_INVALID_INPUT_PARAM, "the new password is too long")
    updated = db.execute(
        "UPDATE users SET password = ?, modify_ts = ? WHERE user_name = ? AND zone_name = ?",
        (password, now_ts(), user, zone),
    ).rowcount
    if updated == 0:
        raise SandboxError(codes.CAT_INVALID_USER, f"user {user}#{zone} does not exist")


_MODIFIABLE = {"type": "user_type_name", "info": "user_info", "comment": "user_comment"}


def modify_user(db: sqlite3.Connection, name: str, local_zone: str, field: str, value: str) -> None:
    """Change a user's type, info or comment."""
    user, zone = split_user(name, local_zone)
    column = _MODIFIABLE.get(field)
    if column is None:
        raise SandboxError(codes.SYS_NOT_SUPPORTED, f"modify user {field!r} is not supported")
    if field == "type" and value not in USER_TYPES:
        raise SandboxError(CAT_INVALID_USER_TYPE, f"user type {value!r} is not valid")
    updated = db.execute(
        f"UPDATE users SET {column} = ?, modify_ts = ? WHERE user_name = ? AND zone_name = ?",  # noqa: S608 - column from _MODIFIABLE
        (value, now_ts(), user, zone),
    ).rowcount
    if updated == 0:
        raise SandboxError(codes.CAT_INVALID_USER, f"user {user}#{zone} does not exist")


def remove_unused_avus(db: sqlite3.Connection) -> int:
    """Delete AVUs that no entity carries; returns how many."""
    return db.execute(
        "DELETE FROM meta WHERE meta_id NOT IN (SELECT meta_id FROM objt_meta)"
    ).rowcount


# ----------------------------------------------------------------------------- API handlers


def _args(node: Node) -> list[str]:
    return [node.str(f"arg{i}") for i in range(10)]


def _caller_password(ctx: Context) -> str:
    row = ctx.catalog.user(ctx.user, ctx.zone)
    return "" if row is None else str(row["password"] or "")


def _require_admin(ctx: Context) -> None:
    if not ctx.is_admin:
        raise SandboxError(CAT_INSUFFICIENT_PRIVILEGE_LEVEL, f"user {ctx.user} is not a rodsadmin")


@api(701)
def general_admin(ctx: Context, req: Request) -> Reply:
    """GENERAL_ADMIN_AN: add/rm/modify user, rm unusedAVUs, add resource (``replicas.py``)."""
    args = _args(req.node)
    _require_admin(ctx)
    zone = ctx.server.settings.zone
    op, target = args[0], args[1]
    with ctx.catalog.tx() as db:
        if op == "add" and target in ("user", "group"):
            user_type = args[3] or ("rodsgroup" if target == "group" else "rodsuser")
            add_user(db, args[2], user_type, zone)
        elif op == "rm" and target in ("user", "group"):
            remove_user(db, args[2], zone)
        elif op == "modify" and target == "user":
            if args[3] == "password":
                password = deobfuscate_v2(args[4], _caller_password(ctx), ctx.client_signature)
                set_password(db, args[2], zone, password)
            else:
                modify_user(db, args[2], zone, args[3], args[4])
        elif op == "add" and target == "resource":
            return add_resource(ctx, args)
        elif op == "rm" and target == "unusedAVUs":
            remove_unused_avus(db)
        else:
            raise SandboxError(
                codes.SYS_NOT_SUPPORTED,
                f"general admin '{op} {target}' is not implemented by the sandbox",
            )
    return Reply()


@api(714)
def user_admin(ctx: Context, req: Request) -> Reply:
    """USER_ADMIN_AN: ``userpw`` (a user's own password) and ``mkuser`` (with a password)."""
    args = _args(req.node)
    zone = ctx.server.settings.zone
    with ctx.catalog.tx() as db:
        if args[0] == "userpw" and args[2] == "password":
            user, user_zone = split_user(args[1], zone)
            if (user, user_zone) != (ctx.user, ctx.zone):
                _require_admin(ctx)
            password = deobfuscate_v2(args[3], _caller_password(ctx), ctx.client_signature)
            set_password(db, args[1], zone, password)
        elif args[0] == "mkuser":
            caller = ctx.catalog.user(ctx.user, ctx.zone)
            if caller is None or caller["user_type_name"] not in ("rodsadmin", "groupadmin"):
                _require_admin(ctx)
            initial = deobfuscate_with_key(args[2], _caller_password(ctx)) if args[2] else None
            add_user(db, args[1], "rodsuser", zone, initial)
        else:
            raise SandboxError(
                codes.SYS_NOT_SUPPORTED, f"user admin {args[0]!r} is not implemented by the sandbox"
            )
    return Reply()

"""The sandbox's iRODS catalog: one SQLite file, shaped like the parts of the ICAT we serve.

Thread-safe: every access goes through ``Catalog.tx()`` (one connection, one re-entrant lock,
commit on success, rollback on error), so a handler that does several statements in one
``with catalog.tx() as db:`` block is atomic. Ids for collections, data objects, users,
resources and AVUs come from one shared counter (``new_id``), as in iRODS.

Conventions (as iRODS): timestamps are 11-digit zero-padded epoch seconds (``now_ts()``);
``data.data_is_dirty`` is the replica status: 0 stale, 1 good, 2 intermediate (being written);
checksums are ``sha2:<base64>`` (or md5 hex when the sandbox runs with ``hash="md5"``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (id INTEGER PRIMARY KEY AUTOINCREMENT);
CREATE TABLE IF NOT EXISTS colls (coll_id INTEGER PRIMARY KEY, coll_name TEXT UNIQUE NOT NULL,
  parent_coll_name TEXT NOT NULL, owner_name TEXT, owner_zone TEXT,
  coll_inheritance TEXT DEFAULT '', coll_type TEXT DEFAULT '', coll_info1 TEXT DEFAULT '',
  coll_info2 TEXT DEFAULT '', create_ts TEXT, modify_ts TEXT);
CREATE TABLE IF NOT EXISTS data (data_id INTEGER NOT NULL, coll_id INTEGER NOT NULL,
  data_name TEXT NOT NULL, data_repl_num INTEGER DEFAULT 0, data_version TEXT DEFAULT '',
  data_type_name TEXT DEFAULT 'generic', data_size INTEGER DEFAULT 0,
  resc_name TEXT DEFAULT 'demoResc', resc_hier TEXT DEFAULT 'demoResc', resc_id INTEGER,
  data_path TEXT, data_owner_name TEXT, data_owner_zone TEXT, data_is_dirty INTEGER DEFAULT 1,
  data_status TEXT DEFAULT '', data_checksum TEXT DEFAULT '', data_mode TEXT DEFAULT '',
  data_comments TEXT DEFAULT '', create_ts TEXT, modify_ts TEXT,
  data_expiry_ts TEXT DEFAULT '00000000000', data_map_id INTEGER DEFAULT 0, access_ts TEXT,
  PRIMARY KEY (data_id, data_repl_num), UNIQUE (coll_id, data_name, data_repl_num));
CREATE TABLE IF NOT EXISTS users (user_id INTEGER PRIMARY KEY, user_name TEXT NOT NULL,
  zone_name TEXT NOT NULL, user_type_name TEXT DEFAULT 'rodsuser', user_info TEXT DEFAULT '',
  user_comment TEXT DEFAULT '', password TEXT, create_ts TEXT, modify_ts TEXT,
  UNIQUE(user_name, zone_name));
CREATE TABLE IF NOT EXISTS meta (meta_id INTEGER PRIMARY KEY, meta_attr_name TEXT NOT NULL,
  meta_attr_value TEXT NOT NULL, meta_attr_unit TEXT DEFAULT '', create_ts TEXT, modify_ts TEXT);
CREATE TABLE IF NOT EXISTS objt_meta (object_id INTEGER NOT NULL, meta_id INTEGER NOT NULL,
  create_ts TEXT, modify_ts TEXT, PRIMARY KEY(object_id, meta_id));
CREATE TABLE IF NOT EXISTS resources (resc_id INTEGER PRIMARY KEY, resc_name TEXT UNIQUE NOT NULL,
  zone_name TEXT, resc_type_name TEXT DEFAULT 'unixfilesystem', resc_net TEXT DEFAULT 'localhost',
  resc_def_path TEXT DEFAULT '', create_ts TEXT, modify_ts TEXT);
CREATE INDEX IF NOT EXISTS colls_by_parent ON colls (parent_coll_name);
CREATE INDEX IF NOT EXISTS objt_meta_by_meta ON objt_meta (meta_id);
"""

RESOURCE = "demoResc"
ID_BLOCK = 1024  # ids reserved per catalog write by new_id
STALE, GOOD, INTERMEDIATE = 0, 1, 2


def now_ts() -> str:
    """The current time as iRODS stores it: 11-digit zero-padded epoch seconds."""
    return f"{int(time.time()):011d}"


def parent_of(path: str) -> str:
    """The parent collection of an absolute logical path ('/' for '/zone')."""
    head = path.rsplit("/", 1)[0]
    return head or "/"


def split_path(path: str) -> tuple[str, str]:
    """(parent collection, last element) of an absolute logical path."""
    return parent_of(path), path.rsplit("/", 1)[-1]


class Catalog:
    """The SQLite catalog of one sandbox (``<root>/catalog.sqlite``)."""

    def __init__(self, path: Path, *, zone: str, admin: str, password: str) -> None:
        self.path = path
        self.zone = zone
        self.lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._depth = 0
        self._id_next = self._id_end = 0  # the reserved block new_id hands out from
        self._resource_ids: dict[str, int] = {}
        self._db.executescript(SCHEMA)
        self._bootstrap(admin, password)

    # -- access ---------------------------------------------------------------------------

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of catalog work (re-entrant: nested blocks join the outer one)."""
        with self.lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._db
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                    self._id_next = self._id_end  # a reservation made in here is undone
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    def query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Run one read-only statement and return all rows."""
        with self.tx() as db:
            return db.execute(sql, params).fetchall()

    def new_id(self) -> int:
        """A fresh id from the space shared by collections, data objects, users and AVUs.

        Ids are reserved ``ID_BLOCK`` at a time: one row with the block's last id goes into
        ``objects`` (so its AUTOINCREMENT, which other modules draw from directly, moves past
        the block, and a restart never hands out an id again); the rest come from memory.
        """
        with self.lock:
            if self._id_next >= self._id_end:
                with self.tx() as db:
                    cur = db.execute(
                        "INSERT INTO objects (id) VALUES (COALESCE("
                        "(SELECT seq FROM sqlite_sequence WHERE name = 'objects'), 0) + ?)",
                        (ID_BLOCK,),
                    )
                assert cur.lastrowid is not None
                self._id_end = cur.lastrowid + 1
                self._id_next = self._id_end - ID_BLOCK
            self._id_next += 1
            return self._id_next - 1

    def close(self) -> None:
        """Close the database connection."""
        with self.lock:
            self._db.close()

    # -- lookups ----------------------------------------------------------------------------

    def coll_by_name(self, name: str) -> sqlite3.Row | None:
        """The collection row for a logical path, or None."""
        rows = self.query("SELECT * FROM colls WHERE coll_name = ?", (name,))
        return rows[0] if rows else None

    def data_by_path(self, path: str, repl_num: int = 0) -> sqlite3.Row | None:
        """The replica row (joined with its collection name) for a logical path, or None."""
        parent, name = split_path(path)
        rows = self.query(
            "SELECT data.*, colls.coll_name FROM data JOIN colls ON data.coll_id = colls.coll_id "
            "WHERE colls.coll_name = ? AND data.data_name = ? AND data.data_repl_num = ?",
            (parent, name, repl_num),
        )
        return rows[0] if rows else None

    def user(self, name: str, zone: str | None = None) -> sqlite3.Row | None:
        """The user row, or None."""
        rows = self.query(
            "SELECT * FROM users WHERE user_name = ? AND zone_name = ?", (name, zone or self.zone)
        )
        return rows[0] if rows else None

    def resource_id(self, name: str = RESOURCE) -> int:
        """The id of a resource (``demoResc`` unless named; remembered once read)."""
        known = self._resource_ids.get(name)
        if known is None:
            rows = self.query("SELECT resc_id FROM resources WHERE resc_name = ?", (name,))
            known = self._resource_ids[name] = int(rows[0]["resc_id"])
        return known

    # -- writes -----------------------------------------------------------------------------

    def add_resource(self, name: str, vault_path: str, *, net: str = "localhost") -> int:
        """Insert a ``unixfilesystem`` resource whose vault is ``vault_path``; returns its id."""
        ts = now_ts()
        with self.tx() as db:
            resc_id = self.new_id()
            db.execute(
                "INSERT INTO resources (resc_id, resc_name, zone_name, resc_net, resc_def_path,"
                " create_ts, modify_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (resc_id, name, self.zone, net, vault_path, ts, ts),
            )
            return resc_id

    def add_coll(self, name: str, owner: str) -> int:
        """Insert one collection (its parent must exist); returns its id."""
        ts = now_ts()
        with self.tx() as db:
            coll_id = self.new_id()
            db.execute(
                "INSERT INTO colls (coll_id, coll_name, parent_coll_name, owner_name, owner_zone,"
                " create_ts, modify_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (coll_id, name, parent_of(name) if name != "/" else "/", owner, self.zone, ts, ts),
            )
            return coll_id

    def add_user(self, name: str, user_type: str = "rodsuser", password: str | None = None) -> int:
        """Insert a user of this zone; returns its id."""
        ts = now_ts()
        with self.tx() as db:
            user_id = self.new_id()
            db.execute(
                "INSERT INTO users (user_id, user_name, zone_name, user_type_name, password,"
                " create_ts, modify_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (user_id, name, self.zone, user_type, password, ts, ts),
            )
            return user_id

    def _bootstrap(self, admin: str, password: str) -> None:
        with self.tx() as db:
            if db.execute("SELECT 1 FROM colls WHERE coll_name = '/'").fetchone():
                db.execute(
                    "UPDATE users SET password = ? WHERE user_name = ? AND zone_name = ?",
                    (password, admin, self.zone),
                )
                if self.user(admin) is None:
                    self.add_user(admin, "rodsadmin", password)
                    self.add_coll(f"/{self.zone}/home/{admin}", admin)
                return
            ts = now_ts()
            resc_id = self.new_id()
            db.execute(
                "INSERT INTO resources (resc_id, resc_name, zone_name, create_ts, modify_ts)"
                " VALUES (?, ?, ?, ?, ?)",
                (resc_id, RESOURCE, self.zone, ts, ts),
            )
            self.add_user(admin, "rodsadmin", password)
            self.add_user("public", "rodsgroup")
            z = f"/{self.zone}"
            for coll in ("/", z, f"{z}/home", f"{z}/trash", f"{z}/trash/home"):
                self.add_coll(coll, admin)
            for coll in (f"{z}/home/{admin}", f"{z}/home/public", f"{z}/trash/home/{admin}"):
                self.add_coll(coll, admin)

"""Catalog queries (GenQuery) over a python-irodsclient session.

Sessions of :class:`rodrunner.irods.session.SessionPool` keep every page of a query on one
connection (:class:`rodrunner.irods._wire.OneConnectionQuery`).

Every condition built from outside input goes through :func:`equals` or
:class:`SubtreeCriterion`, so a value that cannot reach the server as exactly one literal is
refused (QueryValueError) before any query. Results come back as plain values; what they mean
(replicas merged) is decided in :mod:`rodrunner.irods.checksums`. AVU queries are in
:mod:`rodrunner.irods.metadata`.
"""

from __future__ import annotations

from typing import Any

from irods.column import Criterion
from irods.models import Collection, DataObject, User
from irods.session import iRODSSession

from rodrunner.irods.errors import translate_errors
from rodrunner.irods.genquery_literal import literal, subtree_condition
from rodrunner.irods.paths import in_subtree

__all__ = [
    "SubtreeCriterion",
    "collection_exists",
    "equals",
    "find_user",
    "object_rows",
    "subtree_collections",
]

ReplicaRows = dict[str, list[tuple[int, str, str]]]  # relative path -> (size, checksum, status)


class SubtreeCriterion(Criterion):  # type: ignore[misc]
    """``COLL_NAME = 'p' || like 'p/%'``: a collection and everything below, in one condition."""

    def __init__(self, path: str) -> None:
        super().__init__("=", Collection.name, path)

    @property
    def irods_value(self) -> str:
        return subtree_condition(self.value)


def equals(column: Any, value: str, what: str) -> Any:
    """``column == value`` once ``value`` is known to reach the server as exactly one literal
    (QueryValueError otherwise): every condition built from outside input goes through here."""
    literal(value, what=what)
    return column == value


def find_user(session: iRODSSession, user: str) -> None:
    """Look ``user`` up (one row at most): the cheap query a ping sends."""
    with translate_errors():
        session.query(User.name).filter(equals(User.name, user, "iRODS user")).limit(1).all()


def collection_exists(session: iRODSSession, path: str) -> bool:
    """Whether ``path`` is a collection."""
    with translate_errors(path):
        rows = session.query(Collection.id).filter(equals(Collection.name, path, "iRODS path"))
        return len(rows.all()) > 0


def subtree_collections(session: iRODSSession, path: str) -> set[str]:
    """``path`` and every collection below it that exists."""
    with translate_errors(path):
        query = session.query(Collection.name).filter(SubtreeCriterion(path))
        return {
            row[Collection.name]
            for row in query.get_results()
            if in_subtree(row[Collection.name], path)
        }


def object_rows(session: iRODSSession, collection: str) -> ReplicaRows:
    """Every replica's ``(size, checksum, status)`` at or below ``collection``, by relative
    path (one GenQuery, paged)."""
    rows: ReplicaRows = {}
    with translate_errors(collection):
        query = session.query(
            Collection.name,
            DataObject.name,
            DataObject.size,
            DataObject.checksum,
            DataObject.replica_status,
        ).filter(SubtreeCriterion(collection))
        for row in query.get_results():
            coll = row[Collection.name]
            if not in_subtree(coll, collection):
                continue
            rel_dir = coll[len(collection) + 1 :]
            name = row[DataObject.name]
            rel = f"{rel_dir}/{name}" if rel_dir else name
            rows.setdefault(rel, []).append(
                (
                    int(row[DataObject.size] or 0),
                    row[DataObject.checksum] or "",
                    str(row[DataObject.replica_status]),
                )
            )
    return rows

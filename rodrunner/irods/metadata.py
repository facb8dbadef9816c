"""AVUs in the catalog: read those of one path, change them atomically, find paths by AVU."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any

import structlog
from irods.meta import AVUOperation, iRODSMeta
from irods.models import Collection, CollectionMeta, DataObject, DataObjectMeta
from irods.session import iRODSSession

from rodrunner.irods.avus import AVU, Change
from rodrunner.irods.errors import translate_errors
from rodrunner.irods.queries import equals

__all__ = ["apply_changes", "paths_with_avu", "read_avus"]

log = structlog.get_logger()


def read_avus(session: iRODSSession, path: str, is_collection: bool) -> list[AVU]:
    """Every AVU row on collection (or data object) ``path``, as the catalog lists them."""
    meta: Any = CollectionMeta if is_collection else DataObjectMeta
    with translate_errors(path):
        query = session.query(meta.name, meta.value, meta.units)
        if is_collection:
            query = query.filter(equals(Collection.name, path, "iRODS path"))
        else:
            query = query.filter(
                equals(Collection.name, posixpath.dirname(path), "iRODS path"),
                equals(DataObject.name, posixpath.basename(path), "iRODS path"),
            )
        return [AVU(r[meta.name], r[meta.value], r[meta.units] or "") for r in query.get_results()]


def paths_with_avu(session: iRODSSession, attribute: str, value: str, kind: str) -> set[str]:
    """Paths of collections and/or data objects (``kind``) with AVU ``attribute=value``."""
    found: set[str] = set()
    with translate_errors():
        if kind in ("any", "collection"):
            q = session.query(Collection.name).filter(
                equals(CollectionMeta.name, attribute, "AVU attribute"),
                equals(CollectionMeta.value, value, "AVU value"),
            )
            found.update(r[Collection.name] for r in q.get_results())
        if kind in ("any", "data_object"):
            q = session.query(Collection.name, DataObject.name).filter(
                equals(DataObjectMeta.name, attribute, "AVU attribute"),
                equals(DataObjectMeta.value, value, "AVU value"),
            )
            found.update(f"{r[Collection.name]}/{r[DataObject.name]}" for r in q.get_results())
    return found


def apply_changes(
    session: iRODSSession, path: str, is_collection: bool, changes: Sequence[Change]
) -> None:
    """Apply ``changes`` to the AVUs of ``path`` in one atomic operation (none: no call)."""
    if not changes:
        return
    model = Collection if is_collection else DataObject
    operations = [
        AVUOperation(operation=op, avu=iRODSMeta(a.attr, a.value, a.units or None))
        for op, a in changes
    ]
    with translate_errors(path):
        session.metadata.apply_atomic_operations(model, path, *operations)
    log.debug("irods.metadata_applied", path=path, operations=len(operations))

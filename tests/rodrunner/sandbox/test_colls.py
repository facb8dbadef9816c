"""Collections through the sandbox with the real python-irodsclient."""

from __future__ import annotations

import pytest
from irods import exception as ex
from irods.session import iRODSSession

HOME = "/tempZone/home/rods"


def test_create_is_recursive_and_idempotent(irods_session: iRODSSession) -> None:
    """create() makes missing parents and succeeds again on an existing collection."""
    coll = irods_session.collections.create(f"{HOME}/a/b/c")
    again = irods_session.collections.create(f"{HOME}/a/b/c")
    assert coll.id == again.id
    assert irods_session.collections.get(f"{HOME}/a/b").path == f"{HOME}/a/b"


def test_create_without_recursion_needs_the_parent(irods_session: iRODSSession) -> None:
    """A non-recursive create under a missing parent is CAT_UNKNOWN_COLLECTION."""
    with pytest.raises(ex.CAT_UNKNOWN_COLLECTION):
        irods_session.collections.create(f"{HOME}/missing/child", recurse=False)


def test_create_over_a_data_object_is_refused(irods_session: iRODSSession) -> None:
    """A collection cannot take a data object's name."""
    irods_session.data_objects.create(f"{HOME}/obj")
    with pytest.raises(ex.CAT_NAME_EXISTS_AS_DATAOBJ):
        irods_session.collections.create(f"{HOME}/obj")


def test_remove_recursive_with_force_deletes_everything_below(irods_session: iRODSSession) -> None:
    """remove(recurse, force) drops the tree and its data objects."""
    irods_session.collections.create(f"{HOME}/tree/sub")
    irods_session.data_objects.create(f"{HOME}/tree/sub/x")
    irods_session.collections.remove(f"{HOME}/tree", recurse=True, force=True)
    assert not irods_session.collections.exists(f"{HOME}/tree")
    assert not irods_session.collections.exists(f"{HOME}/tree/sub")
    assert not irods_session.collections.exists("/tempZone/trash/home/rods/tree")


def test_remove_without_force_goes_to_trash(irods_session: iRODSSession) -> None:
    """remove() without force moves the tree under /zone/trash."""
    irods_session.collections.create(f"{HOME}/old/sub")
    irods_session.collections.remove(f"{HOME}/old")
    assert not irods_session.collections.exists(f"{HOME}/old")
    assert irods_session.collections.exists("/tempZone/trash/home/rods/old/sub")


def test_remove_non_recursive_of_non_empty_is_refused(irods_session: iRODSSession) -> None:
    """A non-recursive remove of a non-empty collection is CAT_COLLECTION_NOT_EMPTY."""
    irods_session.collections.create(f"{HOME}/full")
    irods_session.data_objects.create(f"{HOME}/full/x")
    with pytest.raises(ex.CAT_COLLECTION_NOT_EMPTY):
        irods_session.collections.remove(f"{HOME}/full", recurse=False)


def test_remove_missing_collection_fails(irods_session: iRODSSession) -> None:
    """Removing a collection that does not exist is CAT_UNKNOWN_COLLECTION."""
    with pytest.raises(ex.CAT_UNKNOWN_COLLECTION):
        irods_session.collections.remove(f"{HOME}/never", force=True)


def test_rename_moves_the_subtree_and_its_objects(irods_session: iRODSSession) -> None:
    """move() of a collection renames it and every collection and object below it."""
    irods_session.collections.create(f"{HOME}/before/deep")
    with irods_session.data_objects.open(f"{HOME}/before/deep/f", "w") as f:
        f.write(b"kept")
    irods_session.collections.move(f"{HOME}/before", f"{HOME}/after")
    assert not irods_session.collections.exists(f"{HOME}/before")
    deep = irods_session.collections.get(f"{HOME}/after/deep")
    assert [o.name for o in deep.data_objects] == ["f"]
    with irods_session.data_objects.open(f"{HOME}/after/deep/f", "r") as f:
        assert f.read() == b"kept"

"""AVU metadata in the sandbox through the real python-irodsclient (traces 10-17 as oracle)."""

from __future__ import annotations

from pathlib import Path

import pytest
from irods.exception import (
    CAT_SUCCESS_BUT_WITH_NO_INFO,
    CAT_UNKNOWN_COLLECTION,
    CAT_UNKNOWN_FILE,
    CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME,
    SYS_INVALID_INPUT_PARAM,
)
from irods.meta import AVUOperation, iRODSMeta
from irods.models import Collection, DataObject, User
from irods.session import iRODSSession

HOME = "/tempZone/home/rods"


def avus(session: iRODSSession, model: type, path: str) -> list[tuple[str, str, str | None]]:
    """The AVUs of an entity as (name, value, units), sorted."""
    return sorted((m.name, m.value, m.units) for m in session.metadata.get(model, path))


@pytest.fixture
def coll(irods_session: iRODSSession) -> str:
    """A fresh collection."""
    return str(irods_session.collections.create(f"{HOME}/meta/a").path)


@pytest.fixture
def obj(irods_session: iRODSSession, coll: str, tmp_path: Path) -> str:
    """A fresh 1 KiB data object in ``coll``."""
    local = tmp_path / "one_k"
    local.write_bytes(b"k" * 1024)
    path = f"{coll}/one_k"
    irods_session.data_objects.put(str(local), path)
    return path


def test_add_on_collection_and_data_object(
    irods_session: iRODSSession, coll: str, obj: str
) -> None:
    """add puts AVUs on a collection and, with units, on a data object (traces 10, 11)."""
    irods_session.metadata.add(Collection, coll, iRODSMeta("run_id", "R1"))
    irods_session.metadata.add(DataObject, obj, iRODSMeta("lane", "1", "n"))
    assert avus(irods_session, Collection, coll) == [("run_id", "R1", None)]
    assert avus(irods_session, DataObject, obj) == [("lane", "1", "n")]


def test_duplicate_add_is_catalog_already_has_item(irods_session: iRODSSession, coll: str) -> None:
    """Adding an AVU the collection already has raises CATALOG_ALREADY_HAS_ITEM (trace 13)."""
    irods_session.metadata.add(Collection, coll, iRODSMeta("run_id", "R1"))
    with pytest.raises(CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME):
        irods_session.metadata.add(Collection, coll, iRODSMeta("run_id", "R1"))


def test_same_avu_on_two_entities_shares_one_id(
    irods_session: iRODSSession, coll: str, obj: str
) -> None:
    """Two entities carrying the same AVU see the same AVU id, as iRODS shares meta rows."""
    irods_session.metadata.add(Collection, coll, iRODSMeta("k", "v"))
    irods_session.metadata.add(DataObject, obj, iRODSMeta("k", "v"))
    (on_coll,) = irods_session.metadata.get(Collection, coll)
    (on_obj,) = irods_session.metadata.get(DataObject, obj)
    assert on_coll.avu_id == on_obj.avu_id


def test_set_replaces_every_value_of_the_attribute(irods_session: iRODSSession, obj: str) -> None:
    """set leaves exactly one AVU of that name."""
    meta = irods_session.data_objects.get(obj).metadata
    meta.add("sample_id", "S1")
    meta.add("sample_id", "S2")
    meta.add("other", "x")
    meta.set("sample_id", "S3", "u")
    assert avus(irods_session, DataObject, obj) == [("other", "x", None), ("sample_id", "S3", "u")]


def test_set_keeps_a_lone_avu_id(irods_session: iRODSSession, coll: str) -> None:
    """set on a lone AVU updates it in place: same id, new value."""
    irods_session.metadata.add(Collection, coll, iRODSMeta("status", "ingesting"))
    (before,) = irods_session.metadata.get(Collection, coll)
    irods_session.metadata.set(Collection, coll, iRODSMeta("status", "complete"))
    (after,) = irods_session.metadata.get(Collection, coll)
    assert (after.avu_id, after.value) == (before.avu_id, "complete")


def test_remove_and_remove_missing(irods_session: iRODSSession, obj: str) -> None:
    """remove drops the AVU; removing one that is absent raises CAT_SUCCESS_BUT_WITH_NO_INFO."""
    irods_session.metadata.add(DataObject, obj, iRODSMeta("lane", "1", "n"))
    irods_session.metadata.remove(DataObject, obj, iRODSMeta("lane", "1", "n"))
    assert avus(irods_session, DataObject, obj) == []
    with pytest.raises(CAT_SUCCESS_BUT_WITH_NO_INFO):
        irods_session.metadata.remove(DataObject, obj, iRODSMeta("lane", "1", "n"))


def test_missing_entities_raise_the_real_codes(irods_session: iRODSSession) -> None:
    """A missing collection is CAT_UNKNOWN_COLLECTION, a missing object CAT_UNKNOWN_FILE."""
    with pytest.raises(CAT_UNKNOWN_COLLECTION):
        irods_session.metadata.add(Collection, f"{HOME}/nope", iRODSMeta("k", "v"))
    with pytest.raises(CAT_UNKNOWN_FILE):
        irods_session.metadata.add(DataObject, f"{HOME}/nope.txt", iRODSMeta("k", "v"))


def test_copy_between_entities(irods_session: iRODSSession, coll: str, obj: str) -> None:
    """cp copies every AVU of a collection to a data object."""
    irods_session.metadata.add(Collection, coll, iRODSMeta("a", "1"))
    irods_session.metadata.add(Collection, coll, iRODSMeta("b", "2", "u"))
    irods_session.metadata.copy(Collection, DataObject, coll, obj)
    assert avus(irods_session, DataObject, obj) == [("a", "1", None), ("b", "2", "u")]


def test_user_metadata(irods_session: iRODSSession) -> None:
    """AVUs work on users too."""
    irods_session.metadata.add(User, "rods", iRODSMeta("team", "seq"))
    assert avus(irods_session, User, "rods") == [("team", "seq", None)]


def test_atomic_adds_and_tolerates_missing_remove(irods_session: iRODSSession, coll: str) -> None:
    """An atomic batch with a remove of an absent AVU succeeds (trace 12)."""
    irods_session.metadata.apply_atomic_operations(
        Collection,
        coll,
        AVUOperation("add", iRODSMeta("sample_id", "S1")),
        AVUOperation("add", iRODSMeta("sample_id", "S2")),
        AVUOperation("remove", iRODSMeta("no_such", "avu")),
    )
    irods_session.metadata.apply_atomic_operations(
        Collection, coll, AVUOperation("add", iRODSMeta("sample_id", "S1"))
    )
    assert avus(irods_session, Collection, coll) == [
        ("sample_id", "S1", None),
        ("sample_id", "S2", None),
    ]


def test_atomic_error_object_and_rollback(irods_session: iRODSSession, coll: str) -> None:
    """A bad operation fails the whole batch with the server's JSON error (traces 15, 17)."""
    with pytest.raises(SYS_INVALID_INPUT_PARAM) as info:
        irods_session.metadata.apply_atomic_operations(
            Collection,
            coll,
            AVUOperation("add", iRODSMeta("k2", "v")),
            AVUOperation("add", iRODSMeta("", "v")),
        )
    assert info.value.server_msg.get_json_encoded_struct() == {
        "error_message": "Empty metadata attribute name or value [attribute=, value=v]",
        "operation": {"attribute": "", "operation": "add", "value": "v"},
        "operation_index": 1,
    }
    assert avus(irods_session, Collection, coll) == []


def test_atomic_on_missing_entity(irods_session: iRODSSession) -> None:
    """Atomic operations on a missing collection name it in the error (trace 14)."""
    path = f"{HOME}/nope"
    with pytest.raises(SYS_INVALID_INPUT_PARAM) as info:
        irods_session.metadata.apply_atomic_operations(
            Collection, path, AVUOperation("add", iRODSMeta("k", "v"))
        )
    assert info.value.server_msg.get_json_encoded_struct() == {
        "error_message": f"Entity does not exist [entity_name={path}]",
        "operation": None,
        "operation_index": 0,
    }


def test_atomic_on_data_object(irods_session: iRODSSession, obj: str) -> None:
    """Atomic add and remove with units on a data object."""
    irods_session.metadata.apply_atomic_operations(
        DataObject,
        obj,
        AVUOperation("add", iRODSMeta("lane", "1", "n")),
        AVUOperation("add", iRODSMeta("lane", "2", "n")),
        AVUOperation("remove", iRODSMeta("lane", "1", "n")),
    )
    assert avus(irods_session, DataObject, obj) == [("lane", "2", "n")]

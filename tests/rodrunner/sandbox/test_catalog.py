"""The sandbox catalog: bootstrap, shared ids, persistence, atomic transactions."""

from __future__ import annotations

from pathlib import Path

import pytest

from rodrunner.sandbox.catalog import Catalog, now_ts


def test_bootstrap_creates_zone_home_and_admin(tmp_path: Path) -> None:
    """A new catalog has the zone tree, the admin as rodsadmin and demoResc."""
    cat = Catalog(tmp_path / "c.sqlite", zone="z", admin="boss", password="pw")
    assert cat.coll_by_name("/z/home/boss") is not None
    assert cat.coll_by_name("/z/trash/home/boss") is not None
    user = cat.user("boss")
    assert user is not None
    assert user["user_type_name"] == "rodsadmin"
    assert cat.resource_id() > 0
    cat.close()


def test_reopen_keeps_data_and_updates_the_password(tmp_path: Path) -> None:
    """Reopening keeps collections and takes the new admin password."""
    cat = Catalog(tmp_path / "c.sqlite", zone="z", admin="boss", password="pw")
    cat.add_coll("/z/home/boss/kept", "boss")
    cat.close()
    cat = Catalog(tmp_path / "c.sqlite", zone="z", admin="boss", password="new")
    assert cat.coll_by_name("/z/home/boss/kept") is not None
    user = cat.user("boss")
    assert user is not None
    assert user["password"] == "new"
    cat.close()


def test_ids_are_unique_and_transactions_roll_back(tmp_path: Path) -> None:
    """new_id never repeats; a failing tx() block leaves nothing behind."""
    cat = Catalog(tmp_path / "c.sqlite", zone="z", admin="boss", password="pw")
    ids = {cat.new_id() for _ in range(100)}
    assert len(ids) == 100

    def failing_tx() -> None:
        with cat.tx():
            cat.add_coll("/z/home/boss/ghost", "boss")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing_tx()
    assert cat.coll_by_name("/z/home/boss/ghost") is None
    assert len(now_ts()) == 11
    cat.close()

"""rodrunner.irods.avus: AVUs and the atomic change that makes a set of them true."""

from __future__ import annotations

import pytest

from rodrunner.irods.avus import AVU, changes_to_remove, changes_to_set, sorted_avus

HELD = [AVU("run_id", "R1"), AVU("project", "P1"), AVU("project", "P2"), AVU("x", "1", "s")]


def test_an_avu_from_a_tuple() -> None:
    """Two or three parts make an AVU (empty units for none); other lengths are refused."""
    assert AVU.of(("a", "b")) == AVU("a", "b", "")
    assert AVU.of(("a", 1, None)) == AVU("a", "1", "")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="attribute, value"):
        AVU.of(("a",))


def test_setting_adds_only_what_is_missing_and_replaces_named_attributes() -> None:
    """Held AVUs stay; an attribute to replace loses the values not asked for, in one change."""
    added, removed = changes_to_set(
        HELD, [("project", "P2"), ("project", "P3"), ("run_id", "R1")], ["project"]
    )
    assert added == [AVU("project", "P3")]
    assert removed == [AVU("project", "P1")]


def test_setting_without_replacement_removes_nothing() -> None:
    """Without replace_attributes nothing held is removed; duplicates are asked for once."""
    added, removed = changes_to_set(HELD, [("new", "v"), ("new", "v")])
    assert (added, removed) == ([AVU("new", "v")], [])


def test_removing_ignores_what_is_not_there() -> None:
    """Only held AVUs are removed, each once."""
    gone = changes_to_remove(HELD, [("project", "P1"), ("project", "P1"), ("nope", "v")])
    assert gone == [AVU("project", "P1")]


def test_avus_are_sorted_without_duplicates() -> None:
    """A listing is sorted by attribute, value and units, each AVU once."""
    assert sorted_avus([*HELD, AVU("project", "P1")]) == [
        AVU("project", "P1"),
        AVU("project", "P2"),
        AVU("run_id", "R1"),
        AVU("x", "1", "s"),
    ]

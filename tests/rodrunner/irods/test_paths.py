"""rodrunner.irods.paths: which iRODS paths are accepted, and paths below a collection."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.errors import PathError
from rodrunner.irods.paths import check_irods_path, child, in_subtree


@pytest.mark.parametrize(
    ("path", "clean"),
    [("/tempZone/home/rods/run", "/tempZone/home/rods/run"), ("/tempZone/x/", "/tempZone/x")],
)
def test_check_irods_path_keeps_clean_paths(path: str, clean: str) -> None:
    """An absolute path without '.', '..' or '//' comes back without its trailing slash."""
    assert check_irods_path(path) == clean


@pytest.mark.parametrize("path", ["", "/", "//", "relative/x", "/a/../b", "/a/./b", "/a//b"])
def test_check_irods_path_refuses_paths_that_wander(path: str) -> None:
    """Relative paths, the root, '.', '..' and empty components are a PathError naming them."""
    with pytest.raises(PathError, match="iRODS path"):
        check_irods_path(path)


@given(st.text(alphabet="/.ab", max_size=12))
def test_check_irods_path_never_lets_a_climbing_path_through(path: str) -> None:
    """Any string in: a PathError, or an absolute path with no empty, '.' or '..' component."""
    try:
        clean = check_irods_path(path)
    except PathError:
        return
    assert clean.startswith("/")
    assert all(part not in ("", ".", "..") for part in clean.split("/")[1:])


@pytest.mark.parametrize("relative", ["../x", "a/../../x", "/etc/passwd", ".."])
def test_a_child_never_climbs_out(relative: str) -> None:
    """A relative path that would leave the collection is a PathError naming both."""
    with pytest.raises(PathError, match="climb out"):
        child("/z/home/run", relative)


def test_a_child_is_below_its_parent() -> None:
    """A plain relative path is joined below the collection."""
    assert child("/z/home/run", "Data/x.bin") == "/z/home/run/Data/x.bin"


@pytest.mark.parametrize(
    ("name", "inside"),
    [("/z/run", True), ("/z/run/a", True), ("/z/run2", False), ("/z/ru", False)],
)
def test_in_subtree_is_the_collection_and_below(name: str, inside: bool) -> None:
    """A collection is in the subtree of itself and its ancestors, never of a name prefix."""
    assert in_subtree(name, "/z/run") is inside

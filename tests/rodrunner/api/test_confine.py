"""Client-given paths stay inside the sequencer roots and the zone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.api.confine import confine_irods_path, confine_local_path
from rodrunner.errors import PathError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A sequencer root with one run folder, and a folder outside it."""
    (tmp_path / "seq" / "novaseq" / "RUN1").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    return Path(os.path.realpath(tmp_path / "seq"))


def test_a_folder_inside_a_root_is_returned_resolved(root: Path) -> None:
    """A run folder below the root passes, resolved; a trailing slash is fine."""
    run = root / "novaseq" / "RUN1"
    assert confine_local_path("run_dir", f"{run}/", [root]) == str(run)


def test_the_root_itself_only_when_allowed(root: Path) -> None:
    """The root is a valid root_dir but not a run_dir."""
    assert confine_local_path("root_dir", str(root), [root], allow_root=True) == str(root)
    with pytest.raises(PathError, match="outside"):
        confine_local_path("run_dir", str(root), [root])


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("/etc", "outside"),
        ("relative/RUN1", "absolute"),
        ("{root}/novaseq/../../outside", r"'\.\.'"),
        ("{root}/..", r"'\.\.'"),
        ("{root}/a\x00b", "NUL"),
    ],
)
def test_paths_outside_or_climbing_are_refused(root: Path, value: str, problem: str) -> None:
    """Outside, relative, '..' or NUL: PathError naming the parameter and the roots."""
    with pytest.raises(PathError, match=problem) as info:
        confine_local_path("run_dir", value.format(root=root), [root])
    assert "run_dir" in str(info.value)


def test_a_symlink_out_of_the_root_is_refused(root: Path) -> None:
    """A link inside the root pointing outside resolves outside: refused, saying where to."""
    (root / "novaseq" / "escape").symlink_to(root.parent / "outside")
    with pytest.raises(PathError, match="resolves to"):
        confine_local_path("run_dir", str(root / "novaseq" / "escape"), [root])


def test_a_root_given_as_a_symlink_is_compared_resolved(tmp_path: Path, root: Path) -> None:
    """Roots and values are compared after resolving, so a linked base_dir still works."""
    link = tmp_path / "linked-seq"
    link.symlink_to(root)
    run = link / "novaseq" / "RUN1"
    assert confine_local_path("run_dir", str(run), [Path(os.path.realpath(link))]) == str(
        root / "novaseq" / "RUN1"
    )


@given(st.text(max_size=60))
def test_any_text_is_either_inside_or_a_path_error(value: str) -> None:
    """Whatever the text, the answer is a path inside the root or a PathError."""
    root = Path("/nonexistent-root-for-test")
    try:
        result = confine_local_path("run_dir", value, [root])
    except PathError:
        return
    assert Path(result).is_relative_to(root)


@pytest.mark.parametrize(
    "value",
    ["/tempZone/home/rods/x", "/tempZone/home/rods/x/", "/tempZone/trash"],
)
def test_irods_paths_inside_the_zone_pass(value: str) -> None:
    """Clean absolute paths below /zone pass, without a trailing slash."""
    assert confine_irods_path("irods_path", value, "tempZone") == value.rstrip("/")


@pytest.mark.parametrize(
    "value",
    [
        "/otherZone/home/rods/x",
        "/tempZone",
        "/",
        "tempZone/home",
        "/tempZone/home/../../etc",
        "/tempZone/./home",
        "/tempZone//home",
        "/tempZone/a\x00",
    ],
)
def test_irods_paths_outside_the_zone_or_unclean_are_refused(value: str) -> None:
    """Another zone, the zone itself, relative, '.', '..', '//' or NUL: PathError."""
    with pytest.raises(PathError, match="irods_path"):
        confine_irods_path("irods_path", value, "tempZone")


@given(st.text(max_size=60))
def test_any_irods_text_is_inside_the_zone_or_a_path_error(value: str) -> None:
    """Whatever the text, a clean path below /tempZone/ or a PathError."""
    try:
        result = confine_irods_path("irods_path", value, "tempZone")
    except PathError:
        return
    assert result.startswith("/tempZone/")
    assert ".." not in result.split("/")

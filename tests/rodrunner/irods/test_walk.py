"""Tests for rodrunner.irods.walk: the local tree listing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.irods.walk import matches, walk_tree


def _tree(root: Path) -> None:
    (root / "Data" / "Intensities").mkdir(parents=True)
    (root / "Thumbnail_Images" / "L001").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "RunInfo.xml").write_text("<RunInfo/>")
    (root / "Data" / "Intensities" / "s_1.cbcl").write_bytes(b"x" * 100)
    (root / "Thumbnail_Images" / "L001" / "a.jpg").write_bytes(b"jpg")
    (root / "zero").write_bytes(b"")


def test_lists_relative_paths_sizes_and_directories(tmp_path: Path) -> None:
    """Every regular file appears once with its relative path and size; directories too."""
    _tree(tmp_path)
    listing = walk_tree(tmp_path)
    assert [(f.relative, f.size) for f in listing.files] == [
        ("Data/Intensities/s_1.cbcl", 100),
        ("RunInfo.xml", 10),
        ("Thumbnail_Images/L001/a.jpg", 3),
        ("zero", 0),
    ]
    assert listing.directories == [
        "Data",
        "Data/Intensities",
        "Thumbnail_Images",
        "Thumbnail_Images/L001",
        "empty",
    ]
    assert listing.errors == []
    assert listing.total_bytes == 113


def test_exclude_by_name_prunes_a_whole_directory(tmp_path: Path) -> None:
    """A slash-less exclude pattern matches any component and drops the subtree."""
    _tree(tmp_path)
    listing = walk_tree(tmp_path, exclude=["Thumbnail_Images", "*.xml"])
    assert [f.relative for f in listing.files] == ["Data/Intensities/s_1.cbcl", "zero"]
    assert not any(d.startswith("Thumbnail_Images") for d in listing.directories)


def test_exclude_with_slash_matches_path_prefixes(tmp_path: Path) -> None:
    """A pattern with a slash excludes the directory it names and everything below."""
    _tree(tmp_path)
    listing = walk_tree(tmp_path, exclude=["Data/Intensities"])
    assert "Data/Intensities/s_1.cbcl" not in [f.relative for f in listing.files]


def test_include_keeps_only_matching_files(tmp_path: Path) -> None:
    """With include patterns, only matching files are listed."""
    _tree(tmp_path)
    listing = walk_tree(tmp_path, include=["*.xml", "*.jpg"])
    assert [f.relative for f in listing.files] == ["RunInfo.xml", "Thumbnail_Images/L001/a.jpg"]


def test_symlink_inside_is_listed_as_its_target(tmp_path: Path) -> None:
    """A symlink to a file inside the run folder is uploaded with its target's content."""
    _tree(tmp_path)
    (tmp_path / "link.xml").symlink_to("RunInfo.xml")
    listing = walk_tree(tmp_path)
    link = next(f for f in listing.files if f.relative == "link.xml")
    assert link.source == (tmp_path / "RunInfo.xml").resolve()
    assert link.size == 10


def test_symlink_outside_is_an_error_for_that_file(tmp_path: Path) -> None:
    """A symlink leaving the run folder is refused per file; the rest is still listed."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "a").write_text("a")
    secret = tmp_path / "secret"
    secret.write_text("s")
    (run / "escape").symlink_to(secret)
    (run / "escape_rel").symlink_to("../secret")
    listing = walk_tree(run)
    assert [f.relative for f in listing.files] == ["a"]
    assert sorted(e.relative for e in listing.errors) == ["escape", "escape_rel"]
    assert all("outside the run folder" in e.message for e in listing.errors)


def test_dangling_loop_and_directory_symlinks_are_errors(tmp_path: Path) -> None:
    """Dangling links, link loops and directory links are per-file errors, never followed."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("f")
    (tmp_path / "dangling").symlink_to("nowhere")
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    (tmp_path / "dirlink").symlink_to("d")
    listing = walk_tree(tmp_path)
    assert [f.relative for f in listing.files] == ["d/f"]
    errors = {e.relative: e.message for e in listing.errors}
    assert set(errors) == {"dangling", "loop1", "loop2", "dirlink"}
    assert "does not exist" in errors["dangling"]
    assert "directory" in errors["dirlink"]


def test_fifo_is_an_error_not_a_hang(tmp_path: Path) -> None:
    """A FIFO is reported instead of being opened."""
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "ok").write_text("ok")
    listing = walk_tree(tmp_path)
    assert [f.relative for f in listing.files] == ["ok"]
    assert [e.relative for e in listing.errors] == ["pipe"]


def test_undecodable_name_is_an_error_for_that_file(tmp_path: Path) -> None:
    """A name that is not UTF-8 is reported per file, shown with escapes."""
    bad = os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt")
    with open(bad, "wb") as fh:
        fh.write(b"x")
    (tmp_path / "good.txt").write_text("g")
    listing = walk_tree(tmp_path)
    assert [f.relative for f in listing.files] == ["good.txt"]
    assert listing.errors[0].relative == "caf\\xe9.txt"
    assert "UTF-8" in listing.errors[0].message


def test_newline_in_name_is_an_error(tmp_path: Path) -> None:
    """A newline in a file name is reported per file."""
    (tmp_path / "a\nb").write_text("x")
    listing = walk_tree(tmp_path)
    assert listing.files == []
    assert len(listing.errors) == 1


def test_root_reached_through_a_symlink(tmp_path: Path) -> None:
    """A run folder that is itself a symlink is walked at its real path."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "f").write_text("f")
    (tmp_path / "alias").symlink_to(real)
    listing = walk_tree(tmp_path / "alias")
    assert [f.relative for f in listing.files] == ["f"]
    assert listing.errors == []


def test_missing_root_raises(tmp_path: Path) -> None:
    """A root that is not a directory raises NotADirectoryError."""
    with pytest.raises(NotADirectoryError, match="is not a directory"):
        walk_tree(tmp_path / "nope")


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=8),
        min_size=1,
        max_size=4,
    ),
    st.lists(st.text(max_size=6), max_size=3),
)
def test_matches_never_raises(parts: list[str], patterns: list[str]) -> None:
    """Any relative path and any patterns give a bool, never an exception."""
    assert isinstance(matches("/".join(parts), patterns), bool)

"""The run manifest: canonical, checked, comparable."""

from __future__ import annotations

import contextlib
import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.errors import ManifestError, PathError
from rodrunner.manifest import build_manifest, compare, compare_sizes, parse_manifest

SHA_A = hashlib.sha256(b"a").hexdigest()
SHA_B = hashlib.sha256(b"b").hexdigest()


def test_manifest_is_sorted_canonical_json() -> None:
    """Entries are sorted by path; the bytes are compact JSON with sorted keys."""
    m = build_manifest("R1", {"b/x": 1, "a": 2}, {"b/x": SHA_B, "a": SHA_A})
    doc = json.loads(m.to_bytes())
    assert [f["path"] for f in doc["files"]] == ["a", "b/x"]
    assert doc["run_id"] == "R1"
    assert m.to_bytes() == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    assert m.sha256 == hashlib.sha256(m.to_bytes()).hexdigest()
    assert (m.files, m.total_bytes) == (2, 3)


def test_same_files_in_any_order_give_same_sha() -> None:
    """The manifest sha256 does not depend on the order files were seen in."""
    one = build_manifest("R", {"a": 1, "b": 1}, {"a": SHA_A, "b": SHA_B})
    two = build_manifest("R", {"b": 1, "a": 1}, {"b": SHA_B, "a": SHA_A})
    assert one.sha256 == two.sha256


def test_round_trip() -> None:
    """parse_manifest(to_bytes()) gives the same manifest."""
    m = build_manifest("R", {"dir/ü.txt": 5, "a": 0}, {"dir/ü.txt": SHA_A, "a": SHA_B})
    assert parse_manifest(m.to_bytes()) == m


def test_missing_checksum_is_named() -> None:
    """A file without a checksum is a ManifestError naming it."""
    with pytest.raises(ManifestError, match="lonely"):
        build_manifest("R", {"lonely": 1}, {})


def test_climbing_path_is_refused() -> None:
    """A path with '..' never enters a manifest."""
    with pytest.raises(PathError):
        build_manifest("R", {"../x": 1}, {"../x": SHA_A})


@pytest.mark.parametrize(
    "data",
    [
        b"\xff",
        b"[]",
        b'{"format":"other"}',
        b'{"format":"rodrunner.manifest/1","run_id":"R","files":[{"path":"a","size":-1,"sha256":"'
        + SHA_A.encode()
        + b'"}]}',
        b'{"format":"rodrunner.manifest/1","run_id":"R","files":[{"path":"../a","size":1,"sha256":"'
        + SHA_A.encode()
        + b'"}]}',
        b'{"format":"rodrunner.manifest/1","run_id":"R","files":[{"path":"a","size":1,"sha256":"zz"}]}',
    ],
)
def test_bad_stored_manifest_is_manifest_error(data: bytes) -> None:
    """A corrupt or hostile stored manifest is a ManifestError, never another exception."""
    with pytest.raises(ManifestError):
        parse_manifest(data)


@given(st.binary())
def test_any_bytes_parse_or_manifest_error(data: bytes) -> None:
    """Any bytes in: a Manifest or a ManifestError out."""
    with contextlib.suppress(ManifestError):
        parse_manifest(data)


def test_compare_reports_missing_extra_changed() -> None:
    """compare() names paths missing, extra, and changed in size or checksum."""
    m = build_manifest("R", {"a": 1, "b": 1, "c": 1}, {"a": SHA_A, "b": SHA_B, "c": SHA_A})
    other = build_manifest("R", {"a": 1, "b": 1, "d": 1}, {"a": SHA_A, "b": SHA_A, "d": SHA_A})
    diff = compare(m, other)
    assert (diff.missing, diff.extra, diff.changed) == (("c",), ("d",), ("b",))
    assert not diff.same
    assert compare(m, m).same


def test_compare_sizes_ignores_checksums() -> None:
    """The cheap check compares paths and sizes only."""
    m = build_manifest("R", {"a": 1, "b": 2}, {"a": SHA_A, "b": SHA_B})
    assert compare_sizes(m, {"a": 1, "b": 2}).same
    assert compare_sizes(m, {"a": 1, "b": 3}).changed == ("b",)

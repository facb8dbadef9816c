"""catalog_problems: a complete run's manifest against the catalog listing (pure)."""

from __future__ import annotations

import hashlib

from rodrunner.ingest_rules import catalog_problems
from rodrunner.irods.checksums import RemoteObject
from rodrunner.manifest import build_manifest

SHA_A = hashlib.sha256(b"a").hexdigest()
SHA_B = hashlib.sha256(b"bb").hexdigest()
MANIFEST = build_manifest("run", {"a": 1, "d/b": 2}, {"a": SHA_A, "d/b": SHA_B})


def test_catalog_that_holds_the_manifest_has_no_problems() -> None:
    """Every entry there, good, same size, SHA-256 equal: nothing to send."""
    remote = {
        "a": RemoteObject(1, SHA_A),
        "d/b": RemoteObject(2, SHA_B),
        "x": RemoteObject(9, None),
    }
    assert catalog_problems(MANIFEST, remote) == ()


def test_md5_checksum_counts_as_present() -> None:
    """In an MD5 zone the catalog's checksum is an MD5: present is enough for this check."""
    remote = {
        "a": RemoteObject(1, None, md5=hashlib.md5(b"a", usedforsecurity=False).hexdigest()),
        "d/b": RemoteObject(2, SHA_B),
    }
    assert catalog_problems(MANIFEST, remote) == ()


def test_each_kind_of_difference_is_named() -> None:
    """Missing, stale, other size, no checksum and another SHA-256 each make one line."""
    cases = {
        "missing": {},
        "no good replica": {"a": RemoteObject(1, None, good=False)},
        "size 5": {"a": RemoteObject(5, SHA_A)},
        "no checksum": {"a": RemoteObject(1, None)},
        "differs": {"a": RemoteObject(1, SHA_B)},
    }
    for words, remote_a in cases.items():
        problems = catalog_problems(MANIFEST, {**remote_a, "d/b": RemoteObject(2, SHA_B)})
        assert len(problems) == 1
        assert problems[0].startswith("a: ")
        assert words in problems[0]


def test_an_md5_the_manifest_records_is_compared() -> None:
    """In an MD5 zone's manifest each entry has its MD5: the catalog's must equal it."""
    md5 = {k: hashlib.md5(v, usedforsecurity=False).hexdigest() for k, v in (("a", b"a"),)}
    manifest = build_manifest(
        "run", {"a": 1}, {"a": SHA_A}, md5s={"a": md5["a"]}, irods_checksum="md5"
    )
    assert catalog_problems(manifest, {"a": RemoteObject(1, None, md5=md5["a"])}) == ()
    other = hashlib.md5(b"b", usedforsecurity=False).hexdigest()
    assert catalog_problems(manifest, {"a": RemoteObject(1, None, md5=other)}) == (
        "a: MD5 in iRODS differs from the manifest",
    )

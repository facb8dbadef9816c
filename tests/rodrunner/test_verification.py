"""The pure comparisons of ``rodrunner verify``: values in, problems out."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from rodrunner.irods.replicas import ChecksumFinding, Replica, ReplicaVerification
from rodrunner.manifest import build_manifest, compare_checksum
from rodrunner.verification import (
    LocalFile,
    StoredState,
    catalog_notes,
    check_catalog,
    check_deep,
    check_local,
    check_stored,
    sha256_hex,
)

A, B = "a" * 64, "b" * 64
MANIFEST = build_manifest("RUN", {"x": 3, "d/y": 5}, {"x": A, "d/y": B})


def sha2(hexsum: str) -> str:
    return "sha2:" + base64.b64encode(bytes.fromhex(hexsum)).decode()


def good(size: int, hexsum: str, number: int = 0, resource: str = "demoResc") -> Replica:
    return Replica(number, resource, "good", size, sha2(hexsum))


def kinds(problems: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(p.kind, p.path) for p in problems]


def test_sha256_hex_reads_sha2_and_refuses_other_schemes() -> None:
    """sha2:<base64> becomes hex; an MD5 hex or garbage is None (not comparable)."""
    assert sha256_hex(sha2(A)) == A
    assert sha256_hex("c949281687106569be1fdd0f095af188") is None
    assert sha256_hex("sha2:***") is None


def test_a_complete_run_with_its_manifest_digest_has_no_stored_problem() -> None:
    """Status complete and the manifest's digest equal to the AVU: nothing to say."""
    state = StoredState("complete", MANIFEST.sha256, MANIFEST, None, MANIFEST.sha256)
    assert check_stored(state) == []


def test_status_manifest_and_digest_problems_are_named() -> None:
    """Status not complete, no manifest, or a digest unlike the AVU's: one problem each."""
    assert kinds(check_stored(StoredState("ingesting", None, None, "gone"))) == [
        ("status", ""),
        ("manifest", "rodrunner.manifest.json"),
    ]
    wrong = StoredState("complete", "0" * 64, MANIFEST, None, MANIFEST.sha256)
    assert kinds(check_stored(wrong)) == [("manifest_sha", "rodrunner.manifest.json")]


def test_catalog_equal_to_the_manifest_is_whole() -> None:
    """Every file with its size and checksum, plus the manifest object: no problem."""
    catalog = {
        "x": [good(3, A)],
        "d/y": [good(5, B), good(5, B, 1, "second")],
        "rodrunner.manifest.json": [good(10, A)],
    }
    assert check_catalog(MANIFEST, catalog) == []


def test_catalog_differences_are_one_problem_each() -> None:
    """Missing, extra, wrong size, wrong checksum, no checksum, stale and no good replica."""
    catalog = {
        "d/y": [good(5, A), Replica(1, "second", "stale", 5, sha2(B))],
        "extra": [good(1, A)],
    }
    assert kinds(check_catalog(MANIFEST, catalog)) == [
        ("stale", "d/y"),
        ("checksum", "d/y"),
        ("missing", "x"),
        ("extra", "extra"),
    ]
    catalog = {
        "x": [Replica(0, "demoResc", "good", 4, sha2(A))],
        "d/y": [Replica(0, "demoResc", "stale", 5, sha2(B)), Replica(1, "s", "good", 5, "")],
    }
    assert kinds(check_catalog(MANIFEST, catalog)) == [
        ("stale", "d/y"),
        ("no_checksum", "d/y"),
        ("size", "x"),
    ]
    catalog = {"x": [good(3, A)], "d/y": [Replica(0, "demoResc", "stale", 5, sha2(B))]}
    assert kinds(check_catalog(MANIFEST, catalog)) == [("stale", "d/y"), ("no_good", "d/y")]


def test_an_md5_without_an_md5_in_the_manifest_is_a_note_not_a_problem() -> None:
    """An MD5 in the catalog and none in the manifest (a SHA-256 zone's or an older one): size
    decides, and one note says the checksums could not be compared."""
    catalog = {
        "x": [Replica(0, "demoResc", "good", 3, "c949281687106569be1fdd0f095af188")],
        "d/y": [good(5, B)],
    }
    assert check_catalog(MANIFEST, catalog) == []
    notes = catalog_notes(MANIFEST, catalog)
    assert kinds(notes) == [("size_only", "")]
    assert "cannot compare: the manifest has no MD5" in notes[0].message
    assert "1 replica(s) of 1 file(s)" in notes[0].message
    assert catalog_notes(MANIFEST, {"x": [good(3, A)], "d/y": [good(5, B)]}) == []
    other = {"x": [Replica(0, "demoResc", "good", 3, "sha512:AAAA")], "d/y": [good(5, B)]}
    assert check_catalog(MANIFEST, other) == []
    assert [n.message.split(" (")[0] for n in catalog_notes(MANIFEST, other)] == [
        "cannot compare: the catalog checksum is neither SHA-256 nor MD5"
    ]


M1, M2 = "c949281687106569be1fdd0f095af188", "0" * 32
MD5_MANIFEST = build_manifest(
    "RUN", {"x": 3, "d/y": 5}, {"x": A, "d/y": B}, md5s={"x": M1, "d/y": M2}, irods_checksum="md5"
)


def md5_replica(size: int, hexsum: str, number: int = 0) -> Replica:
    return Replica(number, "demoResc", "good", size, hexsum)


def test_an_md5_catalog_is_compared_with_the_manifests_md5() -> None:
    """In an MD5 zone the catalog's MD5 must equal the manifest's: a differing one is a
    'checksum' problem naming the file and both MD5s; equal ones need no note."""
    catalog = {"x": [md5_replica(3, M1)], "d/y": [md5_replica(5, M2)]}
    assert check_catalog(MD5_MANIFEST, catalog) == []
    assert catalog_notes(MD5_MANIFEST, catalog) == []
    catalog = {"x": [md5_replica(3, M1), md5_replica(3, M2, 1)], "d/y": [md5_replica(5, M2)]}
    problems = check_catalog(MD5_MANIFEST, catalog)
    assert kinds(problems) == [("checksum", "x")]
    assert problems[0].message == (
        f"replica 1 on demoResc has MD5 {M2} in the catalog, the manifest says {M1}"
    )


def test_one_comparison_of_catalog_checksum_and_manifest_entry() -> None:
    """SHA-256 against the entry's sha256, MD5 against its md5; an MD5 the entry lacks and a
    checksum in neither scheme are not compared, and say why."""
    entry = MD5_MANIFEST.entries[1]  # x
    assert entry.path == "x"
    assert compare_checksum(entry, sha256=A, md5=None).differs is False
    assert compare_checksum(entry, sha256=B, md5=None).differs is True
    assert compare_checksum(entry, sha256=None, md5=M1).differs is False
    assert compare_checksum(entry, sha256=None, md5=M1.upper()).differs is False
    found = compare_checksum(entry, sha256=None, md5=M2)
    assert (found.differs, found.scheme, found.catalog, found.manifest) == (True, "MD5", M2, M1)
    bare = MANIFEST.entries[1]
    assert compare_checksum(bare, sha256=None, md5=M1).why_not == "the manifest has no MD5"
    assert compare_checksum(bare, sha256=None, md5=M1).differs is False
    assert compare_checksum(bare, sha256=None, md5=None).why_not == (
        "the catalog checksum is neither SHA-256 nor MD5"
    )
    assert compare_checksum(bare, sha256=A, md5=None).why_not is None


def test_local_folder_differences() -> None:
    """Gone, grown, other bytes, modified after the ingest, and added files are reported."""
    local = {"x": LocalFile(3, A), "d/y": LocalFile(5, B)}
    assert check_local(MANIFEST, local) == []
    local = {"x": LocalFile(4), "new": LocalFile(1)}
    assert kinds(check_local(MANIFEST, local)) == [
        ("local_missing", "d/y"),
        ("local_changed", "x"),
        ("local_extra", "new"),
    ]
    assert kinds(check_local(MANIFEST, {"x": LocalFile(3, B), "d/y": LocalFile(5, B)})) == [
        ("local_changed", "x")
    ]
    ingested = datetime(2026, 1, 1, tzinfo=UTC)
    local = {"x": LocalFile(3, mtime=ingested.timestamp() + 60), "d/y": LocalFile(5, mtime=0.0)}
    assert kinds(check_local(MANIFEST, local, changed_after=ingested)) == [("local_changed", "x")]
    local = {"x": LocalFile(3, mtime=ingested.timestamp() + 0.5), "d/y": LocalFile(5)}
    assert check_local(MANIFEST, local, changed_after=ingested) == []


def test_deep_findings_become_storage_problems_with_the_checksums() -> None:
    """Errors are problems (with the error block's line); what the catalog shows is left out."""
    results = {
        "x": ReplicaVerification(
            "/c/x",
            (
                ChecksumFinding(-314000, "error", "mismatch for replica [1].", 1),
                ChecksumFinding(0, "info", "INFO: Number of replicas skipped: 1", None),
                ChecksumFinding(-862000, "warning", "No checksum available [0].", 0),
                ChecksumFinding(-314000, "warning", "replicas with different checksums.", None),
            ),
            ("computed checksum [p] != catalog value [q] for [/c/x] replica number [1]",),
        ),
        "d/y": ReplicaVerification("/c/d/y"),
    }
    problems = check_deep(results)
    assert kinds(problems) == [("storage", "x")]
    assert problems[0].message == (
        "mismatch for replica [1]. (-314000): computed checksum [p] != catalog value [q] for "
        "[/c/x] replica number [1]"
    )

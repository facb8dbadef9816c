"""The safe-to-delete gate: each condition judged from values, by name."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from rodrunner.config import RetentionConfig
from rodrunner.deletable import CONDITIONS, GateInput, evaluate, good_replicas
from rodrunner.irods.replicas import Replica
from rodrunner.manifest import build_manifest
from rodrunner.verification import LocalFile, StoredState

A = "a" * 64
MANIFEST = build_manifest("RUN", {"x": 3}, {"x": A})
NOW = datetime(2026, 6, 1, tzinfo=UTC)
SHA2 = "sha2:" + base64.b64encode(bytes.fromhex(A)).decode()


def passing() -> GateInput:
    return GateInput(
        now=NOW,
        ledger_state="ingested",
        ledger_problem=None,
        stored=StoredState("complete", MANIFEST.sha256, MANIFEST, None, MANIFEST.sha256),
        catalog={"x": [Replica(0, "demoResc", "good", 3, SHA2)]},
        local={"x": LocalFile(3, mtime=(NOW - timedelta(days=20)).timestamp())},
        local_problem=None,
        ingested_at=NOW - timedelta(days=10),
        verified_at=NOW - timedelta(days=1),
        keep_file=False,
        min_replicas=1,
        keep_days=7,
        verify_within=7,
    )


def failing(inp: GateInput) -> list[str]:
    return [c.name for c in evaluate(inp) if not c.ok]


def test_every_condition_holds_and_is_named_in_order() -> None:
    """A run that passes everything: seven conditions, all ok, in the documented order."""
    conditions = evaluate(passing())
    assert [c.name for c in conditions] == list(CONDITIONS)
    assert all(c.ok for c in conditions)


@pytest.mark.parametrize(
    ("change", "fails"),
    [
        ({"ledger_state": "failed"}, ["ledger_ingested"]),
        ({"ledger_state": None}, ["ledger_ingested"]),
        ({"ledger_problem": "no ledger at 'x'"}, ["ledger_ingested"]),
        ({"keep_file": True}, ["no_keep_file"]),
        ({"ingested_at": NOW - timedelta(days=2)}, ["keep_days"]),
        ({"ingested_at": None}, ["keep_days"]),
        ({"verified_at": None}, ["verified_within"]),
        ({"verified_at": NOW - timedelta(days=8)}, ["verified_within"]),
        ({"min_replicas": 2}, ["min_replicas"]),
        ({"local": {"x": LocalFile(3), "y": LocalFile(1)}}, ["folder_matches_manifest"]),
        ({"local": None, "local_problem": "gone"}, ["folder_matches_manifest"]),
        (
            {"local": {"x": LocalFile(3, mtime=(NOW - timedelta(days=1)).timestamp())}},
            ["folder_matches_manifest"],
        ),
        (
            {"stored": StoredState("complete", "0" * 64, MANIFEST, None, MANIFEST.sha256)},
            ["status_complete"],
        ),
        (
            {"stored": StoredState("ingesting", None, None, "not found")},
            ["status_complete", "folder_matches_manifest", "min_replicas"],
        ),
    ],
)
def test_each_condition_fails_on_its_own(change: dict[str, object], fails: list[str]) -> None:
    """Changing one value fails exactly the conditions that depend on it."""
    assert failing(replace(passing(), **change)) == fails  # type: ignore[arg-type]


def test_a_deep_verification_that_failed_since_the_last_pass_fails_verified_within() -> None:
    """verify_failed_at newer than verified_at fails; an older failure does not count."""
    failed = replace(passing(), verify_failed_at=NOW - timedelta(hours=1))
    assert failing(failed) == ["verified_within"]
    assert "found problems" in evaluate(failed)[5].reason
    repaired = replace(passing(), verify_failed_at=NOW - timedelta(days=2))
    assert failing(repaired) == []


def test_a_catalog_unlike_the_manifest_fails_status_complete() -> None:
    """An extra object or a stale replica in the collection fails status_complete."""
    extra = dict(passing().catalog, extra=[Replica(0, "demoResc", "good", 1, SHA2)])
    assert failing(replace(passing(), catalog=extra)) == ["status_complete"]
    stale = {"x": [Replica(0, "demoResc", "good", 3, SHA2), Replica(1, "b", "stale", 3, SHA2)]}
    assert failing(replace(passing(), catalog=stale)) == ["status_complete"]


def test_good_replicas_count_only_those_equal_to_the_manifest() -> None:
    """A stale replica, a wrong size or another checksum does not count."""
    catalog = {
        "x": [
            Replica(0, "demoResc", "good", 3, SHA2),
            Replica(1, "b", "stale", 3, SHA2),
            Replica(2, "c", "good", 4, SHA2),
            Replica(3, "d", "good", 3, "sha2:AAAA"),
            Replica(4, "e", "good", 3, SHA2),
        ]
    }
    assert good_replicas(MANIFEST, catalog) == {"x": 2}
    assert good_replicas(MANIFEST, {}) == {"x": 0}


def test_good_replicas_in_an_md5_zone_count_those_with_the_manifests_md5() -> None:
    """An MD5 in the catalog counts when it equals the manifest's; another MD5, or one the
    manifest cannot be compared with (it records no MD5), does not."""
    md5, other = "c949281687106569be1fdd0f095af188", "0" * 32
    manifest = build_manifest("RUN", {"x": 3}, {"x": A}, md5s={"x": md5}, irods_checksum="md5")
    catalog = {
        "x": [
            Replica(0, "demoResc", "good", 3, md5),
            Replica(1, "b", "good", 3, other),
            Replica(2, "c", "good", 3, md5.upper()),
        ]
    }
    assert good_replicas(manifest, catalog) == {"x": 2}
    assert good_replicas(MANIFEST, catalog) == {"x": 0}


def test_retention_action_other_than_none_is_refused_with_the_fix() -> None:
    """Only 'none' exists: 'delete' names the command that shows what may go."""
    with pytest.raises(ValueError, match="rodrunner deletable"):
        RetentionConfig(action="delete")  # type: ignore[arg-type]
    assert RetentionConfig().action == "none"

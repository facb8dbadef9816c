"""Counting good replicas and choosing the target resource (pure and file-level)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from rodrunner.config import IRODSConfig
from rodrunner.irods.replicas import Replica
from rodrunner.irods.replication import good_copies, shortfall, target_resource
from rodrunner.manifest import ManifestEntry

SHA = "ab" * 32
SHA2 = "sha2:" + base64.b64encode(bytes.fromhex(SHA)).decode()
OTHER = "sha2:" + base64.b64encode(bytes.fromhex("cd" * 32)).decode()
MD5 = "0f" * 16


def entry(size: int = 10, md5: str | None = None) -> ManifestEntry:
    """A manifest entry of ``size`` bytes with SHA-256 ``SHA`` (and ``md5``)."""
    return ManifestEntry("f", size, SHA, md5)


def test_only_good_replicas_of_the_right_size_and_checksum_count() -> None:
    """Stale, short or differently-checksummed replicas are not copies of the file."""
    replicas = [
        Replica(0, "demoResc", "good", 10, SHA2),
        Replica(1, "second", "stale", 10, SHA2),
        Replica(2, "third", "good", 9, SHA2),
        Replica(3, "fourth", "good", 10, OTHER),
        Replica(4, "fifth", "good", 10, ""),  # no checksum yet: the size must do
    ]
    assert good_copies(replicas, entry()) == 2


def test_in_an_md5_zone_replicas_count_by_their_md5_not_their_size_alone() -> None:
    """An MD5 catalog checksum is compared with the entry's MD5: a same-size replica whose MD5
    differs is no copy of the file; one without a checksum yet counts by its size."""
    replicas = [
        Replica(0, "demoResc", "good", 10, MD5),
        Replica(1, "second", "good", 10, "1e" * 16),
        Replica(2, "third", "good", 10, ""),
    ]
    assert good_copies(replicas, entry(md5=MD5)) == 2


def test_shortfall_names_the_objects_below_the_minimum() -> None:
    """Objects with fewer good copies than asked, with their counts; missing ones have 0."""
    catalog = {
        "a": [Replica(0, "demoResc", "good", 10, SHA2), Replica(1, "second", "good", 10, SHA2)],
        "b": [Replica(0, "demoResc", "good", 10, SHA2)],
    }
    expected = {"a": entry(), "b": entry(), "c": entry()}
    assert shortfall(catalog, expected, 2) == {"b": 1, "c": 0}
    assert shortfall(catalog, expected, 1) == {"c": 0}


def test_target_resource_from_config_then_env_file(tmp_path: Path) -> None:
    """irods.resource wins; else the env file's irods_default_resource; else none."""
    env = tmp_path / "irods_environment.json"
    env.write_text(json.dumps({"irods_default_resource": "tier2Resc"}), encoding="utf-8")
    assert target_resource(IRODSConfig(resource="fastResc", env_file=env)) == "fastResc"
    assert target_resource(IRODSConfig(env_file=env)) == "tier2Resc"
    assert target_resource(IRODSConfig()) is None
    assert IRODSConfig.model_validate({"default_resource": "old"}).resource == "old"

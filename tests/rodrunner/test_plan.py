"""The ingest plan: collection path, AVUs, include/exclude."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.config import AppConfig
from rodrunner.errors import PathError
from rodrunner.models import RunMetadata, Sample
from rodrunner.plan import (
    MANIFEST_NAME,
    STATUS_ATTR,
    check_relative_path,
    collection_path,
    make_plan,
    status_avu,
    status_avus,
)


def _metadata(run_id: str = "200101_A00001_0001_AHXXXXXXX") -> RunMetadata:
    return RunMetadata(
        run_id=run_id,
        platform="illumina",
        sequencer_type="novaseq",
        instrument_id="A00001",
        run_number=1,
        samples=[Sample(sample_id="S1", project="P1"), Sample(sample_id="S2", project="P1")],
        projects=["P1"],
    )


def _config(**irods: object) -> AppConfig:
    return AppConfig(irods={"zone": "seqZone", "user": "alice", **irods})


def test_default_template_gives_design_layout() -> None:
    """The default collection is /{zone}/home/{user}/sequencer/{sequencer_type}/{run_id}."""
    plan = make_plan(_metadata(), _config())
    assert plan.collection == "/seqZone/home/alice/sequencer/novaseq/200101_A00001_0001_AHXXXXXXX"
    assert plan.manifest_path == plan.collection + "/" + MANIFEST_NAME


@pytest.mark.parametrize("run_id", ["..", ".", "a/b", "x\x00y", "x\ny", "", "   "])
def test_hostile_run_id_is_path_error(run_id: str) -> None:
    """A run id that could climb out of the collection is refused with PathError."""
    with pytest.raises(PathError) as info:
        make_plan(_metadata(run_id), _config())
    assert "run id" in str(info.value)


def test_template_with_unknown_field_is_path_error() -> None:
    """A template naming an unknown field fails with a message listing the allowed ones."""
    with pytest.raises(PathError, match=r"\{run_id\}"):
        collection_path(
            "/{zone}/{project}/{run_id}", zone="z", user="u", sequencer_type="t", run_id="r"
        )


@given(st.text())
def test_any_run_id_is_safe_or_path_error(run_id: str) -> None:
    """Any text as run id yields a path one level below the type, or PathError."""
    try:
        path = collection_path(
            "/{zone}/home/{user}/sequencer/{sequencer_type}/{run_id}",
            zone="z",
            user="u",
            sequencer_type="t",
            run_id=run_id,
        )
    except PathError:
        return
    assert path.startswith("/z/home/u/sequencer/t/")
    assert path.removeprefix("/z/home/u/sequencer/t/") == run_id
    assert "/" not in run_id
    assert run_id not in (".", "..")


def test_run_avus_use_prefix_and_list_samples_once() -> None:
    """Run AVUs carry the configured prefix and one sample_id per sample."""
    plan = make_plan(_metadata(), _config(avu_prefix="seq::"))
    assert ("seq::run_id", "200101_A00001_0001_AHXXXXXXX", "") in plan.run_avus
    assert [v for a, v, _ in plan.run_avus if a == "seq::sample_id"] == ["S1", "S2"]
    assert [v for a, v, _ in plan.run_avus if a == "seq::project"] == ["P1"]
    assert "seq::sample_id" in plan.replace_attributes
    assert all(a.startswith("seq::") for a in plan.replace_attributes)


def test_status_avus_are_the_design_set() -> None:
    """Status AVUs: ingested_at in ISO-8601 UTC, files, bytes, manifest sha, version."""
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    avus = {
        a: v
        for a, v, _ in status_avus(files=3, total_bytes=10, manifest_sha256="ab", ingested_at=when)
    }
    assert avus["rodrunner::ingested_at"] == "2024-05-06T07:08:09Z"
    assert avus["rodrunner::files"] == "3"
    assert avus["rodrunner::bytes"] == "10"
    assert avus["rodrunner::manifest_sha256"] == "ab"
    assert "rodrunner::version" in avus
    assert STATUS_ATTR not in avus
    assert status_avu("complete") == (STATUS_ATTR, "complete", "")


def test_excludes_combine_profile_config_and_own_files() -> None:
    """Excludes are rodrunner's own files, then the profile's, then the config's, once each."""
    config = AppConfig(
        sequencer={
            "types": {"novaseq": {"exclude": ["Thumbnail_Images/**", "*.tmp"], "include": ["*"]}}
        }
    )
    plan = make_plan(_metadata(), config, profile_exclude=["*.tmp"])
    assert MANIFEST_NAME in plan.exclude
    assert plan.exclude.count("*.tmp") == 1
    assert "Thumbnail_Images/**" in plan.exclude
    assert plan.include == ("*",)


def test_configured_operator_files_are_never_uploaded() -> None:
    """Renamed trigger and skip files (daemon.trigger_file, skip_file) are never uploaded."""
    config = AppConfig(daemon={"trigger_file": ".ingest-now", "skip_file": ".never"})
    plan = make_plan(_metadata(), config)
    assert {".ingest-now", ".never", ".rodrunner-ingest", ".rodrunner-skip"} <= set(plan.exclude)
    assert plan.exclude.count(".ingest-now") == 1


@pytest.mark.parametrize("rel", ["../x", "a/../../b", "/etc/passwd", "a//b", "a/./b", ""])
def test_relative_path_that_climbs_is_refused(rel: str) -> None:
    """A relative path with '..', '.', an empty part or a leading '/' is PathError."""
    with pytest.raises(PathError):
        check_relative_path(rel)

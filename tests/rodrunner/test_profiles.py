"""Sequencer profiles: data-only definitions for every instrument family."""

from __future__ import annotations

import dataclasses

import pytest

from rodrunner.errors import ConfigError
from rodrunner.profiles import (
    PROFILES,
    get_profile,
    profile_for_instrument_prefix,
    with_indicator,
)

DESIGN_TABLE = {
    "miseq": ("run", "RTAComplete.txt"),
    "miseqi100": ("run", "CopyComplete.txt"),
    "miniseq": ("run", "RTAComplete.txt"),
    "iseq": ("run", "CopyComplete.txt"),
    "nextseq": ("run", "RTAComplete.txt"),
    "nextseq2000": ("run", "CopyComplete.txt"),
    "novaseq": ("run", "CopyComplete.txt"),
    "novaseqx": ("run", "CopyComplete.txt"),
    "hiseq": ("run", "RTAComplete.txt"),
    "pacbio": ("smrt_cell", "*.transferdone"),
    "nanopore": ("run", "final_summary_*.txt"),
    "aviti": ("run", "RunUploaded.json"),
}


def test_every_row_of_the_design_table_has_a_profile() -> None:
    """There is exactly one profile per row of the design card's instrument table."""
    assert set(PROFILES) == set(DESIGN_TABLE)


@pytest.mark.parametrize(("name", "expected"), sorted(DESIGN_TABLE.items()))
def test_profile_completion_rule_matches_the_design(name: str, expected: tuple[str, str]) -> None:
    """Each profile's run unit and completion indicator are those of the design table."""
    profile = get_profile(name)
    assert (profile.run_unit, profile.completion_indicator) == expected
    assert profile.name == name


def test_novaseq_does_not_trust_rtacomplete() -> None:
    """NovaSeq 6000 completes on CopyComplete.txt only, never RTAComplete.txt."""
    assert "RTAComplete.txt" not in get_profile("novaseq").completion_indicators


def test_revio_transferdone_in_metadata_is_an_indicator() -> None:
    """PacBio looks for the transferdone in the cell and in Revio's metadata/ folder."""
    assert "metadata/*.transferdone" in get_profile("pacbio").completion_indicators


def test_profiles_are_frozen() -> None:
    """A profile cannot be changed at run time."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_profile("miseq").name = "x"  # type: ignore[misc]


def test_no_default_excludes_lose_data() -> None:
    """No profile excludes any file by default."""
    assert all(p.default_excludes == () for p in PROFILES.values())


def test_unknown_profile_names_the_known_ones() -> None:
    """An unknown name is a ConfigError naming the name and the known profiles."""
    with pytest.raises(ConfigError, match=r"'novaseq7000'.*novaseq, novaseqx"):
        get_profile("novaseq7000")


@pytest.mark.parametrize(
    ("prefix", "name"),
    [
        ("M", "miseq"),
        ("MN", "miniseq"),
        ("FS", "iseq"),
        ("NS", "nextseq"),
        ("NB", "nextseq"),
        ("VH", "nextseq2000"),
        ("A", "novaseq"),
        ("LH", "novaseqx"),
        ("D", "hiseq"),
        ("SN", "hiseq"),
        ("K", "hiseq"),
        ("ST-E", "hiseq"),
        ("AV", "aviti"),
    ],
)
def test_instrument_prefixes(prefix: str, name: str) -> None:
    """Instrument ID prefixes map to the profile the design card names."""
    profile = profile_for_instrument_prefix(prefix)
    assert profile is not None
    assert profile.name == name


def test_override_replaces_the_indicator_and_drops_the_content_check() -> None:
    """An override names a new indicator; AVITI's outcome check only applies to its own file."""
    aviti = get_profile("aviti")
    assert with_indicator(aviti, "Done.txt").completion_indicators == ("Done.txt",)
    assert with_indicator(aviti, "Done.txt").completion_check is None
    assert with_indicator(aviti, "RunUploaded.json").completion_check is not None
    assert with_indicator(aviti, None) is aviti


@pytest.mark.parametrize("bad", ["/abs/Done.txt", "../Done.txt", "x/../../y"])
def test_override_cannot_leave_the_run_folder(bad: str) -> None:
    """An indicator override outside the run folder is a ConfigError."""
    with pytest.raises(ConfigError, match="relative to the run folder"):
        with_indicator(get_profile("miseq"), bad)

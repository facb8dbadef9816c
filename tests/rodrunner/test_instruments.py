"""The instrument table: one home for ID prefixes, read by the profiles and the parsers."""

from __future__ import annotations

import pytest

from rodrunner.discovery import detect_from_name
from rodrunner.instruments import (
    INSTRUMENT_PREFIXES,
    MODEL_TO_TYPE,
    InstrumentPrefix,
    prefixes_for,
)
from rodrunner.parsers.instruments import lookup_instrument
from rodrunner.profiles import PROFILES, profile_for_instrument_prefix

DESIGN_CARD = [
    ("M", "miseq", "MiSeq"),
    ("MN", "miniseq", "MiniSeq"),
    ("FS", "iseq", "iSeq 100"),
    ("NS", "nextseq", "NextSeq 500"),
    ("NB", "nextseq", "NextSeq 550"),
    ("VH", "nextseq2000", "NextSeq 2000"),
    ("A", "novaseq", "NovaSeq 6000"),
    ("LH", "novaseqx", "NovaSeq X"),
    ("D", "hiseq", "HiSeq 2500"),
    ("SN", "hiseq", "HiSeq 2000"),
    ("K", "hiseq", "HiSeq 4000"),
    ("ST-E", "hiseq", "HiSeq X"),
]


@pytest.mark.parametrize(("prefix", "sequencer_type", "model"), DESIGN_CARD)
def test_design_card_prefixes(prefix: str, sequencer_type: str, model: str) -> None:
    """Each prefix of the design card names its profile and model in the table and the parsers."""
    rows = [row for row in INSTRUMENT_PREFIXES if row.prefix == prefix]
    assert [(row.sequencer_type, row.model) for row in rows] == [(sequencer_type, model)]
    assert lookup_instrument(f"{prefix}00123") == (sequencer_type, model)


def test_each_prefix_is_written_once() -> None:
    """No prefix appears twice in the table, so it maps to exactly one model and profile."""
    prefixes = [row.prefix for row in INSTRUMENT_PREFIXES]
    assert len(prefixes) == len(set(prefixes))


@pytest.mark.parametrize("row", INSTRUMENT_PREFIXES, ids=lambda row: row.prefix)
def test_profiles_and_parsers_agree_on_every_prefix(row: InstrumentPrefix) -> None:
    """The profile a prefix selects is the one the parsers report, and it lists the model."""
    prefix = row.prefix
    profile = profile_for_instrument_prefix(prefix)
    assert profile is not None
    assert profile.name == row.sequencer_type
    assert profile.platform == row.platform
    assert row.model in profile.instrument_models
    if row.platform == "illumina":
        serial = "PT1-15" if prefix.endswith("-") else "00123"
        assert lookup_instrument(prefix + serial) == (profile.name, row.model)


def test_profiles_take_their_prefixes_from_the_table() -> None:
    """Every profile's prefixes are exactly its rows of the table (VL, ML-, HWI-ST, E included)."""
    for name, profile in PROFILES.items():
        assert profile.instrument_prefixes == prefixes_for(name)
    assert "VL" in PROFILES["nextseq2000"].instrument_prefixes
    assert "ML-" in PROFILES["miniseq"].instrument_prefixes
    assert {"HWI-ST", "E"} <= set(PROFILES["hiseq"].instrument_prefixes)


def test_model_names_map_to_known_profiles() -> None:
    """Every model name the parsers map resolves to a profile that exists."""
    assert set(MODEL_TO_TYPE.values()) <= set(PROFILES)


def test_non_illumina_prefixes_are_not_looked_up_as_illumina_ids() -> None:
    """AVITI's AV prefix selects its profile but is no Illumina instrument ID."""
    assert lookup_instrument("AV234003") is None
    profile = profile_for_instrument_prefix("AV")
    assert profile is not None
    assert profile.name == "aviti"


@pytest.mark.parametrize(
    ("name", "profile"),
    [
        ("240101_VL00123_0001_AAAAAAAAA", "nextseq2000"),
        ("150101_E00123_0001_AHXXXXXX", "hiseq"),
        ("130531_HWI-ST743_0384_AC2AAAAAXX", "hiseq"),
    ],
)
def test_folder_names_with_the_added_prefixes_are_recognised(name: str, profile: str) -> None:
    """A run folder named after a VL, E or HWI-ST instrument selects its profile by name."""
    assert detect_from_name(name) == profile

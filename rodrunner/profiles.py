"""Sequencer profiles: one frozen, data-only definition per instrument family.

A profile says what a run looks like on disk and when it is final. Nothing here touches the
disk; :mod:`rodrunner.completion` evaluates the rules and :mod:`rodrunner.discovery` applies
them to a root. The completion facts come from the design card's instrument table; the
instrument ID prefixes from :mod:`rodrunner.instruments`, the one table of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from rodrunner.errors import ConfigError
from rodrunner.instruments import prefixes_for
from rodrunner.models import Platform

RunUnit = Literal["run", "smrt_cell"]


@dataclass(frozen=True, slots=True)
class CompletionCheck:
    """A check on the indicator's content: JSON ``key`` must equal ``expected``."""

    key: str
    expected: str


@dataclass(frozen=True, slots=True)
class SequencerProfile:
    """What one instrument family's runs look like and when they are final.

    ``completion_indicators`` are globs relative to the run unit, tried in order; the first
    that matches decides. ``run_unit`` is ``"run"`` (the run folder) or ``"smrt_cell"``
    (PacBio: the cell folders one level below the run folder are what gets ingested).
    """

    name: str
    platform: Platform
    instrument_models: tuple[str, ...]
    completion_indicators: tuple[str, ...]
    run_unit: RunUnit = "run"
    metadata_files: tuple[str, ...] = ()
    instrument_prefixes: tuple[str, ...] = ()
    default_excludes: tuple[str, ...] = ()
    completion_check: CompletionCheck | None = None
    notes: str = field(default="", compare=False)

    @property
    def completion_indicator(self) -> str:
        """The main completion indicator glob (the one an operator would name)."""
        return self.completion_indicators[0]


_ILLUMINA_METADATA = ("RunInfo.xml", "RunParameters.xml", "SampleSheet.csv")

_PROFILE_LIST: tuple[SequencerProfile, ...] = (
    SequencerProfile(
        name="miseq",
        platform="illumina",
        instrument_models=("MiSeq",),
        completion_indicators=("RTAComplete.txt",),
        metadata_files=_ILLUMINA_METADATA,
        instrument_prefixes=prefixes_for("miseq"),
    ),
    SequencerProfile(
        name="miseqi100",
        platform="illumina",
        instrument_models=("MiSeq i100", "MiSeq i100 Plus"),
        completion_indicators=("CopyComplete.txt",),
        metadata_files=_ILLUMINA_METADATA,
        instrument_prefixes=prefixes_for("miseqi100"),
        notes="instrument prefix SH from public run folder names; no fixture in the corpus",
    ),
    SequencerProfile(
        name="miniseq",
        platform="illumina",
        instrument_models=("MiniSeq",),
        completion_indicators=("RTAComplete.txt",),
        metadata_files=_ILLUMINA_METADATA,
        instrument_prefixes=prefixes_for("miniseq"),
    ),
    SequencerProfile(
        name="iseq",
        platform="illumina",
        instrument_models=("iSeq 100",),
        completion_indicators=("CopyComplete.txt",),
        metadata_files=_ILLUMINA_METADATA,
        instrument_prefixes=prefixes_for("iseq"),
    ),
    SequencerProfile(
        name="nextseq",
        platform="illumina",
        instrument_models=("NextSeq 500", "NextSeq 550"),
        completion_indicators=("RTAComplete.txt",),
        metadata_files=_ILLUMINA_METADATA,
        instrument_prefixes=prefixes_for("nextseq"),
    ),
    SequencerProfile(
        name="nextseq2000",
        platform="illumina",
        instrument_models=("NextSeq 1000", "NextSeq 2000"),
        completion_indicators=("CopyComplete.txt",),
        metadata_files=_ILLUMINA_METADATA,
        instrument_prefixes=prefixes_for("nextseq2000"),
    ),
    SequencerProfile(
        name="novaseq",
        platform="illumina",
        instrument_models=("NovaSeq 6000",),
        completion_indicators=("CopyComplete.txt",),
        metadata_files=_ILLUMINA_METADATA,
        instrument_prefixes=prefixes_for("novaseq"),
        notes="RTAComplete.txt comes up to ~90 min before the last CBCL: not enough",
    ),
    SequencerProfile(
        name="novaseqx",
        platform="illumina",
        instrument_models=("NovaSeq X", "NovaSeq X Plus"),
        completion_indicators=("CopyComplete.txt",),
        metadata_files=_ILLUMINA_METADATA,
        instrument_prefixes=prefixes_for("novaseqx"),
    ),
    SequencerProfile(
        name="hiseq",
        platform="illumina",
        instrument_models=("HiSeq 2000", "HiSeq 2500", "HiSeq 3000", "HiSeq 4000", "HiSeq X"),
        completion_indicators=("RTAComplete.txt",),
        metadata_files=_ILLUMINA_METADATA,
        instrument_prefixes=prefixes_for("hiseq"),
    ),
    SequencerProfile(
        name="pacbio",
        platform="pacbio",
        instrument_models=("Sequel", "Sequel II", "Sequel IIe", "Revio"),
        completion_indicators=("*.transferdone", "metadata/*.transferdone"),
        run_unit="smrt_cell",
        metadata_files=(
            "*.metadata.xml",
            "*.subreadset.xml",
            "*.consensusreadset.xml",
            "metadata/*.metadata.xml",
        ),
        notes="Revio writes the transferdone into <cell>/metadata/",
    ),
    SequencerProfile(
        name="nanopore",
        platform="nanopore",
        instrument_models=("MinION", "GridION", "PromethION"),
        completion_indicators=("final_summary_*.txt",),
        metadata_files=("final_summary_*.txt", "report_*.md", "report_*.json"),
    ),
    SequencerProfile(
        name="aviti",
        platform="element",
        instrument_models=("AVITI",),
        completion_indicators=("RunUploaded.json",),
        metadata_files=("RunParameters.json", "RunManifest.csv", "RunManifest.json"),
        instrument_prefixes=prefixes_for("aviti"),
        completion_check=CompletionCheck(key="outcome", expected="OutcomeCompleted"),
    ),
)

PROFILES: Mapping[str, SequencerProfile] = MappingProxyType({p.name: p for p in _PROFILE_LIST})
"""Every profile by name."""


def get_profile(name: str) -> SequencerProfile:
    """The profile called ``name``; :class:`ConfigError` naming the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ConfigError(
            f"unknown sequencer type {name!r}; use one of: {known}", key="sequencer_type"
        ) from None


def with_indicator(profile: SequencerProfile, indicator: str | None) -> SequencerProfile:
    """``profile`` with its completion indicator replaced by ``indicator`` (if given).

    The content check (AVITI's outcome) stays only when the override names the same file.
    """
    if not indicator or (indicator,) == profile.completion_indicators:
        return profile
    if indicator.startswith("/") or ".." in indicator.split("/"):
        raise ConfigError(
            f"completion_indicator {indicator!r} must be a file name or glob relative to the "
            "run folder, e.g. 'CopyComplete.txt'",
            key="completion_indicator",
        )
    check = profile.completion_check if indicator == profile.completion_indicator else None
    return SequencerProfile(
        name=profile.name,
        platform=profile.platform,
        instrument_models=profile.instrument_models,
        completion_indicators=(indicator,),
        run_unit=profile.run_unit,
        metadata_files=profile.metadata_files,
        instrument_prefixes=profile.instrument_prefixes,
        default_excludes=profile.default_excludes,
        completion_check=check,
        notes=profile.notes,
    )


def profile_for_instrument_prefix(prefix: str) -> SequencerProfile | None:
    """The profile whose instrument ID prefix is exactly ``prefix`` (``'VH'`` → nextseq2000)."""
    for profile in _PROFILE_LIST:
        if prefix in profile.instrument_prefixes:
            return profile
    return None

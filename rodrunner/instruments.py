"""Instrument facts, the one table: ID prefix -> (profile name, instrument model). Pure data.

:mod:`rodrunner.profiles` takes each profile's ``instrument_prefixes`` from here and the
metadata parsers (:mod:`rodrunner.parsers.instruments`) look instrument IDs up in it, so a
prefix is written once. Prefixes from the design card and the fixture notes; pre-release
instrument names (``ML-PT1-15`` a MiniSeq, ``Pi1-9`` a NovaSeq X) occur in real files.
"""

from __future__ import annotations

from dataclasses import dataclass

from rodrunner.models import Platform


@dataclass(frozen=True, slots=True)
class InstrumentPrefix:
    """An instrument ID prefix, the profile it implies and the model it names."""

    prefix: str
    sequencer_type: str
    model: str
    platform: Platform = "illumina"


INSTRUMENT_PREFIXES: tuple[InstrumentPrefix, ...] = (
    InstrumentPrefix("ST-E", "hiseq", "HiSeq X"),
    InstrumentPrefix("ML-", "miniseq", "MiniSeq"),  # MiniSeq pre-release instruments
    InstrumentPrefix("MN", "miniseq", "MiniSeq"),
    InstrumentPrefix("FS", "iseq", "iSeq 100"),
    InstrumentPrefix("NS", "nextseq", "NextSeq 500"),
    InstrumentPrefix("NB", "nextseq", "NextSeq 550"),
    InstrumentPrefix("VH", "nextseq2000", "NextSeq 2000"),
    InstrumentPrefix("VL", "nextseq2000", "NextSeq 1000"),
    InstrumentPrefix("LH", "novaseqx", "NovaSeq X"),
    InstrumentPrefix("SH", "miseqi100", "MiSeq i100"),  # public run folder names; no fixture
    InstrumentPrefix("SN", "hiseq", "HiSeq 2000"),
    InstrumentPrefix("HWI-ST", "hiseq", "HiSeq 2000"),
    InstrumentPrefix("D", "hiseq", "HiSeq 2500"),
    InstrumentPrefix("K", "hiseq", "HiSeq 4000"),
    InstrumentPrefix("J", "hiseq", "HiSeq 3000"),
    InstrumentPrefix("E", "hiseq", "HiSeq X"),
    InstrumentPrefix("A", "novaseq", "NovaSeq 6000"),
    InstrumentPrefix("M", "miseq", "MiSeq"),
    InstrumentPrefix("AV", "aviti", "AVITI", platform="element"),
)
"""Every known instrument ID prefix; each prefix appears once."""

MODEL_TO_TYPE: dict[str, str] = {
    "HiSeq 2000": "hiseq",
    "HiSeq 2500": "hiseq",
    "HiSeq 3000": "hiseq",
    "HiSeq 4000": "hiseq",
    "HiSeq 3000/4000": "hiseq",
    "HiSeq X": "hiseq",
    "MiSeq": "miseq",
    "MiSeq i100": "miseqi100",
    "MiniSeq": "miniseq",
    "iSeq 100": "iseq",
    "NextSeq 500": "nextseq",
    "NextSeq 550": "nextseq",
    "NextSeq 500/550": "nextseq",
    "NextSeq 1000": "nextseq2000",
    "NextSeq 2000": "nextseq2000",
    "NextSeq 1000/2000": "nextseq2000",
    "NovaSeq 6000": "novaseq",
    "NovaSeq X": "novaseqx",
    "NovaSeq X Plus": "novaseqx",
}
"""Illumina instrument model names (as the parsers report them) -> profile name."""


def prefixes_for(sequencer_type: str) -> tuple[str, ...]:
    """The instrument ID prefixes of one profile, in table order."""
    return tuple(row.prefix for row in INSTRUMENT_PREFIXES if row.sequencer_type == sequencer_type)

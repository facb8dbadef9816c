"""Illumina instrument facts: ID prefix -> (profile name, instrument model). Pure data.

Prefixes from the design card and NOTES.md; longest prefix wins. Pre-release instrument names
(``ML-PT1-15`` a MiniSeq, ``Pi1-9`` a NovaSeq X) occur in real files.
"""

from __future__ import annotations

import re

INSTRUMENT_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("ST-E", "hiseq", "HiSeq X"),
    ("ML-", "miniseq", "MiniSeq"),  # MiniSeq pre-release instruments
    ("MN", "miniseq", "MiniSeq"),
    ("FS", "iseq", "iSeq 100"),
    ("NS", "nextseq", "NextSeq 500"),
    ("NB", "nextseq", "NextSeq 550"),
    ("VH", "nextseq2000", "NextSeq 2000"),
    ("VL", "nextseq2000", "NextSeq 1000"),
    ("LH", "novaseqx", "NovaSeq X"),
    ("SH", "miseqi100", "MiSeq i100"),  # public run folder names; not in the corpus
    ("SN", "hiseq", "HiSeq 2000"),
    ("HWI-ST", "hiseq", "HiSeq 2000"),
    ("D", "hiseq", "HiSeq 2500"),
    ("K", "hiseq", "HiSeq 4000"),
    ("J", "hiseq", "HiSeq 3000"),
    ("E", "hiseq", "HiSeq X"),
    ("A", "novaseq", "NovaSeq 6000"),
    ("M", "miseq", "MiSeq"),
)

_SORTED = sorted(INSTRUMENT_PREFIXES, key=lambda row: -len(row[0]))
_SERIAL_TAIL = re.compile(r"^[0-9]")


def lookup_instrument(instrument_id: str | None) -> tuple[str, str] | None:
    """``(sequencer_type, instrument_model)`` for an instrument ID, or None if unknown."""
    if not instrument_id:
        return None
    value = instrument_id.strip()
    for prefix, sequencer_type, model in _SORTED:
        rest = value[len(prefix) :]
        if value.upper().startswith(prefix.upper()) and (
            prefix.endswith("-") or _SERIAL_TAIL.match(rest)
        ):
            return sequencer_type, model
    return None


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

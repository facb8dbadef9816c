"""Which kind of metadata file a name is, and which sequencer wrote a set of files. Pure.

:func:`detect_sequencer_type` decides from content: AVITI, PacBio and ONT files name their
platform; Illumina runs are told apart by RunParameters (application, instrument type), then
the RunInfo instrument prefix, then the RunInfo version and lane count (pre-release or
facility-renamed instruments).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from rodrunner.errors import MetadataError, NotARunFolderError
from rodrunner.models import Platform
from rodrunner.parsers.instruments import lookup_instrument
from rodrunner.parsers.runinfo import parse_runinfo
from rodrunner.parsers.runparameters import parse_runparameters
from rodrunner.parsers.xml import parse_xml

FileKind = Literal[
    "runinfo",
    "runparameters",
    "samplesheet",
    "pacbio",
    "ont_summary",
    "ont_report",
    "aviti_parameters",
    "aviti_manifest",
]

PLATFORM_OF_KIND: dict[FileKind, Platform] = {
    "runinfo": "illumina",
    "runparameters": "illumina",
    "samplesheet": "illumina",
    "pacbio": "pacbio",
    "ont_summary": "nanopore",
    "ont_report": "nanopore",
    "aviti_parameters": "element",
    "aviti_manifest": "element",
}


def classify(name: str) -> FileKind | None:
    """The kind of metadata file ``name`` is (by its base name, case-insensitive), or None."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if base.endswith(".xml"):
        if base.startswith("runinfo"):
            return "runinfo"
        if base.startswith("runparameters"):
            return "runparameters"
        if base.endswith((".metadata.xml", "set.xml")) or base == "metadata.xml":
            return "pacbio"
        return None
    if base.endswith(".csv"):
        if base.startswith("runmanifest"):
            return "aviti_manifest"
        if "samplesheet" in base:
            return "samplesheet"
        return None
    if base.endswith(".json"):
        if base == "runparameters.json":
            return "aviti_parameters"
        if base.startswith("runmanifest"):
            return "aviti_manifest"
        if base.startswith("report"):
            return "ont_report"
        return None
    if base.startswith("final_summary") and base.endswith(".txt"):
        return "ont_summary"
    if base.startswith("report") and base.endswith(".md"):
        return "ont_report"
    return None


def detect_sequencer_type(files: Mapping[str, bytes]) -> str:
    """The profile name (``novaseq``, ``pacbio`` …) the files' content points to.

    Raises :class:`NotARunFolderError` when nothing identifies a sequencer.
    """
    kinds = {name: classify(name) for name in files}
    present = set(kinds.values())
    if present & {"aviti_parameters", "aviti_manifest"}:
        return "aviti"
    if "pacbio" in present:
        return "pacbio"
    if present & {"ont_summary", "ont_report"}:
        return "nanopore"
    for name in _ordered(kinds, "runparameters"):
        try:
            sequencer_type = parse_runparameters(name, files[name]).get("sequencer_type")
        except MetadataError:
            continue
        if sequencer_type:
            return sequencer_type
    for name in _ordered(kinds, "runinfo"):
        try:
            fields = parse_runinfo(name, files[name])
        except MetadataError:
            continue
        found = lookup_instrument(fields.get("instrument_id"))
        if found:
            return found[0]
        guessed = _guess_from_runinfo_layout(name, files[name], fields.get("lanes"))
        if guessed:
            return guessed
    listed = ", ".join(sorted(files)) or "none"
    raise NotARunFolderError(
        "no RunInfo.xml, RunParameters.xml, PacBio metadata XML, ONT final_summary or AVITI "
        f"RunParameters.json identifies the sequencer (files: {listed}); "
        "pass the sequencer type explicitly (--type)"
    )


def _ordered(kinds: Mapping[str, FileKind | None], kind: FileKind) -> list[str]:
    return sorted((n for n, k in kinds.items() if k == kind), key=lambda n: (len(n), n))


def _guess_from_runinfo_layout(name: str, data: bytes, lanes: int | None) -> str | None:
    """Pre-release or facility-renamed instruments (Pi1-9, pi1-07, Broad's SL-HDF): the RunInfo
    version says the generation, the lane count the instrument within it."""
    version = parse_xml(name, data).get("Version")
    if version == "3":  # HiSeq 3000/4000/X only
        return "hiseq"
    if version == "2" and lanes:  # MiSeq has one lane; HiSeq 2000/2500 two or eight
        return "hiseq" if lanes >= 2 else "miseq"
    if version == "6":
        return "novaseqx" if (lanes or 0) >= 8 else "nextseq2000"
    if version == "5":
        return "novaseq" if (lanes or 0) >= 2 else "iseq"
    if version == "4":
        return "nextseq" if (lanes or 0) >= 4 else "miniseq"
    return None

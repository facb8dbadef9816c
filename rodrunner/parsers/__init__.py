"""Run metadata parsers: the few metadata files of a run folder -> :class:`RunMetadata`.

Two entry points:

- :func:`parse_files` is pure: file name (relative to the run folder) -> bytes in, metadata
  out. It is also what re-parses metadata files stored in iRODS when the share is gone.
- :func:`parse_run_folder` reads only the files :data:`METADATA_FILE_PATTERNS` names (one
  listing of the folder's top level and of a named subfolder or two, never a walk), then calls
  :func:`parse_files`, and adds an InterOp QC summary when it can.

A broken required file (RunInfo.xml; RunParameters.xml when there is no RunInfo.xml; the PacBio
XML; the ONT final summary; AVITI RunParameters.json) raises
:class:`~rodrunner.errors.MetadataFileError`. A broken optional file (a sample sheet, a
RunParameters.xml next to a good RunInfo.xml, a report) leaves the rest of the metadata, a line
in ``RunMetadata.warnings`` and a ``metadata.file_unusable`` log event.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import structlog

from rodrunner.errors import MetadataError, MetadataFileError, NotARunFolderError
from rodrunner.models import Platform, Read, RunMetadata, Sample, Software
from rodrunner.parsers.detect import PLATFORM_OF_KIND, FileKind, classify, detect_sequencer_type
from rodrunner.parsers.element import parse_run_manifest, parse_run_parameters_json
from rodrunner.parsers.fields import MAX_TEXT_BYTES, Fields
from rodrunner.parsers.instruments import lookup_instrument
from rodrunner.parsers.nanopore import parse_final_summary, parse_report
from rodrunner.parsers.pacbio import parse_pacbio
from rodrunner.parsers.runinfo import parse_runinfo
from rodrunner.parsers.runparameters import parse_runparameters
from rodrunner.parsers.samplesheet import parse_samplesheet

__all__ = [
    "METADATA_FILE_PATTERNS",
    "PLATFORMS",
    "detect_sequencer_type",
    "parse_files",
    "parse_run_folder",
    "run_id_of",
]

logger = structlog.get_logger()

_ILLUMINA_PATTERNS = ("RunInfo.xml", "RunParameters.xml", "*SampleSheet*.csv")

METADATA_FILE_PATTERNS: dict[str, tuple[str, ...]] = {
    "miseq": _ILLUMINA_PATTERNS,
    "miseqi100": _ILLUMINA_PATTERNS,
    "miniseq": _ILLUMINA_PATTERNS,
    "iseq": _ILLUMINA_PATTERNS,
    "nextseq": _ILLUMINA_PATTERNS,
    "nextseq2000": _ILLUMINA_PATTERNS,
    "novaseq": _ILLUMINA_PATTERNS,
    "novaseqx": _ILLUMINA_PATTERNS,
    "hiseq": _ILLUMINA_PATTERNS,
    "pacbio": (
        "*.metadata.xml",
        "metadata/*.metadata.xml",
        "*.subreadset.xml",
        "*.consensusreadset.xml",
        "pb_formats/*.hifi_reads.consensusreadset.xml",
    ),
    "nanopore": ("final_summary*.txt", "report*.md", "report*.json"),
    "aviti": ("RunParameters.json", "RunManifest.csv", "RunManifest.json"),
}
"""Metadata file globs per sequencer type, relative to the run unit, matched case-insensitively
(``RunParameters.xml`` and ``runParameters.xml`` both occur). At most one folder level."""

PLATFORMS: dict[str, Platform] = {
    "pacbio": "pacbio",
    "nanopore": "nanopore",
    "aviti": "element",
}
"""Platform of each non-Illumina sequencer type; every other type is Illumina."""

_PARSERS: dict[FileKind, Callable[[str, bytes], Fields]] = {
    "runinfo": parse_runinfo,
    "runparameters": parse_runparameters,
    "samplesheet": parse_samplesheet,
    "pacbio": parse_pacbio,
    "ont_summary": parse_final_summary,
    "ont_report": parse_report,
    "aviti_parameters": parse_run_parameters_json,
    "aviti_manifest": parse_run_manifest,
}

# Per kind: which one file to use when several are there ("canonical" names first), and whether
# the metadata can do without it. Order = precedence when two files give the same field.
_PRECEDENCE: tuple[FileKind, ...] = (
    "runinfo",
    "runparameters",
    "samplesheet",
    "pacbio",
    "ont_summary",
    "ont_report",
    "aviti_parameters",
    "aviti_manifest",
)
_CANONICAL: dict[FileKind, tuple[str, ...]] = {
    "runinfo": ("runinfo.xml",),
    "runparameters": ("runparameters.xml",),
    "samplesheet": ("samplesheet.csv",),
    "aviti_manifest": ("runmanifest.csv", "runmanifest.json"),
}
_OPTIONAL: frozenset[FileKind] = frozenset({"samplesheet", "ont_report", "aviti_manifest"})
# Fields RunParameters knows better than RunInfo.
_RUNPARAMETERS_FIRST = ("instrument_model", "sequencer_type")


def parse_files(
    files: Mapping[str, bytes],
    sequencer_type: str | None = None,
    run_id: str | None = None,
) -> RunMetadata:
    """Run metadata from metadata files (name relative to the run folder -> content). Pure.

    ``sequencer_type`` skips content detection. ``run_id`` is the run folder's (or iRODS
    collection's) name: the run ID when the files name none, and always for ONT, whose run ID
    is MinKNOW's folder name.
    """
    kinds: dict[FileKind, list[str]] = {}
    for name in sorted(files):
        kind = classify(name)
        if kind is not None:
            kinds.setdefault(kind, []).append(name)
    if not kinds:
        raise NotARunFolderError(
            f"none of the files ({', '.join(sorted(files)) or 'none'}) is a metadata file "
            "rodrunner knows (RunInfo.xml, RunParameters.xml, SampleSheet.csv, PacBio "
            "*.metadata.xml, ONT final_summary_*.txt, AVITI RunParameters.json)"
        )
    if sequencer_type is None:
        sequencer_type = detect_sequencer_type(files)
    platform = PLATFORMS.get(sequencer_type) or _platform_of(kinds)
    kinds = {k: v for k, v in kinds.items() if PLATFORM_OF_KIND[k] == platform}

    results: list[tuple[FileKind, str, Fields]] = []
    warnings: list[str] = []
    for kind in _PRECEDENCE:
        names = _choose(kind, kinds.get(kind, []))
        for name in names:
            try:
                results.append((kind, name, _PARSERS[kind](name, files[name])))
            except MetadataFileError as exc:
                if not _can_do_without(kind, kinds, results):
                    raise
                warnings.append(str(exc))
                logger.warning("metadata.file_unusable", file=name, problem=exc.problem)
    if not results:
        raise MetadataError(f"no usable {platform} metadata file among {sorted(files)}")
    return _merge(results, warnings, platform, sequencer_type, run_id)


def _platform_of(kinds: Mapping[FileKind, list[str]]) -> Platform:
    for kind in _PRECEDENCE:
        if kind in kinds:
            return PLATFORM_OF_KIND[kind]
    return "illumina"


def _choose(kind: FileKind, names: list[str]) -> list[str]:
    """The file(s) of one kind to read: all PacBio XML of the cell, else the canonical one."""
    if kind == "pacbio" or len(names) <= 1:
        return sorted(names, key=lambda n: (not n.lower().endswith(".metadata.xml"), n))
    for canonical in _CANONICAL.get(kind, ()):
        for name in names:
            if name.replace("\\", "/").rsplit("/", 1)[-1].lower() == canonical:
                return [name]
    return [min(names, key=lambda n: (len(n), n))]


def _can_do_without(
    kind: FileKind,
    kinds: Mapping[FileKind, list[str]],
    results: list[tuple[FileKind, str, Fields]],
) -> bool:
    """Whether a broken file of ``kind`` may be skipped with a warning."""
    if kind == "runparameters":
        return any(k == "runinfo" for k, _, _ in results)
    if kind == "pacbio":
        return any(k == "pacbio" for k, _, _ in results) or len(kinds.get("pacbio", [])) > 1
    if kind == "ont_report":
        return "ont_summary" in kinds
    if kind in _OPTIONAL:
        return len(kinds) > 1
    return False


def _merge(
    results: list[tuple[FileKind, str, Fields]],
    warnings: list[str],
    platform: Platform,
    sequencer_type: str,
    run_id: str | None,
) -> RunMetadata:
    merged: dict[str, Any] = {}
    ordered = sorted(
        results, key=lambda r: (r[0] != "runparameters", _PRECEDENCE.index(r[0]))
    )  # RunParameters first for the fields it knows better
    for _, _, fields in ordered:
        for key in _RUNPARAMETERS_FIRST:
            if key in fields and key not in merged:
                merged[key] = fields[key]  # type: ignore[literal-required]
    for _, _, fields in results:
        for key, value in fields.items():
            if key == "warnings":
                warnings.extend(value)  # type: ignore[arg-type]
            elif key not in merged and value not in (None, "", []):
                merged[key] = value
    if "instrument_model" not in merged:
        found = lookup_instrument(merged.get("instrument_id"))
        if found:
            merged["instrument_model"] = found[1]
    # MinKNOW's folder name is the run ID (the summary cannot rebuild it); elsewhere the files
    # win over the folder name, which is only the fallback.
    if platform == "nanopore":
        final_run_id = run_id or merged.get("run_id")
    else:  # AVITI's operator-typed RunName only when neither file nor folder names the run
        final_run_id = merged.get("run_id") or run_id or merged.get("run_name")
    if not final_run_id:
        names = ", ".join(name for _, name, _ in results)
        raise MetadataError(f"no run ID in {names}; pass the run folder's name as run_id")
    samples: list[Sample] = merged.get("samples", [])
    reads: list[Read] = merged.get("reads", [])
    return RunMetadata(
        run_id=final_run_id,
        platform=platform,
        sequencer_type=sequencer_type,
        instrument_model=merged.get("instrument_model"),
        instrument_id=merged.get("instrument_id"),
        run_number=merged.get("run_number"),
        flowcell_id=merged.get("flowcell_id"),
        run_date=merged.get("run_date"),
        lanes=merged.get("lanes"),
        reads=reads,
        samplesheet_version=merged.get("samplesheet_version"),
        samples=samples,
        projects=sorted({s.project for s in samples if s.project}),
        software=Software(
            control_software=merged.get("control_software"),
            control_software_version=merged.get("control_software_version"),
            rta_version=merged.get("rta_version"),
        ),
        chemistry=merged.get("chemistry"),
        flowcell_mode=merged.get("flowcell_mode"),
        source_files=sorted(name for _, name, _ in results),
        warnings=warnings,
    )


def metadata_files_in(run_dir: Path, sequencer_type: str | None = None) -> list[str]:
    """Names (relative to ``run_dir``) of the metadata files there; no walk, one level at most."""
    if sequencer_type in METADATA_FILE_PATTERNS:
        patterns = METADATA_FILE_PATTERNS[sequencer_type]
    else:
        patterns = tuple(dict.fromkeys(p for ps in METADATA_FILE_PATTERNS.values() for p in ps))
    by_folder: dict[str, list[str]] = {}
    for pattern in patterns:
        folder, _, glob = pattern.rpartition("/")
        by_folder.setdefault(folder, []).append(glob.lower())
    found: list[str] = []
    for folder, globs in by_folder.items():
        directory = run_dir / folder if folder else run_dir
        try:
            with os.scandir(directory) as entries:
                names = [e.name for e in entries if e.is_file()]
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in sorted(names):
            if any(fnmatch.fnmatchcase(name.lower(), g) for g in globs):
                found.append(f"{folder}/{name}" if folder else name)
    return found


def read_metadata_files(run_dir: Path, names: list[str]) -> dict[str, bytes]:
    """The content of ``names`` under ``run_dir``; each read stops past the size limit."""
    files: dict[str, bytes] = {}
    for name in names:
        try:
            with (run_dir / name).open("rb") as handle:
                files[name] = handle.read(MAX_TEXT_BYTES + 1)
        except OSError as exc:
            raise MetadataFileError(name, f"cannot be read ({exc.strerror or exc})") from None
    return files


def run_id_of(run_dir: Path, sequencer_type: str | None = None) -> str:
    """A run's id: the one its metadata files name (MinKNOW's: the folder's name), which
    names its collection, its ``run_id`` AVU and every event of its ingest, the daemon's too.

    Reads only the metadata files (no InterOp); :class:`RunFolderError` when they do not
    name the run.
    """
    return _parse_metadata_files(Path(run_dir), sequencer_type)[1].run_id


def _parse_metadata_files(run_dir: Path, sequencer_type: str | None) -> tuple[str, RunMetadata]:
    """The detected sequencer type and the metadata its files give (no InterOp QC)."""
    if not run_dir.is_dir():
        raise NotARunFolderError(f"run folder '{run_dir}' does not exist or is not a directory")
    names = metadata_files_in(run_dir, sequencer_type)
    if not names and sequencer_type in METADATA_FILE_PATTERNS:
        wanted = ", ".join(METADATA_FILE_PATTERNS[sequencer_type])
        raise NotARunFolderError(
            f"run folder '{run_dir}' has none of the {sequencer_type} metadata files ({wanted}); "
            f"is it a {sequencer_type} run? give its sequencer type, or none to detect it"
        )
    if not names:
        raise NotARunFolderError(
            f"run folder '{run_dir}' has no RunInfo.xml, RunParameters.xml, PacBio metadata XML, "
            "ONT final_summary_*.txt or AVITI RunParameters.json; is it a run folder? "
            "(pass --type to say which sequencer wrote it)"
        )
    files = read_metadata_files(run_dir, names)
    detected = sequencer_type or detect_sequencer_type(files)
    return detected, parse_files(files, detected, run_dir.resolve().name)


def parse_run_folder(run_dir: Path, sequencer_type: str | None = None) -> RunMetadata:
    """Run metadata of the run folder (or PacBio SMRT cell folder) ``run_dir``."""
    run_dir = Path(run_dir)
    detected, metadata = _parse_metadata_files(run_dir, sequencer_type)
    if PLATFORMS.get(detected, "illumina") == "illumina" and (run_dir / "InterOp").is_dir():
        from rodrunner.parsers.interop import interop_summary

        qc, problem = interop_summary(run_dir)
        if qc:
            metadata = metadata.model_copy(update={"qc": qc})
        if problem:
            logger.warning("metadata.file_unusable", file="InterOp", problem=problem)
            metadata = metadata.model_copy(
                update={"warnings": [*metadata.warnings, f"InterOp: {problem}"]}
            )
    return metadata

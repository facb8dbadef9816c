"""Illumina sample sheets, v1 (IEM, Local Run Manager) and v2 (BCL Convert, Cloud), and hybrids.

A tolerant sectioned-CSV reader works on every real sheet; a v2 sheet that also validates
with samshee (Illumina's v2 schema) has its ``[BCLConvert_Data]`` rows taken from samshee.
NUL bytes (seen in an iSeq Local Run Manager sheet) are removed with a warning; CRLF and BOMs
are accepted. Section-less CASAVA 1.8 sheets (``FCID,Lane,SampleID,…``, HiSeq-era bcl2fastq 1.x)
count as version 1. Version 2 is recognised by ``FileFormatVersion,2`` or any ``[BCLConvert_``
section (NOTES.md).
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rodrunner.errors import MetadataFileError
from rodrunner.models import Sample
from rodrunner.parsers.fields import Fields, decode_text, to_int

_SECTION = re.compile(r"^\s*\[([^\]]+)\]")


@dataclass
class SectionedSheet:
    """A sample sheet split into its sections: name -> raw CSV rows (trailing blanks cut)."""

    sections: dict[str, list[list[str]]] = field(default_factory=dict)

    def get(self, name: str) -> list[list[str]] | None:
        """Rows of the section called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for key, rows in self.sections.items():
            if key.lower() == wanted:
                return rows
        return None

    def settings(self, name: str) -> dict[str, str]:
        """A key,value section as a dict (later duplicates win)."""
        return {row[0].strip(): row[1].strip() for row in self.get(name) or [] if len(row) >= 2}

    def table(self, name: str) -> list[dict[str, str]]:
        """A header + rows section as dicts keyed by the header's column names."""
        rows = [r for r in self.get(name) or [] if any(c.strip() for c in r)]
        if not rows:
            return []
        header = [c.strip() for c in rows[0]]
        return [
            {col: (row[i].strip() if i < len(row) else "") for i, col in enumerate(header) if col}
            for row in rows[1:]
        ]


def split_sections(text: str) -> SectionedSheet:
    """Split a sectioned CSV (sample sheet, AVITI RunManifest) into sections of rows."""
    sheet = SectionedSheet()
    current: list[list[str]] | None = None
    for row in csv.reader(text.splitlines()):
        first = row[0] if row else ""
        match = _SECTION.match(first)
        if match:
            current = sheet.sections.setdefault(match.group(1).strip(), [])
            continue
        if current is None or first.lstrip().startswith("#"):
            continue
        while row and not row[-1].strip():
            row.pop()
        if row:
            current.append(row)
    return sheet


def parse_samplesheet(name: str, data: bytes) -> Fields:
    """Samples, projects and the sheet version of a sample sheet."""
    text = decode_text(name, data)
    problems: list[str] = []
    if "\x00" in text:
        text = text.replace("\x00", "")
        problems.append(f"{name}: NUL bytes removed (the instrument software wrote them)")
    sheet = split_sections(text)
    if not sheet.sections:
        casava = _casava_rows(text)
        if casava is None:
            raise MetadataFileError(
                name, "has no [Header] or [Data] section; is it an Illumina sample sheet?"
            )
        fields: Fields = {"samplesheet_version": 1, "samples": _samples(casava, {})}
        if problems:
            fields["warnings"] = problems
        return fields
    header = sheet.settings("Header")
    version_text = header.get("FileFormatVersion", "")
    is_v2 = version_text == "2" or any(k.lower().startswith("bclconvert_") for k in sheet.sections)
    if is_v2:
        rows = _samshee_rows(text) or sheet.table("BCLConvert_Data") or sheet.table("Data")
        projects_by_sample = {
            r.get("Sample_ID", ""): r.get("ProjectName", "") for r in sheet.table("Cloud_Data")
        }
    else:
        rows = sheet.table("Data")
        projects_by_sample = {}
    if sheet.get("Data") is None and sheet.get("BCLConvert_Data") is None:
        raise MetadataFileError(name, "has no [Data] or [BCLConvert_Data] section with samples")
    fields = {
        "samplesheet_version": 2 if is_v2 else 1,
        "samples": _samples(rows, projects_by_sample),
    }
    if problems:
        fields["warnings"] = problems
    return fields


def _casava_rows(text: str) -> list[dict[str, str]] | None:
    """Rows of a section-less CASAVA 1.8 / bcl2fastq 1.x sheet (``FCID,Lane,SampleID,…``).

    HiSeq 2000/2500 and early MiSeq facilities wrote these; a dual index is ``i7-i5`` in one
    ``Index`` column. None when the text is not such a sheet.
    """
    rows = [r for r in csv.reader(text.splitlines()) if any(c.strip() for c in r)]
    if not rows:
        return None
    header = [c.strip() for c in rows[0]]
    if not {"fcid", "sampleid"} <= {c.lower() for c in header}:
        return None
    table: list[dict[str, str]] = []
    for row in rows[1:]:
        record = {col: (row[i].strip() if i < len(row) else "") for i, col in enumerate(header)}
        key = next((k for k in record if k.lower() == "index"), None)
        if key and "-" in record[key] and "index2" not in {k.lower() for k in record}:
            record[key], _, record["Index2"] = record[key].partition("-")
        table.append(record)
    return table


def _samples(rows: Iterable[Mapping[str, str]], projects: Mapping[str, str]) -> list[Sample]:
    samples: list[Sample] = []
    seen: set[Sample] = set()
    for raw in rows:
        # Column names vary: Sample_ID / SampleID (bcl2fastq 1.8), index / Index ... LIMS
        # sheets add look-alikes after them (Sanger: Sample_ID, then sample_id): first wins.
        row: dict[str, str] = {}
        for key, value in raw.items():
            row.setdefault(key.lower().replace("_", ""), value)
        sample_id = row.get("sampleid", "").strip()
        if not sample_id:
            continue
        project = (
            row.get("sampleproject")
            or row.get("project")
            or row.get("projectname")
            or projects.get(sample_id)
        )
        sample = Sample(
            sample_id=sample_id,
            sample_name=row.get("samplename") or None,
            project=project or None,
            lane=to_int(row.get("lane")),
            index=row.get("index") or None,
            index2=row.get("index2") or None,
        )
        if sample not in seen:
            seen.add(sample)
            samples.append(sample)
    return samples


def _samshee_rows(text: str) -> list[dict[str, str]] | None:
    """BCLConvert_Data rows of a sheet samshee validates; None when samshee rejects it."""
    try:
        with warnings.catch_warnings():
            # samshee imports jsonschema.RefResolver, deprecated upstream; harmless here.
            warnings.filterwarnings(
                "ignore", category=DeprecationWarning, message="jsonschema.RefResolver"
            )
            from samshee.samplesheetv2 import SampleSheetV2
            from samshee.sectionedsheet import parse_sectionedsheet

            sheet = SampleSheetV2(parse_sectionedsheet(text))
    # samshee raises its own validation error, but also KeyError/ValueError/TypeError on the
    # many real sheets it does not expect; any of them only means "use the tolerant reader".
    except Exception:
        return None
    app: Any = sheet.applications.get("BCLConvert", {})
    data = app.get("data") if isinstance(app, dict) else None
    if not data:
        return None
    return [{str(k): "" if v is None else str(v) for k, v in row.items()} for row in data]

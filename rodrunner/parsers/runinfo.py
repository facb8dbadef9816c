"""Illumina ``RunInfo.xml``, every version (none, 2-6).

Version differences (see tests/data/runs/NOTES.md): the 2010 HiSeq 2000 file has
``<Read FirstCycle LastCycle>``, no ``<Flowcell>``, no ``<Date>`` and lanes only as
``<Tiles><Lane>``; dates come as ``YYMMDD``, ``M/D/YYYY h:mm:ss AM`` or ISO-8601.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from xml.etree.ElementTree import Element

from rodrunner.errors import MetadataFileError
from rodrunner.models import Read
from rodrunner.parsers.fields import Fields, iso_date, to_int
from rodrunner.parsers.xml import child_text, parse_xml

_RUN_ID_DATE = re.compile(r"^(\d{6}|\d{8})_")
# The last run-folder field: optional A/B side letter (sometimes "_A_" on renamed folders).
_RUN_ID_FLOWCELL = re.compile(r"_(?:[AB]_?)?([A-Za-z0-9-]+)$")


def parse_runinfo(name: str, data: bytes) -> Fields:
    """What a RunInfo.xml says about the run."""
    root = parse_xml(name, data)
    if root.tag != "RunInfo":
        raise MetadataFileError(name, f"has root <{root.tag}>, not <RunInfo>; is it a RunInfo.xml?")
    run = root.find("Run")
    if run is None:
        raise MetadataFileError(name, "has no <Run> element; is it truncated?")
    fields: Fields = {}
    run_id = (run.get("Id") or "").strip()
    if run_id:
        fields["run_id"] = run_id
    number = to_int(run.get("Number"))
    if number is not None:
        fields["run_number"] = number
    instrument = child_text(run, "Instrument")
    if instrument:
        fields["instrument_id"] = instrument
    flowcell = child_text(run, "Flowcell") or _flowcell_from_run_id(run_id)
    if flowcell:
        fields["flowcell_id"] = flowcell
    run_date = _run_date(child_text(run, "Date"), run_id)
    if run_date:
        fields["run_date"] = run_date
    lanes = _lanes(run)
    if lanes is not None:
        fields["lanes"] = lanes
    fields["reads"] = _reads(name, run)
    return fields


def _reads(name: str, run: Element) -> list[Read]:
    reads_el = run.find("Reads")
    if reads_el is None:
        return []
    reads: list[Read] = []
    for position, read in enumerate(reads_el.findall("Read"), start=1):
        number = to_int(read.get("Number")) or position
        cycles = to_int(read.get("NumCycles"))
        if cycles is None:
            first, last = to_int(read.get("FirstCycle")), to_int(read.get("LastCycle"))
            if first is None or last is None:
                raise MetadataFileError(name, f"read {number} has neither NumCycles nor cycles")
            cycles = last - first + 1
        indexed = (read.get("IsIndexedRead") or "N").strip().upper() in {"Y", "YES", "TRUE"}
        reads.append(Read(number=number, cycles=cycles, is_index=indexed))
    return reads


def _lanes(run: Element) -> int | None:
    layout = run.find("FlowcellLayout")
    if layout is not None:
        return to_int(layout.get("LaneCount"))
    tiles = run.find("Tiles")
    if tiles is not None:
        count = len(tiles.findall("Lane"))
        return count or None
    return None


def _flowcell_from_run_id(run_id: str) -> str | None:
    match = _RUN_ID_FLOWCELL.search(run_id)
    if not match or run_id.count("_") < 3:
        return None
    return match.group(1)


def _run_date(date_text: str | None, run_id: str) -> str | None:
    """The run's local calendar date.

    v6 files give a UTC timestamp; a run started late in the evening has the next day there,
    while the run ID (written by the same instrument) carries the local date: prefer that one
    when the two are a day apart at most.
    """
    from_date = iso_date(date_text)
    from_id = _date_from_run_id(run_id)
    if from_date and from_id and date_text and "T" in date_text:
        gap = abs(date.fromisoformat(from_date) - date.fromisoformat(from_id))
        return from_id if gap <= timedelta(days=1) else from_date
    return from_date or from_id


def _date_from_run_id(run_id: str) -> str | None:
    match = _RUN_ID_DATE.match(run_id)
    return iso_date(match.group(1)) if match else None

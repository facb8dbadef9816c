"""Element Biosciences AVITI: ``RunParameters.json``, ``RunManifest.csv`` (sections in any
case: ``[SAMPLES]``/``[Samples]``) and the bases2fastq ``RunManifest.json``.

Cytoprofiling runs carry ``Batches[]`` instead of ``Cycles`` and have no reads. The run ID is
``RunFolderName`` (blank in some files), not the operator's ``RunName``; ``PlatformVersion`` is
the AVITI OS version.
"""

from __future__ import annotations

import json
from typing import Any

from rodrunner.errors import MetadataFileError
from rodrunner.models import Read, Sample
from rodrunner.parsers.fields import Fields, decode_text, iso_date, to_int
from rodrunner.parsers.samplesheet import split_sections

_READ_NAMES = ("I1", "I2", "R1", "R2")


def parse_run_parameters_json(name: str, data: bytes) -> Fields:
    """What an AVITI RunParameters.json says about the run."""
    document = _json_object(name, data)
    if "InstrumentName" not in document and "RunName" not in document:
        raise MetadataFileError(
            name, "has neither InstrumentName nor RunName; is it an AVITI RunParameters.json?"
        )
    fields: Fields = {"sequencer_type": "aviti", "instrument_model": "AVITI"}
    # The run folder's name is the run ID; RunName is free text the operator typed ("1234"),
    # only a last resort after the folder name (see parse_files).
    _put(fields, "run_id", _text(document.get("RunFolderName")))
    _put(fields, "run_name", _text(document.get("RunName")))
    version = _text(document.get("PlatformVersion"))
    if version:
        fields["control_software"] = "AVITI OS"
        fields["control_software_version"] = version
    _put(fields, "instrument_id", _text(document.get("InstrumentName")))
    consumables = document.get("Consumables")
    flowcell_info = consumables.get("Flowcell") if isinstance(consumables, dict) else None
    serial = flowcell_info.get("SerialNumber") if isinstance(flowcell_info, dict) else None
    _put(fields, "flowcell_id", _text(document.get("FlowcellID")) or _text(serial))
    _put(fields, "run_date", iso_date(_text(document.get("Date"))))
    lanes = _text(document.get("AnalysisLanes"))
    if lanes:
        fields["lanes"] = len([lane for lane in lanes.split("+") if lane.strip()])
    _put(fields, "chemistry", _text(document.get("ChemistryVersion")))
    _put(fields, "flowcell_mode", _text(document.get("ThroughputSelection")))
    cycles = document.get("Cycles")
    if isinstance(cycles, dict):
        order = [r.strip() for r in (_text(document.get("ReadOrder")) or "").split(",")]
        names = [r for r in order if r in cycles] or [r for r in _READ_NAMES if r in cycles]
        reads: list[Read] = []
        for read_name in names:
            count = to_int(str(cycles.get(read_name)))
            if count and count > 0:
                reads.append(
                    Read(number=len(reads) + 1, cycles=count, is_index=read_name.startswith("I"))
                )
        fields["reads"] = reads
    return fields


def parse_run_manifest(name: str, data: bytes) -> Fields:
    """Samples and projects of an AVITI RunManifest (CSV, or bases2fastq JSON)."""
    if name.lower().endswith(".json"):
        return _manifest_json(name, _json_object(name, data))
    text = decode_text(name, data)
    if "\x00" in text:
        raise MetadataFileError(name, "contains NUL bytes; the file is corrupt")
    sheet = split_sections(text)
    if not any(
        sheet.get(section) is not None
        for section in ("Samples", "Settings", "RunValues", "RunParameters")
    ):
        raise MetadataFileError(
            name,
            "has no [Samples], [Settings] or [RunParameters] section; is it an AVITI RunManifest?",
        )
    samples: list[Sample] = []
    for row in sheet.table("Samples"):
        sample_name = row.get("SampleName", "").strip()
        if not sample_name:
            continue
        samples.append(
            Sample(
                sample_id=sample_name,
                sample_name=sample_name,
                project=row.get("Project") or None,
                lane=to_int(row.get("Lane")),
                index=row.get("Index1") or None,
                index2=row.get("Index2") or None,
            )
        )
    return {"sequencer_type": "aviti", "instrument_model": "AVITI", "samples": samples}


def _manifest_json(name: str, document: dict[str, Any]) -> Fields:
    raw_samples = document.get("Samples")
    if not isinstance(raw_samples, list):
        raise MetadataFileError(name, "has no Samples list; is it an AVITI RunManifest.json?")
    samples: list[Sample] = []
    for entry in raw_samples:
        if not isinstance(entry, dict):
            continue
        sample_name = _text(entry.get("SampleName"))
        if not sample_name:
            continue
        project = _text(entry.get("Project"))
        indexes = [i for i in entry.get("Indexes") or [] if isinstance(i, dict)] or [{}]
        for index in indexes:
            samples.append(
                Sample(
                    sample_id=sample_name,
                    sample_name=sample_name,
                    project=project,
                    lane=to_int(str(index.get("Lane", ""))),
                    index=_text(index.get("Index1")),
                    index2=_text(index.get("Index2")),
                )
            )
    fields: Fields = {"sequencer_type": "aviti", "instrument_model": "AVITI", "samples": samples}
    parameters = document.get("RunParameters")
    if isinstance(parameters, dict):
        _put(fields, "chemistry", _text(parameters.get("ChemistryVersion")))
    return fields


def _json_object(name: str, data: bytes) -> dict[str, Any]:
    text = decode_text(name, data)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MetadataFileError(name, f"is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise MetadataFileError(name, "is JSON but not an object")
    return document


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _put(fields: Fields, key: str, value: str | None) -> None:
    if value:
        fields[key] = value  # type: ignore[literal-required]

"""Illumina ``RunParameters.xml`` / ``runParameters.xml``: HiSeq, MiSeq, MiniSeq, iSeq,
NextSeq 500/550 and 1000/2000, NovaSeq 6000 and X.

Layouts differ (NOTES.md): HiSeq keeps everything under ``<Setup>``; MiSeq and NextSeq 500
split between ``<Setup>`` and the root; later instruments are flat. Names are matched
case-insensitively anywhere in the tree, in an order of preference per field.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from rodrunner.errors import MetadataFileError
from rodrunner.models import Read
from rodrunner.parsers.fields import Fields, iso_date, to_int
from rodrunner.parsers.instruments import MODEL_TO_TYPE, lookup_instrument
from rodrunner.parsers.xml import child_text, find_text, parse_xml

_RUN_FOLDER = re.compile(r"^(\d{6}|\d{8})_[A-Za-z0-9-]+_\d+_[A-Za-z0-9-]+")

_INSTRUMENT_TYPES = {
    "novaseqxplus": "NovaSeq X Plus",
    "novaseqx": "NovaSeq X",
    "nextseq2000": "NextSeq 2000",
    "nextseq1000": "NextSeq 1000",
    "miseqi100": "MiSeq i100",
    "miseqi100plus": "MiSeq i100 Plus",
}


def parse_runparameters(name: str, data: bytes) -> Fields:
    """What a RunParameters.xml says about the run and the instrument."""
    root = parse_xml(name, data)
    if root.tag.lower() != "runparameters":
        raise MetadataFileError(
            name, f"has root <{root.tag}>, not <RunParameters>; is it a RunParameters.xml?"
        )
    fields: Fields = {}
    application = find_text(root, "ApplicationName", "Application")
    version = find_text(root, "ApplicationVersion", "SystemSuiteVersion", "MCSVersion")
    instrument_type = find_text(root, "InstrumentType")
    instrument_id = find_text(
        root,
        "InstrumentSerialNumber",
        "InstrumentName",
        "InstrumentID",
        "InstrumentId",
        "ScannerID",
    )
    _put(fields, "control_software", _control_software(application, instrument_type))
    _put(fields, "control_software_version", version)
    _put(fields, "rta_version", find_text(root, "RTAVersion", "RtaVersion"))
    _put(fields, "instrument_id", instrument_id)
    run_id = find_text(root, "RunID", "RunId") or _run_id_from_output_folder(root)
    _put(fields, "run_id", run_id)
    _put(fields, "flowcell_id", _flowcell(root))
    run_date = iso_date(find_text(root, "RunStartDate", "RunStartTime"))
    _put(fields, "run_date", run_date or _date_from_run_id(run_id))
    number = to_int(find_text(root, "RunNumber", "ScanNumber", "RunCounter"))
    if number is not None:
        fields["run_number"] = number
    model = _model(application, instrument_type, instrument_id, find_text(root, "Flowcell"))
    if model:
        fields["instrument_model"] = model
        sequencer_type = MODEL_TO_TYPE.get(model)
        if sequencer_type:
            fields["sequencer_type"] = sequencer_type
    _put(fields, "chemistry", _chemistry(root))
    _put(fields, "flowcell_mode", _flowcell_mode(root))
    reads = _reads(root)
    if reads:
        fields["reads"] = reads
    return fields


def _put(fields: Fields, key: str, value: str | None) -> None:
    if value:
        fields[key] = value  # type: ignore[literal-required]


def _run_id_from_output_folder(root: Element) -> str | None:
    """NextSeq 1000/2000 1.x files have no RunId; their OutputFolder ends in the run folder."""
    folder = find_text(root, "OutputFolder")
    if not folder:
        return None
    name = folder.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return name if _RUN_FOLDER.match(name) else None


def _date_from_run_id(run_id: str | None) -> str | None:
    match = _RUN_FOLDER.match(run_id or "")
    return iso_date(match.group(1)) if match else None


def _control_software(application: str | None, instrument_type: str | None) -> str | None:
    if application == "control-software" and instrument_type:
        # NovaSeq X before System Suite 1.2 names itself only "control-software".
        return "NovaSeqXSeries Control Software"
    return application


def _model(
    application: str | None,
    instrument_type: str | None,
    instrument_id: str | None,
    flowcell_text: str | None,
) -> str | None:
    if instrument_type:
        known = _INSTRUMENT_TYPES.get(instrument_type.replace(" ", "").lower())
        if known:
            return known
    from_id = lookup_instrument(instrument_id)
    id_model = from_id[1] if from_id else None
    app = (application or "").lower()
    if "hiseq" in app:
        text = (flowcell_text or "").lower()
        if "hiseq x" in text:
            return "HiSeq X"
        if "3000/4000" in text:
            return id_model if id_model in {"HiSeq 3000", "HiSeq 4000"} else "HiSeq 3000/4000"
        if id_model in {"HiSeq 2000", "HiSeq 2500"}:
            return id_model
        return "HiSeq 2500" if "rapid" in text else "HiSeq 2000"
    if "nextseq 1000/2000" in app:
        return id_model if id_model in {"NextSeq 1000", "NextSeq 2000"} else "NextSeq 1000/2000"
    if "nextseq" in app:
        return id_model if id_model in {"NextSeq 500", "NextSeq 550"} else "NextSeq 500/550"
    if "miseq" in app:
        return "MiSeq i100" if "i100" in app else "MiSeq"
    if "miniseq" in app:
        return "MiniSeq"
    if "iseq" in app:
        return "iSeq 100"
    if "novaseqx" in app.replace(" ", "") or (app == "control-software"):
        return "NovaSeq X"
    if "novaseq" in app:
        return "NovaSeq 6000"
    return id_model


def _flowcell(root: Element) -> str | None:
    consumables = root.find("ConsumableInfo")
    if consumables is not None:  # NovaSeq X: the consumable whose Type is FlowCell
        for item in consumables:
            if (child_text(item, "Type") or "").lower() == "flowcell":
                return child_text(item, "SerialNumber")
    return find_text(
        root,
        "FlowCellSerialBarcode",  # NovaSeq 6000
        "FlowCellSerialNumber",  # NextSeq 1000/2000
        "FlowCellSerial",  # NextSeq 500/550
        "Barcode",  # HiSeq, MiSeq
    ) or child_text(root.find("FlowcellEEPROMTag"), "SerialNumber")  # iSeq


def _chemistry(root: Element) -> str | None:
    sbs_version = find_text(root, "SbsConsumableVersion")
    if sbs_version:  # NovaSeq 6000: 3 = v1.5 reagents (changes the i5 orientation)
        return (
            "v1.5" if sbs_version.strip() == "3" else f"v1.0 (SbsConsumableVersion {sbs_version})"
        )
    consumables = root.find("ConsumableInfo")
    if consumables is not None:
        for item in consumables:
            if (child_text(item, "Type") or "").lower() == "reagent":
                return child_text(item, "Name")
    setup = root.find("Setup")
    return (
        child_text(setup, "Sbs")  # HiSeq kit name
        or find_text(root, "ReagentKitVersion")  # MiSeq
        or find_text(root, "Chemistry")  # NextSeq 500/550
        or child_text(root, "ReagentKitType", "CartridgeMode")
    )


def _flowcell_mode(root: Element) -> str | None:
    consumables = root.find("ConsumableInfo")
    if consumables is not None:
        for item in consumables:
            if (child_text(item, "Type") or "").lower() == "flowcell":
                # 10B / 25B / 1.5B; System Suite 1.1 puts the size in <Mode>, later a number.
                name = child_text(item, "Name")
                mode = child_text(item, "Mode")
                return name or (mode if mode and not mode.isdigit() else None)
    mode = find_text(root, "FlowCellMode")  # NovaSeq 6000 SP..S4, NextSeq 2000 P1..P4
    if mode:
        return mode
    setup = root.find("Setup")
    run_mode = child_text(setup, "RunMode")  # HiSeq 2500 HighOutput / RapidRun
    if run_mode:
        return run_mode
    chemistry = find_text(root, "Chemistry")  # NextSeq 500: "NextSeq High" / "NextSeq Mid"
    if chemistry:
        last = chemistry.split()[-1]
        if last in {"High", "Mid"}:
            return last
    return child_text(setup, "Flowcell")


_READ_ORDER = ("read1", "index1", "index2", "read2")


def _reads(root: Element) -> list[Read]:
    planned = root.find("PlannedReads")  # NovaSeq X
    if planned is not None:
        named = {(r.get("ReadName") or "").lower(): to_int(r.get("Cycles")) for r in planned}
        return _ordered(named)
    runinfo_reads = [
        r for r in root.iter() if r.tag in {"Read", "RunInfoRead"} and r.get("NumCycles")
    ]
    if runinfo_reads:  # HiSeq Setup/Reads/Read, MiSeq Reads/RunInfoRead
        reads = []
        for position, read in enumerate(runinfo_reads, start=1):
            cycles = to_int(read.get("NumCycles"))
            if cycles:
                indexed = (read.get("IsIndexedRead") or "N").upper() == "Y"
                number = to_int(read.get("Number")) or position
                reads.append(Read(number=number, cycles=cycles, is_index=indexed))
        return reads
    planned_cycles = root.find("PlannedCycles")  # NextSeq 1000/2000
    if planned_cycles is not None:
        return _ordered({c.tag.lower(): to_int(c.text) for c in planned_cycles})
    flat = {  # NovaSeq 6000, NextSeq 500/550, iSeq
        "read1": to_int(find_text(root, "Read1NumberOfCycles", "Read1")),
        "index1": to_int(find_text(root, "IndexRead1NumberOfCycles", "Index1Read", "IndexRead1")),
        "index2": to_int(find_text(root, "IndexRead2NumberOfCycles", "Index2Read", "IndexRead2")),
        "read2": to_int(find_text(root, "Read2NumberOfCycles", "Read2")),
    }
    return _ordered(flat)


def _ordered(named: dict[str, int | None]) -> list[Read]:
    reads: list[Read] = []
    for key in _READ_ORDER:
        cycles = named.get(key)
        if cycles:
            reads.append(Read(number=len(reads) + 1, cycles=cycles, is_index="index" in key))
    return reads

"""PacBio SMRT cell metadata: RS II ``*.metadata.xml``, Sequel/Sequel II dataset XML
(``*.subreadset.xml``, ``*.consensusreadset.xml``) and Revio ``metadata/*.metadata.xml``.

The unit of a PacBio ingest is the SMRT cell, so ``run_id`` is the cell's movie name
(``m84098_240219_110741_s1``), unique per cell; the run's own name goes nowhere else.
Movie prefixes: m54 Sequel, m64…e Sequel IIe, m64 Sequel II, m84 Revio (NOTES.md).
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from rodrunner.errors import MetadataFileError
from rodrunner.models import Sample
from rodrunner.parsers.fields import Fields, iso_date
from rodrunner.parsers.xml import child_text, parse_xml

_MOVIE = re.compile(r"^m(\d+[a-z]?)_(\d{6})_\d{6}(?:_s\d+)?")  # Sequel, Revio
_RS2_MOVIE = re.compile(r"^m(\d{6})_\d{6}_\d+_c(\d+)_s\d+_[pX]\d+")  # RS II


def parse_pacbio(name: str, data: bytes) -> Fields:
    """What a PacBio metadata or dataset XML says about its SMRT cell."""
    root = parse_xml(name, data)
    if root.tag == "Metadata":
        return _rs2(name, root)
    collection = next(root.iter("CollectionMetadata"), None)
    if collection is None:
        raise MetadataFileError(
            name, f"has root <{root.tag}> and no <CollectionMetadata>; is it PacBio metadata?"
        )
    movie = (collection.get("Context") or "").strip() or _movie_from_name(name)
    if not movie:
        raise MetadataFileError(name, "names no movie (CollectionMetadata@Context)")
    fields: Fields = {"run_id": movie, "sequencer_type": "pacbio"}
    run = next(root.iter("Run"), None)
    model = run.get("InstrumentType") if run is not None else None
    _put(fields, "instrument_model", model or _model_from_movie(movie))
    _put(fields, "instrument_id", collection.get("InstrumentName"))
    _put(fields, "run_date", _date_from_movie(movie))
    cell = collection.find("CellPac")
    if cell is not None:
        # Revio ICS 12 (2023) puts the tray's barcode (lot + part + …) in Barcode, the same for
        # the four cells of a tray; the cell's own ID (EA…) is LabelNumber. Later both agree.
        _put(fields, "flowcell_id", cell.get("LabelNumber") or cell.get("Barcode"))
    chip = (run.get("ChipType") if run is not None else None) or _chip_type(collection)
    _put(fields, "flowcell_mode", chip)
    binding = collection.find("BindingKit")
    if binding is not None:
        _put(fields, "chemistry", binding.get("Name"))
    version = child_text(collection, "InstCtrlVer") or _component_version(collection, "ics")
    if version:
        fields["control_software"] = "PacBio Instrument Control Software"
        fields["control_software_version"] = version
    fields["samples"] = _samples(collection)
    return fields


def _rs2(name: str, root: Element) -> Fields:
    movie = _movie_from_name(name, _RS2_MOVIE)
    if not movie:
        raise MetadataFileError(
            name, "is an RS II metadata.xml whose file name is not a movie name (m…_s1_p0)"
        )
    fields: Fields = {
        "run_id": movie,
        "sequencer_type": "pacbio",
        "instrument_model": "RS II",
    }
    _put(fields, "instrument_id", child_text(root, "InstrumentName"))
    run = root.find("Run")
    match = _RS2_MOVIE.match(movie)
    from_movie = iso_date(match.group(1)) if match else None
    _put(fields, "run_date", iso_date(child_text(run, "WhenStarted")) or from_movie)
    if match:
        fields["flowcell_id"] = match.group(2)
    version = child_text(root, "InstCtrlVer")
    if version:
        fields["control_software"] = "PacBio Instrument Control Software"
        fields["control_software_version"] = version
    binding = root.find("BindingKit")
    _put(fields, "chemistry", child_text(binding, "Name"))
    sample = root.find("Sample")
    sample_name = child_text(sample, "Name")
    if sample_name:
        fields["samples"] = [Sample(sample_id=sample_name, sample_name=sample_name)]
    return fields


def _samples(collection: Element) -> list[Sample]:
    well = collection.find("WellSample")
    well_name = well.get("Name") if well is not None else None
    samples: list[Sample] = []
    if well is not None:
        for bio in well.iter("BioSample"):
            bio_name = (bio.get("Name") or "").strip()
            if bio_name and all(s.sample_id != bio_name for s in samples):
                samples.append(Sample(sample_id=bio_name, sample_name=well_name))
    if not samples and well_name:
        samples.append(Sample(sample_id=well_name, sample_name=well_name))
    return samples


def _component_version(collection: Element, component: str) -> str | None:
    for info in collection.iter("VersionInfo"):
        if (info.get("Name") or "").lower() == component:
            return info.get("Version")
    return None


def _chip_type(collection: Element) -> str | None:
    for element in collection.iter():
        chip = element.get("ChipType")
        if chip:
            return chip
    return None


def _movie_from_name(name: str, pattern: re.Pattern[str] = _MOVIE) -> str | None:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    match = pattern.match(base)
    if not match:
        return None
    return base.split(".", 1)[0]


def _model_from_movie(movie: str) -> str | None:
    match = _MOVIE.match(movie)
    if not match:
        return None
    instrument = match.group(1)
    if instrument.startswith("84"):
        return "Revio"
    if instrument.startswith("64"):
        return "Sequel IIe" if instrument.endswith("e") else "Sequel II"
    if instrument.startswith("54"):
        return "Sequel"
    return None


def _date_from_movie(movie: str) -> str | None:
    match = _MOVIE.match(movie)
    return iso_date(match.group(2)) if match else None


def _put(fields: Fields, key: str, value: str | None) -> None:
    if value and value.strip():
        fields[key] = value.strip()  # type: ignore[literal-required]

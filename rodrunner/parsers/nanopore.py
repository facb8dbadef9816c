"""Oxford Nanopore MinKNOW output: ``final_summary_*.txt`` (key=value lines) and the optional
``report_*.md`` / ``report_*.json`` whose "Tracking ID" JSON names the device and software.

MinKNOW names the run folder ``YYYYMMDD_HHMM_<position>_<flow cell>_<id>``; that name is the
run ID when the caller passes it; without it one is built from the summary's own fields.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rodrunner.errors import MetadataFileError
from rodrunner.models import Sample
from rodrunner.parsers.fields import Fields, decode_text, iso_date

_HOST_MODELS = (  # instrument host name prefix -> model
    ("PCA", "PromethION"),
    ("PCT", "PromethION"),
    ("PC", "PromethION"),
    ("P2S", "P2 Solo"),
    ("GXB", "GridION"),
    ("GX", "GridION"),
    ("MC-", "MinION Mk1C"),
    ("MN", "MinION"),
)
_DEVICE_TYPES = {
    "promethion": "PromethION",
    "gridion": "GridION",
    "minion": "MinION",
    "minion_mk1c": "MinION Mk1C",
    "mk1c": "MinION Mk1C",
    "p2_solo": "P2 Solo",
    "p2_integrated": "P2 Solo",
}
_KIT = re.compile(r"\b(SQK-[A-Z0-9]+)\b")
_FLOWCELL_PRODUCT = re.compile(r"\b(FL[OG]-[A-Z0-9]+)\b")


def parse_final_summary(name: str, data: bytes) -> Fields:
    """What a MinKNOW final_summary_*.txt says about the run."""
    text = decode_text(name, data)
    if "\x00" in text:
        raise MetadataFileError(name, "contains NUL bytes; the file is corrupt")
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            values[key.strip()] = value.strip()
    if "flow_cell_id" not in values and "instrument" not in values:
        raise MetadataFileError(
            name, "has no instrument= or flow_cell_id= line; is it a MinKNOW final_summary?"
        )
    fields: Fields = {"sequencer_type": "nanopore"}
    instrument = values.get("instrument", "")
    if instrument:
        fields["instrument_id"] = instrument
        model = host_model(instrument)
        if model:
            fields["instrument_model"] = model
    flowcell = values.get("flow_cell_id", "")
    if flowcell:
        fields["flowcell_id"] = flowcell
    run_date = iso_date(values.get("started"))
    if run_date:
        fields["run_date"] = run_date
    protocol = values.get("protocol", "")
    kit = _KIT.search(protocol)
    if kit:
        fields["chemistry"] = kit.group(1)
    product = _FLOWCELL_PRODUCT.search(protocol)
    if product:
        fields["flowcell_mode"] = product.group(1)
    sample_id = values.get("sample_id", "")
    if sample_id:
        fields["samples"] = [Sample(sample_id=sample_id, sample_name=sample_id)]
    run_id = _run_id(values)
    if run_id:
        fields["run_id"] = run_id
    return fields


def parse_report(name: str, data: bytes) -> Fields:
    """What the Tracking ID of a MinKNOW report (markdown or JSON) says about the run."""
    text = decode_text(name, data)
    tracking = _tracking_id(name, text)
    fields: Fields = {"sequencer_type": "nanopore"}
    device = str(tracking.get("device_type") or "").lower()
    hostname = str(tracking.get("hostname") or "")
    model = _DEVICE_TYPES.get(device) or host_model(hostname)
    if model:
        fields["instrument_model"] = model
    if hostname:
        fields["instrument_id"] = hostname
    for key, field in (
        ("flow_cell_id", "flowcell_id"),
        ("flow_cell_product_code", "flowcell_mode"),
    ):
        value = str(tracking.get(key) or "").strip()
        if value:
            fields[field] = value  # type: ignore[literal-required]
    run_date = iso_date(str(tracking.get("exp_start_time") or ""))
    if run_date:
        fields["run_date"] = run_date
    version = str(tracking.get("distribution_version") or "").strip()
    if version:
        fields["control_software"] = "MinKNOW"
        fields["control_software_version"] = version
    sample_id = str(tracking.get("sample_id") or "").strip()
    if sample_id:
        fields["samples"] = [Sample(sample_id=sample_id, sample_name=sample_id)]
    return fields


def host_model(host: str) -> str | None:
    """The ONT device model a MinKNOW host or device name implies, if any."""
    upper = host.strip().upper()
    for prefix, model in _HOST_MODELS:
        if upper.startswith(prefix):
            return model
    return None


def _run_id(values: dict[str, str]) -> str | None:
    started = values.get("started", "")
    flowcell = values.get("flow_cell_id", "")
    position = values.get("position") or values.get("instrument", "")
    short_id = (values.get("protocol_run_id") or values.get("acquisition_run_id") or "")[:8]
    stamp = re.sub(r"\D", "", started[:16])  # YYYYMMDDHHMM
    if len(stamp) < 12 or not flowcell:
        return None
    parts = [stamp[:8], stamp[8:12], position, flowcell, short_id]
    return "_".join(p for p in parts if p)


def _tracking_id(name: str, text: str) -> dict[str, Any]:
    stripped = text.lstrip()
    if stripped.startswith("{"):  # report_*.json
        try:
            document = json.loads(stripped)
        except (ValueError, RecursionError) as exc:
            raise MetadataFileError(name, f"is not valid JSON ({exc})") from None
        found = _find_tracking(document)
        if found is None:
            raise MetadataFileError(name, "has no tracking id (device_type, flow_cell_id)")
        return found
    start = text.find("{")
    end = text.find("\n}", start)
    if start < 0 or end < 0 or "tracking id" not in text[:start].lower():
        raise MetadataFileError(name, "has no 'Tracking ID' JSON block; is it a MinKNOW report?")
    try:
        block = json.loads(text[start : end + 2])
    except (ValueError, RecursionError) as exc:
        raise MetadataFileError(name, f"has a broken Tracking ID block ({exc})") from None
    if not isinstance(block, dict):
        raise MetadataFileError(name, "has a Tracking ID block that is not a JSON object")
    return block


def _find_tracking(document: Any, depth: int = 0) -> dict[str, Any] | None:
    if depth > 6:
        return None
    if isinstance(document, dict):
        if "flow_cell_id" in document and ("device_type" in document or "hostname" in document):
            return document
        for value in document.values():
            found = _find_tracking(value, depth + 1)
            if found is not None:
                return found
    elif isinstance(document, list):
        for item in document[:50]:
            found = _find_tracking(item, depth + 1)
            if found is not None:
                return found
    return None

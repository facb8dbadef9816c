"""What one metadata file contributes: a partial set of run metadata fields.

Each format parser returns :class:`Fields` holding only what its file says; the entry points
merge them by precedence into a :class:`~rodrunner.models.RunMetadata`. No I/O happens here.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TypedDict

from rodrunner.errors import MetadataFileError
from rodrunner.models import Read, Sample


class Fields(TypedDict, total=False):
    """A partial run metadata record; keys are RunMetadata fields (software flattened)."""

    run_id: str
    run_name: str
    sequencer_type: str
    instrument_model: str
    instrument_id: str
    run_number: int
    flowcell_id: str
    run_date: str
    lanes: int
    reads: list[Read]
    samplesheet_version: int
    samples: list[Sample]
    control_software: str
    control_software_version: str
    rta_version: str
    chemistry: str
    flowcell_mode: str
    warnings: list[str]


MAX_TEXT_BYTES = 32 * 1024 * 1024
"""Largest non-XML metadata file accepted (sample sheets, summaries, JSON)."""


def decode_text(name: str, data: bytes, *, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """A text metadata file as str: size-limited, BOM dropped, CRLF made LF, NULs kept."""
    if len(data) > max_bytes:
        raise MetadataFileError(
            name, f"is {len(data)} bytes, more than the {max_bytes} allowed for a metadata file"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise MetadataFileError(name, f"is not valid UTF-16 text ({exc.reason})") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Windows instrument PCs write cp1252 now and then; latin-1 never fails.
            text = data.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


_DATE_FORMATS = (
    "%y%m%d",  # RunInfo v2-v5, RunParameters RunStartDate
    "%Y%m%d",
    "%Y-%m-%d",
    "%m/%d/%Y %I:%M:%S %p",  # NovaSeq 6000 RunInfo
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d-%b-%Y",
)
_ISO_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]")


def iso_date(value: str | None) -> str | None:
    """Any date an instrument writes, as ISO ``YYYY-MM-DD``; None if it is not a date."""
    if not value:
        return None
    value = value.strip()
    match = _ISO_PREFIX.match(value)
    if match:
        value = match.group(1)
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        if date(1990, 1, 1) <= parsed <= date(2100, 1, 1):
            return parsed.isoformat()
    return None


def to_int(value: str | None) -> int | None:
    """``value`` as an int, or None when it is missing or not a whole number."""
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None

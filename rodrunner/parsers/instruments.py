"""Illumina instrument ID lookup over the instrument table (:mod:`rodrunner.instruments`).

Longest prefix wins; a prefix must be followed by the serial number (or end in ``-``).
"""

from __future__ import annotations

import re

from rodrunner.instruments import INSTRUMENT_PREFIXES, MODEL_TO_TYPE

__all__ = ["MODEL_TO_TYPE", "lookup_instrument"]

_SORTED = sorted(
    (row for row in INSTRUMENT_PREFIXES if row.platform == "illumina"),
    key=lambda row: -len(row.prefix),
)
_SERIAL_TAIL = re.compile(r"^[0-9]")


def lookup_instrument(instrument_id: str | None) -> tuple[str, str] | None:
    """``(sequencer_type, instrument_model)`` for an instrument ID, or None if unknown."""
    if not instrument_id:
        return None
    value = instrument_id.strip()
    for row in _SORTED:
        prefix = row.prefix
        rest = value[len(prefix) :]
        if value.upper().startswith(prefix.upper()) and (
            prefix.endswith("-") or _SERIAL_TAIL.match(rest)
        ):
            return row.sequencer_type, row.model
    return None

"""Pure: what a caller may hand ``iRODSClient.upload_directory`` as ``metadata``.

A :class:`~rodrunner.models.RunMetadata` becomes the run AVUs the ingest flow writes
(:func:`rodrunner.plan.run_avus` with ``irods.avu_prefix``); an iterable of
``(attribute, value, units)`` triples (or AVUs) is taken as it is. Nothing else is accepted,
so a Python repr of a list or model never becomes an AVU value.
"""

from __future__ import annotations

from typing import Any

from rodrunner.models import RunMetadata
from rodrunner.plan import run_avus

__all__ = ["ACCEPTED", "metadata_avus"]

ACCEPTED = "a RunMetadata or an iterable of (attribute, value, units) triples"
_SCALARS = (str, int, float)


def _refuse(what: str) -> TypeError:
    return TypeError(f"metadata must be {ACCEPTED}, got {what}")


def _triple(item: Any) -> tuple[str, str, str]:
    if isinstance(item, tuple | list):
        parts = tuple(item)
    elif all(hasattr(item, name) for name in ("attr", "value", "units")):
        parts = (item.attr, item.value, item.units)
    else:
        raise _refuse(f"an item of type {type(item).__name__}")
    if len(parts) not in (2, 3):
        raise _refuse(f"an item of {len(parts)} elements")
    attr, value, units = (*parts, "")[:3] if len(parts) == 2 else parts
    if not isinstance(attr, str):
        raise _refuse(f"an attribute of type {type(attr).__name__}")
    if isinstance(value, bool) or not isinstance(value, _SCALARS):
        raise _refuse(f"a value of type {type(value).__name__} for attribute {attr!r}")
    if units is not None and not isinstance(units, str):
        raise _refuse(f"units of type {type(units).__name__} for attribute {attr!r}")
    return attr, str(value), units or ""


def metadata_avus(metadata: object, prefix: str = "") -> list[tuple[str, str, str]]:
    """The AVUs ``metadata`` stands for, or a TypeError naming what is accepted."""
    if isinstance(metadata, RunMetadata):
        return run_avus(metadata, prefix)
    if isinstance(metadata, str | bytes | dict) or not hasattr(metadata, "__iter__"):
        raise _refuse(f"{type(metadata).__name__}")
    return [_triple(item) for item in metadata]

"""Keep client-given paths where they must stay: local paths inside the sequencer roots (the
rule of :mod:`rodrunner.confine`, shared with the daemon and the command line), iRODS paths
inside the zone. Every refusal is a :class:`PathError` naming the value and the fix.
"""

from __future__ import annotations

from rodrunner.confine import allowed_roots, confine_local_path
from rodrunner.errors import PathError

__all__ = ["allowed_roots", "confine_irods_path", "confine_local_path"]


def confine_irods_path(name: str, value: str, zone: str) -> str:
    """``value`` without a trailing slash if it is a clean absolute path inside ``/zone/``."""
    example = f"/{zone}/home/<user>/sequencer/<type>/<run_id>"
    if "\x00" in value:
        raise PathError(f"{name} {value!r} contains a NUL byte; give a plain iRODS path")
    trimmed = value.rstrip("/") if value != "/" else value
    parts = trimmed.split("/")
    if not trimmed.startswith("/") or any(p in ("", ".", "..") for p in parts[1:]):
        raise PathError(
            f"{name} {value!r} must be an absolute iRODS path without '.', '..' or '//', "
            f"e.g. {example}"
        )
    if len(parts) < 3 or parts[1] != zone:
        raise PathError(f"{name} {value!r} lies outside the zone /{zone}; e.g. {example}")
    return trimmed

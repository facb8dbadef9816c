"""Keep client-given paths where they must stay: local paths inside the sequencer roots,
iRODS paths inside the zone. Every refusal is a :class:`PathError` naming the value and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from rodrunner.config import AppConfig
from rodrunner.errors import PathError

__all__ = ["allowed_roots", "confine_irods_path", "confine_local_path"]


def allowed_roots(config: AppConfig) -> list[Path]:
    """``sequencer.base_dir`` and every configured type's root, resolved, without repeats."""
    roots = [config.sequencer.base_dir]
    roots += [config.sequencer.root_for(name) for name in config.sequencer.types]
    return list(dict.fromkeys(Path(os.path.realpath(root)) for root in roots))


def confine_local_path(
    name: str, value: str, roots: Iterable[Path], *, allow_root: bool = False
) -> str:
    """``value`` resolved (symlinks followed) if it lies inside one of ``roots``.

    ``allow_root``: the root itself is acceptable too (a ``root_dir``), not only what is below.
    """
    roots = list(roots)
    shown = ", ".join(str(r) for r in roots)
    if "\x00" in value:
        raise PathError(f"{name} {value!r} contains a NUL byte; give a plain path")
    if not value.startswith("/"):
        raise PathError(f"{name} {value!r} must be an absolute path inside one of: {shown}")
    if ".." in PurePosixPath(value).parts:
        raise PathError(f"{name} {value!r} must not contain '..'; give the path inside {shown}")
    resolved = Path(os.path.realpath(value))
    for root in roots:
        if resolved == root and allow_root:
            return str(resolved)
        if resolved != root and resolved.is_relative_to(root):
            return str(resolved)
    escaped = f" (it resolves to {resolved})" if str(resolved) != value.rstrip("/") else ""
    raise PathError(
        f"{name} {value!r} lies outside the configured sequencer roots{escaped}; "
        f"it must be inside one of: {shown}"
    )


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

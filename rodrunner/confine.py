"""Where local paths must stay: inside the configured sequencer roots. Pure path logic over
``os.path.realpath``; the one confinement rule the daemon, the command line and the API share.

A path is inside a root when, with every symlink followed, it lies below the root (itself
resolved). A run folder that is a symlink to a folder elsewhere is therefore outside.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from rodrunner.config import AppConfig
from rodrunner.errors import PathError
from rodrunner.names import shown

__all__ = [
    "allowed_roots",
    "confine_local_path",
    "linked_out_of_root",
    "outside_reason",
    "resolve_inside",
]


def allowed_roots(config: AppConfig) -> list[Path]:
    """``sequencer.base_dir`` and every configured type's root, resolved, without repeats."""
    roots = [config.sequencer.base_dir]
    roots += [config.sequencer.root_for(name) for name in config.sequencer.types]
    return list(dict.fromkeys(Path(os.path.realpath(root)) for root in roots))


def resolve_inside(
    value: str | os.PathLike[str], roots: Iterable[Path], *, allow_root: bool = False
) -> Path | None:
    """``value`` resolved (symlinks followed) when it lies below one of ``roots``, else None.

    ``roots`` must be resolved already (:func:`allowed_roots`, or ``os.path.realpath``).
    ``allow_root``: a root itself is inside too, not only what is below it.
    """
    resolved = Path(os.path.realpath(value))
    for root in roots:
        if resolved == root:
            if allow_root:
                return resolved
        elif resolved.is_relative_to(root):
            return resolved
    return None


def outside_reason(value: str | os.PathLike[str], roots: Iterable[Path]) -> str:
    """Why ``value`` is not inside ``roots`` (one line, names escaped)."""
    resolved = os.path.realpath(value)
    where = ", ".join(shown(str(r)) for r in roots)
    also = f" (it resolves to {shown(resolved)})" if resolved != os.fspath(value) else ""
    return f"{shown(os.fspath(value))} lies outside the sequencer root {where}{also}"


def linked_out_of_root(path: str | os.PathLike[str], roots: Iterable[Path]) -> str | None:
    """Why ``path``, an entry at the top of one of ``roots`` (resolved), must not be ingested:
    it resolves outside that root (a symlink to a folder elsewhere). None when it stays inside
    or is not at the top of any of ``roots``."""
    parent = Path(os.path.realpath(os.path.dirname(os.path.abspath(path))))
    for root in roots:
        if parent == root and resolve_inside(path, [root]) is None:
            return (
                f"{outside_reason(path, [root])}; a run folder must be inside its root: "
                "move or copy the run there instead of linking it"
            )
    return None


def confine_local_path(
    name: str, value: str, roots: Iterable[Path], *, allow_root: bool = False
) -> str:
    """``value`` resolved if it lies inside one of ``roots``; :class:`PathError` otherwise.

    For paths given by a client: also refuses NUL bytes, relative paths and ``..``.
    """
    roots = list(roots)
    shown_roots = ", ".join(str(r) for r in roots)
    if "\x00" in value:
        raise PathError(f"{name} {value!r} contains a NUL byte; give a plain path")
    if not value.startswith("/"):
        raise PathError(f"{name} {value!r} must be an absolute path inside one of: {shown_roots}")
    if ".." in PurePosixPath(value).parts:
        raise PathError(
            f"{name} {value!r} must not contain '..'; give the path inside {shown_roots}"
        )
    inside = resolve_inside(value, roots, allow_root=allow_root)
    if inside is not None:
        return str(inside)
    resolved = Path(os.path.realpath(value))
    escaped = f" (it resolves to {resolved})" if str(resolved) != value.rstrip("/") else ""
    raise PathError(
        f"{name} {value!r} lies outside the configured sequencer roots{escaped}; "
        f"it must be inside one of: {shown_roots}"
    )

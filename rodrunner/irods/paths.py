"""Pure: iRODS paths as rodrunner accepts them, and paths below a collection."""

from __future__ import annotations

from rodrunner.errors import PathError

__all__ = ["check_irods_path", "child", "in_subtree"]


def check_irods_path(path: str) -> str:
    """``path`` without a trailing ``/``; PathError unless absolute with no empty/./.. part."""
    clean = path.rstrip("/")
    if not path.startswith("/") or any(part in (".", "..", "") for part in clean.split("/")[1:]):
        raise PathError(
            f"iRODS path {path!r} must be absolute, without '.', '..' or '//', "
            "e.g. /tempZone/home/rods/sequencer/novaseq/<run_id>"
        )
    if not clean:
        raise PathError(f"iRODS path {path!r} is the root; give a collection below a zone")
    return clean


def child(parent: str, relative: str) -> str:
    """``parent/relative``; PathError when ``relative`` would climb out of ``parent``."""
    if relative.startswith("/") or ".." in relative.split("/"):
        raise PathError(f"relative path {relative!r} would climb out of {parent!r}")
    return f"{parent}/{relative}"


def in_subtree(name: str, path: str) -> bool:
    """Whether collection ``name`` is ``path`` or below it."""
    return name == path or name.startswith(path + "/")

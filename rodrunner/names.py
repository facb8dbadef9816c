"""File names as people and text formats can take them. Pure.

A POSIX file name is any bytes but ``/`` and NUL; Python holds the bytes that are not UTF-8 as
lone surrogates (``os.fsdecode``), which UTF-8 text (a log line, SQLite TEXT, JSON for Prefect,
an iRODS name) cannot carry. :func:`shown` escapes such a name for a message; :func:`text_problem`
says why a name cannot be sent on as text.
"""

from __future__ import annotations

import os

__all__ = ["is_utf8", "shown", "text_problem"]

_CONTROL = {i: f"\\x{i:02x}" for i in range(32)} | {10: "\\n", 13: "\\r", 9: "\\t", 127: "\\x7f"}


def is_utf8(name: str) -> bool:
    """Whether ``name`` is text (holds no undecodable byte)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(name: str | os.PathLike[str]) -> str:
    """``name`` printable on one line: undecodable bytes as ``\\xNN``, control characters
    escaped (``\\n``); anything else as it is."""
    text = os.fspath(name)
    if not is_utf8(text):
        raw = os.fsencode(text)
        text = raw.decode("utf-8", errors="backslashreplace")
    return text.translate(_CONTROL)


def text_problem(name: str) -> str | None:
    """Why ``name`` cannot be named in iRODS or a flow parameter, or None when it can."""
    if not is_utf8(name):
        return (
            f"the folder name {shown(name)} is not valid UTF-8, so it cannot be named in iRODS "
            "or in a flow parameter; rename it to UTF-8 (e.g. convmv -f latin1 -t utf8) "
            "and it is picked up at the next scan"
        )
    return None

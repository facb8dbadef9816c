"""A ``GenQueryOut_PI`` exactly as iRODS 5.0.2 writes it. Pure.

Column-major, 50 ``SqlResult_PI`` slots, ``reslen`` = the longest value + 1 and at least 50,
shared by every column but the resource hierarchy (422), which keeps its own; times as
11-digit epoch strings.
"""

from __future__ import annotations

from collections.abc import Sequence

from rodrunner.sandbox.genquery.model import COLUMNS
from rodrunner.sandbox.protocol import escape

MAX_SQL_ATTR = 50
MIN_RESLEN = 50


def format_value(inx: int, value: object) -> str:
    """A catalog value as the server writes it (times as 11-digit epoch strings)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value)
    if COLUMNS[inx].kind == "time" and text.isdigit():
        return text.zfill(11)
    return text


def _reslen(values: Sequence[str]) -> int:
    return max((len(v.encode()) + 1 for v in values), default=0)


def render_out(
    columns: Sequence[int],
    rows: Sequence[Sequence[str]],
    *,
    continue_index: int = 0,
    total_row_count: int = 0,
) -> bytes:
    """A ``GenQueryOut_PI`` body: one ``SqlResult_PI`` per column, padded to 50 slots."""
    lines = [
        "<GenQueryOut_PI>",
        f"<rowCnt>{len(rows)}</rowCnt>",
        f"<attriCnt>{len(columns) if rows else 0}</attriCnt>",
        f"<continueInx>{continue_index}</continueInx>",
        f"<totalRowCount>{total_row_count}</totalRowCount>",
    ]
    shown = columns if rows else ()
    by_col = [[row[i] for row in rows] for i in range(len(shown))]
    common = max(
        [MIN_RESLEN]
        + [_reslen(vals) for inx, vals in zip(shown, by_col, strict=True) if inx != 422]
    )
    for inx, vals in zip(shown, by_col, strict=True):
        reslen = _reslen(vals) if inx == 422 else common
        lines += ["<SqlResult_PI>", f"<attriInx>{inx}</attriInx>", f"<reslen>{reslen}</reslen>"]
        lines += [f"<value>{escape(v)}</value>" for v in vals]
        lines.append("</SqlResult_PI>")
    for _ in range(MAX_SQL_ATTR - len(shown)):
        lines += [
            "<SqlResult_PI>",
            "<attriInx>0</attriInx>",
            "<reslen>0</reslen>",
            "</SqlResult_PI>",
        ]
    lines.append("</GenQueryOut_PI>")
    return ("\n".join(lines) + "\n").encode()

"""Values as GenQuery1 literals, the way an iRODS server reads a condition. Pure.

A GenQuery1 condition is text such as ``= 'value'``, and GenQuery1 has no escape for a quote.
The server (``general_query.cpp``) reads it like this:

1. If ``||`` or ``&&`` appears outside quotes, each quote toggling "inside", the condition is
   compound: it is split there and each part read on its own.
2. A part binds everything between its first and its last quote as one SQL parameter (quotes
   inside are kept: ``= 'it's'`` compares with ``it's``); the text before the first quote is
   the operator.

So a value is a safe literal exactly when ``= '<value>'`` is not compound (else ``nomatch' ||
like '%`` becomes a second condition matching everything) and holds no NUL (C strings end
there). What cannot be a literal is refused with :class:`QueryValueError`; nothing is escaped,
because nothing can be.
"""

from __future__ import annotations

from rodrunner.errors import QueryValueError

__all__ = ["is_compound", "literal", "mask_quoted", "subtree_condition"]


def mask_quoted(condition: str) -> str:
    """``condition`` with every character between paired quotes blanked (quotes kept)."""
    out = list(condition)
    inside = False
    for i, ch in enumerate(out):
        if ch == "'":
            inside = not inside
        elif inside:
            out[i] = " "
    return "".join(out)


def is_compound(condition: str) -> bool:
    """Whether the server splits ``condition`` at a ``||`` or ``&&`` outside quotes."""
    masked = mask_quoted(condition)
    return "||" in masked or "&&" in masked


def literal(value: str, *, what: str) -> str:
    """``value`` quoted for an ``=`` condition; :class:`QueryValueError` naming ``what`` when
    the server would not read it back as exactly ``value``."""
    if "\x00" in value:
        raise QueryValueError(f"{what} {value!r} contains a NUL character; iRODS cannot search it")
    quoted = f"'{value}'"
    if is_compound(f"= {quoted}"):
        raise QueryValueError(
            f"{what} {value!r} cannot be searched for in iRODS: with its quotes, its '||' or "
            "'&&' would be read as a second query condition (GenQuery has no escape for a "
            "quote); search for the value without the quote"
        )
    return quoted


def subtree_condition(path: str) -> str:
    """The compound ``= 'p' || like 'p/%'`` (PRC adds the ``=``): ``path`` and everything below.

    Compound conditions split correctly only when no literal holds a quote, and a backslash
    escapes the next character of a LIKE pattern: such paths are refused.
    """
    bad = sorted(set(path) & {"'", "\\", "\x00"})
    if bad:
        names = {"'": "a quote", "\\": "a backslash", "\x00": "a NUL"}
        raise QueryValueError(
            f"iRODS path {path!r} contains {' and '.join(names[c] for c in bad)}; the query "
            "that lists what is below it cannot hold one; rename the collection (or the run "
            "id it is made from)"
        )
    return f"'{path}' || like '{path}/%'"

"""GenQuery conditions in the sandbox, read as the iRODS server reads them. Pure.

:func:`parse_condition` turns one ``svalue`` (``"= 'a' || = 'b'"``) into OR-groups of AND-ed
:class:`Predicate` s, splitting, quoting and refusing as the server's parser does;
:func:`condition_sql` writes them as SQL with every literal a parameter, LIKE
as a case-sensitive GLOB (:func:`like_to_glob`), as PostgreSQL compares.
"""

from __future__ import annotations

from dataclasses import dataclass

from rodrunner.sandbox.genquery.model import INPUT_ARG_NOT_WELL_FORMED_ERR
from rodrunner.sandbox.protocol import SandboxError


@dataclass(frozen=True)
class Predicate:
    """One comparison: ``op`` is an SQL operator we spell, ``values`` are client literals."""

    op: str
    values: tuple[str, ...]


_OPS = frozenset({"=", "<>", "!=", "<", ">", "<=", ">=", "like", "not like"})
"""Operators the sandbox compares with; the server writes any operator text that passes its
legality check into the SQL, so others fail there (here: at once)."""
_LEGAL_WORDS = ("begin_of", "parent_of", "not", "NOT", "between", "BETWEEN", "like", "LIKE")


def _bad(text: str, why: str) -> SandboxError:
    return SandboxError(INPUT_ARG_NOT_WELL_FORMED_ERR, f"condition {text!r}: {why}")


def _masked(text: str) -> str:
    """``text`` with what lies between paired quotes blanked, as the server masks it."""
    out = list(text)
    inside = False
    for i, ch in enumerate(out):
        if ch == "'":
            inside = not inside
        elif inside:
            out[i] = " "
    return "".join(out)


def _split(text: str) -> tuple[list[str], list[str]]:
    """The parts of a condition and the ``||``/``&&`` between them: the server splits at each
    ``||`` or ``&&`` outside quotes (quotes toggling), whatever the parts then hold."""
    masked = _masked(text)
    parts: list[str] = []
    joiners: list[str] = []
    start = 0
    while True:
        hits = [i for i in (masked.find("||", start), masked.find("&&", start)) if i >= 0]
        if not hits:
            parts.append(text[start:])
            return parts, joiners
        at = min(hits)
        parts.append(text[start:at])
        joiners.append(text[at : at + 2])
        start = at + 2


def _quoted_pairs(text: str) -> list[str]:
    """The strings between the 1st and 2nd, 3rd and 4th ... quotes (``in``, ``between``)."""
    quotes = [i for i, ch in enumerate(text) if ch == "'"]
    return [text[a + 1 : b] for a, b in zip(quotes[::2], quotes[1::2], strict=False)]


def _legal_prefix(prefix: str) -> bool:
    """The server's check of the text before the first quote: only ``<>=!`` and a few words."""
    probe = (" " + prefix)[:19]
    for ch in "<>=!":
        probe = probe.replace(ch, " ")
    for word in (*_LEGAL_WORDS, "in", "IN"):
        at = probe.find(word)
        if at >= 0:
            probe = probe[:at] + " " * len(word) + probe[at + len(word) :]
    return probe.strip() == ""


def _starts_with_word(part: str, lower: str) -> bool:
    at = part.find(lower)
    if at < 0:
        at = part.find(lower.upper())
    return at >= 0 and at == len(part) - len(part.lstrip(" "))


def _parse_part(part: str, text: str) -> Predicate:
    """One part: ``in``/``between`` take their quoted pairs; any other binds everything between
    its first and its last quote (quotes inside kept), its operator the text before."""
    if _starts_with_word(part, "in"):
        values = _quoted_pairs(part)
        if not values:
            raise _bad(text, "'in' needs quoted values")
        return Predicate("in", tuple(values))
    if _starts_with_word(part, "between"):
        values = _quoted_pairs(part)
        if len(values) != 2:
            raise _bad(text, "'between' needs two quoted values")
        return Predicate("between", (values[0], values[1]))
    first, last = part.find("'"), part.rfind("'")
    if first < 0 or last == first:
        raise _bad(text, "a value must be quoted")
    prefix = part[:first]
    if len(prefix) > 10 or not _legal_prefix(prefix):
        raise _bad(text, f"unknown operator {prefix.strip()!r}")
    op = " ".join(prefix.split()).lower()
    if op not in _OPS:
        raise _bad(text, f"operator {prefix.strip()!r} is not supported")
    return Predicate("<>" if op == "!=" else op, (part[first + 1 : last],))


def parse_condition(text: str) -> list[list[Predicate]]:
    """Parse one condition into OR-groups of AND-ed predicates, as the server reads it.

    ``"= 'a' || = 'b'"`` is ``[[=a], [=b]]``; ``"> '1' && < '5'"`` is ``[[>1, <5]]``;
    ``"= 'it's'"`` is ``[[= it's]]``. SQL gives AND precedence over OR, as here.
    """
    if not text.strip():
        raise _bad(text, "empty")
    parts, joiners = _split(text)
    groups: list[list[Predicate]] = [[_parse_part(parts[0], text)]]
    for joiner, part in zip(joiners, parts[1:], strict=True):
        if joiner == "||":
            groups.append([])
        groups[-1].append(_parse_part(part, text))
    return groups


def like_to_glob(pattern: str) -> str:
    """A PostgreSQL LIKE pattern (``%``, ``_``, backslash escapes) as an SQLite GLOB pattern."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "\\")
            out.append(_glob_literal(nxt))
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        else:
            out.append(_glob_literal(ch))
    return "".join(out)


def _glob_literal(ch: str) -> str:
    return f"[{ch}]" if ch in "*?[" else ch


def _predicate_sql(expr: str, pred: Predicate, params: list[str]) -> str:
    params.extend(pred.values)
    if pred.op in ("in", "not in"):
        marks = ",".join("?" * len(pred.values))
        return f"{expr} {pred.op.upper()} ({marks})"
    if pred.op in ("between", "not between"):
        return f"{expr} {pred.op.upper()} ? AND ?"
    if pred.op in ("like", "not like"):
        # SQLite's LIKE ignores case; iRODS (PostgreSQL) does not: GLOB is case-sensitive.
        params[-1] = like_to_glob(params[-1])
        return f"{expr} {'NOT GLOB' if pred.op == 'not like' else 'GLOB'} ?"
    return f"{expr} {pred.op} ?"


def condition_sql(expr: str, text: str, params: list[str]) -> str:
    """SQL for one condition on ``expr``; literals are appended to ``params``."""
    groups = parse_condition(text)
    ors = [" AND ".join(_predicate_sql(expr, p, params) for p in g) for g in groups]
    return ors[0] if len(ors) == 1 else "(" + " OR ".join(f"({o})" for o in ors) + ")"

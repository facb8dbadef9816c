"""GenQuery1 (``GEN_QUERY_AN`` 702) for the iRODS sandbox.

Pure part (no I/O): :func:`parse_condition` turns one ``svalue`` such as ``"like '/z/home%'"``
into predicates, :func:`build_sql` turns a :class:`GenQuery` into one parameterised SQL statement
over the sandbox catalog, :func:`render_out` writes a ``GenQueryOut_PI`` exactly as iRODS 5.0.2
does (column-major, 50 ``SqlResult_PI`` slots, ``reslen`` = longest value + 1, at least 50).
Every literal from the client travels as an SQL parameter; only identifiers from the fixed
:data:`COLUMNS` table are written into the SQL text.

I/O part: :class:`GenQueryEngine` runs a query on an ``sqlite3`` connection; the open
statements (``continueInx``) live in a :class:`Statements` table of the connection, as in a real
agent: 50 slots, ``continueInx`` = slot + 1, the lowest free slot taken first, a slot freed by
a page with fewer than ``maxRows`` rows, a continuation that finds none (CAT_NO_ROWS_FOUND)
or a close (``maxRows`` 0). Closing a statement the agent does not hold is a
no-op (status 0); *continuing* one kills a real agent (a NULL statement read in the catalog
plugin: no reply, the socket closes, traces rodrunner/10-11), and the handler does the same.

Semantics reproduced from the server: DISTINCT unless ``NO_DISTINCT``; rows ordered by the
``ORDER_BY``/``ORDER_BY_DESC`` columns first, then by every selected column in order;
aggregates (MIN/MAX/SUM/AVG/COUNT) group by the other selected columns; ``UPPER_CASE_WHERE``
compares ``upper(column)``; no rows is ``CAT_NO_ROWS_FOUND``; ``maxRows`` 0 closes a cursor.
Not reproduced: ACL filtering (the sandbox has no ACLs; every user sees everything).
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from rodrunner.sandbox.dispatch import Context, Disconnect, Reply, Request, api
from rodrunner.sandbox.dispatch import ServerState as Server
from rodrunner.sandbox.protocol import Node, SandboxError, escape

log = structlog.get_logger()

CAT_NO_ROWS_FOUND = -808000
CAT_UNKNOWN_TABLE = -823000
CAT_INVALID_ARGUMENT = -816000
CAT_STATEMENT_TABLE_FULL = -860000
MAX_NUM_OF_CONCURRENT_STMTS = 50
INPUT_ARG_NOT_WELL_FORMED_ERR = CAT_INVALID_ARGUMENT

MAX_SQL_ATTR = 50
MIN_RESLEN = 50

# select option bits (irods/query.py query_number)
SELECT_MIN, SELECT_MAX, SELECT_SUM, SELECT_AVG, SELECT_COUNT = 2, 3, 4, 5, 6
ORDER_BY = 0x400
ORDER_BY_DESC = 0x800
# GenQueryInp options
RETURN_TOTAL_ROW_COUNT = 0x20
NO_DISTINCT = 0x40
AUTO_CLOSE = 0x100
UPPER_CASE_WHERE = 0x200

_AGGREGATES = {
    SELECT_MIN: "min",
    SELECT_MAX: "max",
    SELECT_SUM: "sum",
    SELECT_AVG: "avg",
    SELECT_COUNT: "count",
}


@dataclass(frozen=True)
class Col:
    """One GenQuery column: the table alias it lives in, its SQL expression and its kind."""

    table: str
    expr: str
    kind: str = "str"  # str | int | time


# Table aliases: C colls, D data, DM/CM/UM meta of data/colls/users (through objt_meta),
# RM of resources, U users, R resources, Z the one zone.
COLUMNS: dict[int, Col] = {
    # Zone
    101: Col("Z", "Z.zone_id", "int"),
    102: Col("Z", "Z.zone_name"),
    103: Col("Z", "Z.zone_type"),
    # User
    201: Col("U", "U.user_id", "int"),
    202: Col("U", "U.user_name"),
    203: Col("U", "U.user_type_name"),
    204: Col("U", "U.zone_name"),
    206: Col("U", "U.user_info"),
    207: Col("U", "U.user_comment"),
    208: Col("U", "U.create_ts", "time"),
    209: Col("U", "U.modify_ts", "time"),
    # Group (users of type rodsgroup; the sandbox keeps no membership: every user is in public)
    900: Col("G", "G.user_id", "int"),
    901: Col("G", "G.user_name"),
    # Resource
    301: Col("R", "R.resc_id", "int"),
    302: Col("R", "R.resc_name"),
    303: Col("R", "R.zone_name"),
    304: Col("R", "R.resc_type_name"),
    305: Col("R", "'cache'"),
    306: Col("R", "R.resc_net"),
    307: Col("R", "R.resc_def_path"),
    308: Col("R", "''"),
    310: Col("R", "''"),
    311: Col("R", "R.create_ts", "time"),
    312: Col("R", "R.modify_ts", "time"),
    313: Col("R", "''"),
    314: Col("R", "''"),
    315: Col("R", "''"),
    316: Col("R", "''"),
    317: Col("R", "''"),
    318: Col("R", "''"),
    # DataObject
    401: Col("D", "D.data_id", "int"),
    402: Col("D", "D.coll_id", "int"),
    403: Col("D", "D.data_name"),
    404: Col("D", "D.data_repl_num", "int"),
    405: Col("D", "D.data_version"),
    406: Col("D", "D.data_type_name"),
    407: Col("D", "D.data_size", "int"),
    409: Col("D", "D.resc_name"),
    410: Col("D", "D.data_path"),
    411: Col("D", "D.data_owner_name"),
    412: Col("D", "D.data_owner_zone"),
    413: Col("D", "D.data_is_dirty", "int"),
    414: Col("D", "D.data_status"),
    415: Col("D", "D.data_checksum"),
    416: Col("D", "D.data_expiry_ts", "time"),
    417: Col("D", "D.data_map_id", "int"),
    418: Col("D", "D.data_comments"),
    419: Col("D", "D.create_ts", "time"),
    420: Col("D", "D.modify_ts", "time"),
    422: Col("D", "D.resc_hier"),
    423: Col("D", "D.resc_id", "int"),
    424: Col("D", "coalesce(D.access_ts, D.create_ts)", "time"),
    # Collection
    500: Col("C", "C.coll_id", "int"),
    501: Col("C", "C.coll_name"),
    502: Col("C", "C.parent_coll_name"),
    503: Col("C", "C.owner_name"),
    504: Col("C", "C.owner_zone"),
    505: Col("C", "'0'"),
    506: Col("C", "C.coll_inheritance"),
    507: Col("C", "C.coll_info2"),
    508: Col("C", "C.create_ts", "time"),
    509: Col("C", "C.modify_ts", "time"),
    # DataObjectMeta
    600: Col("DM", "DM.meta_attr_name"),
    601: Col("DM", "DM.meta_attr_value"),
    602: Col("DM", "DM.meta_attr_unit"),
    603: Col("DM", "DM.meta_id", "int"),
    604: Col("DM", "DM.create_ts", "time"),
    605: Col("DM", "DM.modify_ts", "time"),
    # CollectionMeta
    610: Col("CM", "CM.meta_attr_name"),
    611: Col("CM", "CM.meta_attr_value"),
    612: Col("CM", "CM.meta_attr_unit"),
    613: Col("CM", "CM.meta_id", "int"),
    614: Col("CM", "CM.create_ts", "time"),
    615: Col("CM", "CM.modify_ts", "time"),
    # ResourceMeta
    630: Col("RM", "RM.meta_attr_name"),
    631: Col("RM", "RM.meta_attr_value"),
    632: Col("RM", "RM.meta_attr_unit"),
    633: Col("RM", "RM.meta_id", "int"),
    634: Col("RM", "RM.create_ts", "time"),
    635: Col("RM", "RM.modify_ts", "time"),
    # UserMeta
    640: Col("UM", "UM.meta_attr_name"),
    641: Col("UM", "UM.meta_attr_value"),
    642: Col("UM", "UM.meta_attr_unit"),
    643: Col("UM", "UM.meta_id", "int"),
    644: Col("UM", "UM.create_ts", "time"),
    645: Col("UM", "UM.modify_ts", "time"),
}


@dataclass(frozen=True)
class Site:
    """The catalog facts that are not rows: the local zone."""

    zone: str = "tempZone"
    zone_id: int = 9000


@dataclass(frozen=True)
class GenQuery:
    """A parsed ``GenQueryInp_PI``."""

    select: tuple[tuple[int, int], ...]
    conditions: tuple[tuple[int, str], ...] = ()
    max_rows: int = 500
    continue_index: int = 0
    offset: int = 0
    options: int = 0
    keywords: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Predicate:
    """One comparison: ``op`` is an SQL operator we spell, ``values`` are client literals."""

    op: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class SqlQuery:
    """Parameterised SQL plus the GenQuery columns its result columns answer."""

    sql: str
    params: tuple[str, ...]
    columns: tuple[int, ...]


# ----------------------------------------------------------------------------- conditions

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


# ----------------------------------------------------------------------------- SQL


def _tables_needed(columns: Iterable[int]) -> set[str]:
    tables: set[str] = set()
    for inx in columns:
        col = COLUMNS.get(inx)
        if col is None:
            raise SandboxError(CAT_UNKNOWN_TABLE, f"GenQuery column {inx} is not supported")
        tables.add(col.table)
    if "DM" in tables:
        tables.add("D")
    if "CM" in tables:
        tables.add("C")
    if "UM" in tables:
        tables.add("U")
    if "RM" in tables:
        tables.add("R")
    return tables


_META_KEYS = {"DM": "D.data_id", "CM": "C.coll_id", "RM": "R.resc_id", "UM": "U.user_id"}
_META_NAME_COLUMNS = {600: "DM", 610: "CM", 630: "RM", 640: "UM"}


def _condition_aliases(conditions: Sequence[tuple[int, str]]) -> list[tuple[int, str, str]]:
    """Give each condition its table alias: as in iRODS, a repeated AVU *name* condition
    starts a new join of that metadata table (``DM``, ``DM2``, ...), and the value/units
    conditions after it refer to that join. This is how one query asks for two AVUs."""
    current: dict[str, int] = {}
    out: list[tuple[int, str, str]] = []
    for inx, text in conditions:
        col = COLUMNS.get(inx)
        if col is None:
            raise SandboxError(CAT_UNKNOWN_TABLE, f"GenQuery column {inx} is not supported")
        table = col.table
        if inx in _META_NAME_COLUMNS:
            current[table] = current.get(table, 0) + 1
        number = current.get(table, 1)
        out.append((inx, table if number == 1 else f"{table}{number}", text))
    return out


def _alias_expr(inx: int, alias: str) -> str:
    col = COLUMNS[inx]
    if alias == col.table:
        return col.expr
    return col.expr.replace(f"{col.table}.", f"{alias}.")


def _from_clause(
    tables: set[str], site: Site, params: list[str], extra_meta: Sequence[str] = ()
) -> str:
    parts: list[str] = []

    def meta(alias: str, key: str) -> str:
        return (
            f"JOIN objt_meta {alias}_om ON {alias}_om.object_id = {key} "
            f"JOIN meta {alias} ON {alias}.meta_id = {alias}_om.meta_id"
        )

    if "D" in tables:
        parts.append("data D")
        if "C" in tables:
            parts.append("JOIN colls C ON C.coll_id = D.coll_id")
    elif "C" in tables:
        parts.append("colls C")
    if "DM" in tables:
        parts.append(meta("DM", "D.data_id"))
    if "CM" in tables:
        parts.append(meta("CM", "C.coll_id"))
    if "U" in tables:
        if "D" in tables:
            parts.append("JOIN users U ON U.user_name = D.data_owner_name")
        elif "C" in tables:
            parts.append("JOIN users U ON U.user_name = C.owner_name")
        else:
            parts.append("users U")
        if "UM" in tables:
            parts.append(meta("UM", "U.user_id"))
    if "R" in tables:
        on = " ON R.resc_id = D.resc_id" if "D" in tables else " ON 1"
        parts.append(f"JOIN resources R{on}" if parts else "resources R")
        if "RM" in tables:
            parts.append(meta("RM", "R.resc_id"))
    if "G" in tables:
        groups = "(SELECT * FROM users WHERE user_type_name = 'rodsgroup') G"
        if not parts:
            parts.append(groups)
        elif "U" in tables:
            parts.append(f"JOIN {groups} ON G.user_name = 'public' OR G.user_id = U.user_id")
        else:
            parts.append(f"JOIN {groups} ON 1")
    for alias in extra_meta:
        parts.append(meta(alias, _META_KEYS[alias.rstrip("0123456789")]))
    if "Z" in tables:
        zone = "(SELECT ? AS zone_id, ? AS zone_name, 'local' AS zone_type) Z"
        params.extend([str(site.zone_id), site.zone])
        parts.append(("JOIN " if parts else "") + zone + (" ON 1" if len(parts) > 0 else ""))
    return " ".join(parts)


def build_sql(query: GenQuery, site: Site | None = None) -> SqlQuery:
    """The one SQL statement answering ``query`` (without LIMIT/OFFSET)."""
    site = site or Site()
    if not query.select:
        raise SandboxError(CAT_INVALID_ARGUMENT, "GenQuery with an empty select list")
    select_cols = [inx for inx, _ in query.select]
    tables = _tables_needed([*select_cols, *(inx for inx, _ in query.conditions)])
    conditions = _condition_aliases(query.conditions)
    extra = sorted({alias for _, alias, _ in conditions if alias not in tables})
    from_params: list[str] = []
    from_sql = _from_clause(tables, site, from_params, extra)

    exprs: list[str] = []
    group_by: list[str] = []
    order_first: list[str] = []
    order_rest: list[str] = []
    has_aggregate = False
    for inx, flags in query.select:
        expr = COLUMNS[inx].expr
        func = _AGGREGATES.get(flags & 0x3F)
        if func is not None:
            has_aggregate = True
            out = f"{func}({expr})"
        else:
            out = expr
            group_by.append(expr)
            order_rest.append(expr)
        exprs.append(out)
        if flags & ORDER_BY_DESC:
            order_first.append(f"{out} DESC")
        elif flags & ORDER_BY:
            order_first.append(out)

    where_params: list[str] = []
    where: list[str] = []
    upper = bool(query.options & UPPER_CASE_WHERE)
    for inx, alias, text in conditions:
        expr = _alias_expr(inx, alias)
        where.append(condition_sql(f"upper({expr})" if upper else expr, text, where_params))

    distinct = "" if query.options & NO_DISTINCT else "DISTINCT "
    sql = f"SELECT {distinct}{', '.join(exprs)} FROM {from_sql}"  # noqa: S608 - identifiers come from COLUMNS only; literals are parameters
    if where:
        sql += " WHERE " + " AND ".join(where)
    if has_aggregate and group_by:
        sql += " GROUP BY " + ", ".join(group_by)
    order = order_first + [e for e in order_rest if e not in order_first]
    if order:
        sql += " ORDER BY " + ", ".join(order)
    return SqlQuery(sql, tuple(from_params + where_params), tuple(select_cols))


# ----------------------------------------------------------------------------- output


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


# ----------------------------------------------------------------------------- engine (I/O)


@dataclass
class _Cursor:
    sql: SqlQuery
    next_offset: int


class StatementLost(Exception):
    """A continuation (``maxRows`` > 0) names a statement this connection does not hold."""


class Statements:
    """One connection's (agent's) open GenQuery statements: slot ``continueInx - 1``."""

    def __init__(self) -> None:
        self._slots: dict[int, _Cursor] = {}

    def open(self, cursor: _Cursor) -> int:
        """Keep ``cursor`` in the lowest free slot; its ``continueInx``."""
        for slot in range(MAX_NUM_OF_CONCURRENT_STMTS):
            if slot not in self._slots:
                self._slots[slot] = cursor
                return slot + 1
        raise SandboxError(
            CAT_STATEMENT_TABLE_FULL,
            f"{MAX_NUM_OF_CONCURRENT_STMTS} GenQuery statements are open on this connection; "
            "close them (maxRows 0) or read them to the end",
        )

    def get(self, inx: int) -> _Cursor | None:
        """The statement of ``continueInx`` ``inx`` (None if not held)."""
        return self._slots.get(inx - 1)

    def close(self, inx: int) -> None:
        """Free the slot of ``continueInx`` ``inx`` (nothing if it is free)."""
        self._slots.pop(inx - 1, None)

    def __len__(self) -> int:
        return len(self._slots)


@dataclass(frozen=True)
class GenQueryResult:
    """What to send back: the status for ``intInfo`` and the ``GenQueryOut_PI`` body."""

    status: int
    body: bytes


class GenQueryEngine:
    """Runs GenQueries on the catalog; statements are kept per connection (``Statements``)."""

    def __init__(self, site: Site | None = None) -> None:
        self.site = site or Site()

    def run(
        self, db: sqlite3.Connection, query: GenQuery, statements: Statements
    ) -> GenQueryResult:
        """Answer one ``GenQueryInp_PI`` (first page, next page or close).

        Raises :class:`StatementLost` for a continuation of a statement ``statements`` does
        not hold (a real agent dies there).
        """
        slot = query.continue_index
        if slot > 0:
            if query.max_rows <= 0:
                statements.close(slot)
                return GenQueryResult(0, render_out((), ()))
            cursor = statements.get(slot)
            if cursor is None:
                raise StatementLost(f"continueInx {slot} is not a statement of this connection")
            sql, offset = cursor.sql, cursor.next_offset
        else:
            if query.max_rows <= 0:
                return GenQueryResult(0, render_out((), ()))
            sql, offset = build_sql(query, self.site), max(query.offset, 0)
        total = 0
        if query.options & RETURN_TOTAL_ROW_COUNT:
            total = int(
                db.execute(f"SELECT count(*) FROM ({sql.sql})", sql.params).fetchone()[0]  # noqa: S608 - built by build_sql
            )
        try:
            raw = db.execute(
                f"{sql.sql} LIMIT ? OFFSET ?", (*sql.params, query.max_rows, offset)
            ).fetchall()
        except sqlite3.Error as exc:  # a value the catalog cannot compare, e.g. a bad pattern
            if slot > 0:
                statements.close(slot)
            raise SandboxError(CAT_INVALID_ARGUMENT, f"GenQuery failed: {exc}") from exc
        # Like the server, a full page keeps the statement open (it cannot know whether more
        # rows follow); the continuation that finds none frees it with CAT_NO_ROWS_FOUND.
        more = len(raw) == query.max_rows
        rows = [
            [format_value(inx, v) for inx, v in zip(sql.columns, row, strict=True)] for row in raw
        ]
        continue_index = 0
        if more and not query.options & AUTO_CLOSE:
            if slot > 0:
                cursor = statements.get(slot)
                assert cursor is not None
                cursor.next_offset = offset + query.max_rows
                continue_index = slot
            else:
                continue_index = statements.open(_Cursor(sql, offset + query.max_rows))
        elif slot > 0:
            statements.close(slot)  # the last page frees the statement
        if not rows:
            return GenQueryResult(CAT_NO_ROWS_FOUND, render_out((), ()))
        return GenQueryResult(
            0,
            render_out(sql.columns, rows, continue_index=continue_index, total_row_count=total),
        )


def _pairs(node: Node | None, key: str, value: str) -> list[tuple[str, str]]:
    if node is None:
        return []
    keys = [k.text for k in node.findall(key)]
    values = [v.text for v in node.findall(value)]
    return list(zip(keys, values, strict=False))


def query_from_node(node: Node) -> GenQuery:
    """A :class:`GenQuery` from a parsed ``GenQueryInp_PI``."""
    try:
        select = tuple(
            (int(i), int(v)) for i, v in _pairs(node.find("InxIvalPair_PI"), "inx", "ivalue")
        )
        conditions = tuple(
            (int(i), v) for i, v in _pairs(node.find("InxValPair_PI"), "inx", "svalue")
        )
    except ValueError as exc:
        raise SandboxError(
            INPUT_ARG_NOT_WELL_FORMED_ERR, "GenQuery column is not a number"
        ) from exc
    return GenQuery(
        select=select,
        conditions=conditions,
        max_rows=node.int("maxRows", 500),
        continue_index=node.int("continueInx"),
        offset=node.int("partialStartIndex"),
        options=node.int("options"),
        keywords=node.kvp(),
    )


# ----------------------------------------------------------------------------- API handler

_ENGINES: weakref.WeakKeyDictionary[Server, GenQueryEngine] = weakref.WeakKeyDictionary()
_ENGINES_LOCK = threading.Lock()


def engine_for(server: Server) -> GenQueryEngine:
    """The GenQuery engine of one sandbox server."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(server)
        if engine is None:
            engine = _ENGINES[server] = GenQueryEngine(Site(zone=server.settings.zone))
        return engine


def statements_of(ctx: Context) -> Statements:
    """The open GenQuery statements of this connection."""
    table = ctx.state.get("genquery_statements")
    if table is None:
        table = ctx.state["genquery_statements"] = Statements()
    return table


@api(702)
def gen_query(ctx: Context, req: Request) -> Reply:
    """GEN_QUERY_AN: one page of a GenQuery1 (or the close of a statement)."""
    query = query_from_node(req.node)
    try:
        with ctx.catalog.tx() as db:
            result = engine_for(ctx.server).run(db, query, statements_of(ctx))
    except StatementLost as exc:
        # A real agent dereferences the missing statement and dies: no reply, socket closed.
        log.warning("sandbox.agent_died", peer=ctx.peer, reason=str(exc))
        raise Disconnect(str(exc)) from None
    if result.status < 0:
        raise SandboxError(result.status, msg=result.body)
    return Reply(int_info=result.status, msg=result.body)

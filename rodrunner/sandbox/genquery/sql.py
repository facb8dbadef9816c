"""One parameterised SQL statement over the sandbox catalog for a GenQuery. Pure.

:func:`build_sql` joins the tables the selected and conditioned columns live in (a repeated
AVU *name* condition starts a new join of its metadata table, as in iRODS), applies the
select flags (aggregates, ``ORDER_BY``/``ORDER_BY_DESC``) and the options (``NO_DISTINCT``,
``UPPER_CASE_WHERE``). Paging (LIMIT/OFFSET) is the engine's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rodrunner.sandbox.genquery.conditions import condition_sql
from rodrunner.sandbox.genquery.model import (
    AGGREGATES,
    CAT_INVALID_ARGUMENT,
    CAT_UNKNOWN_TABLE,
    COLUMNS,
    NO_DISTINCT,
    ORDER_BY,
    ORDER_BY_DESC,
    UPPER_CASE_WHERE,
    GenQuery,
    Site,
    SqlQuery,
)
from rodrunner.sandbox.protocol import SandboxError


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
        func = AGGREGATES.get(flags & 0x3F)
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

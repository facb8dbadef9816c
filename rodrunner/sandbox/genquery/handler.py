"""``GEN_QUERY_AN`` 702 in the sandbox: one page of a GenQuery1, or the close of a statement.

The request becomes a :class:`~rodrunner.sandbox.genquery.model.GenQuery`
(:func:`query_from_node`); the server's engine answers it with the connection's statements.
A continuation of a statement the connection does not hold kills a real agent (a NULL
statement read in the catalog plugin: no reply, the socket closes, traces rodrunner/10-11):
the handler does the same.
"""

from __future__ import annotations

import threading
import weakref

import structlog

from rodrunner.sandbox.dispatch import Context, Disconnect, Reply, Request, api
from rodrunner.sandbox.dispatch import ServerState as Server
from rodrunner.sandbox.genquery.engine import GenQueryEngine, StatementLost, Statements
from rodrunner.sandbox.genquery.model import INPUT_ARG_NOT_WELL_FORMED_ERR, GenQuery, Site
from rodrunner.sandbox.protocol import Node, SandboxError

log = structlog.get_logger()


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

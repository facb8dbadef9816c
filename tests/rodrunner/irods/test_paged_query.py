"""Paged GenQueries against the sandbox: every page of a query on the connection that holds
its statement, as a real agent needs (traces rodrunner/09-11)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from irods.api_number import api_number
from irods.message import (
    GenQueryRequest,
    GenQueryResponse,
    IntegerIntegerMap,
    IntegerStringMap,
    StringStringMap,
    iRODSMessage,
)
from irods.models import DataObject
from irods.results import ResultSet
from structlog.testing import capture_logs

from rodrunner.irods.client import iRODSClient
from tests.conftest import sandbox_irods_config

OBJECTS = 1_200  # three pages of 500, like trace 09


@pytest.fixture
def many(irods_sandbox: Any, tmp_path: Path) -> tuple[Any, str]:
    """A collection of 1,200 tiny objects in a fresh sandbox."""
    tree = tmp_path / "many"
    tree.mkdir()
    for i in range(OBJECTS):
        (tree / f"f{i:04d}").write_bytes(b"%012d" % i)
    coll = f"/{irods_sandbox.zone}/home/{irods_sandbox.user}/many-{uuid.uuid4().hex[:8]}"
    with iRODSClient(sandbox_irods_config(irods_sandbox, transfer_threads=4)) as client:
        assert client.upload_directory(tree, coll).ok
    return irods_sandbox, coll


def _grow_pool(client: iRODSClient, coll: str) -> None:
    """Checksums from 4 threads on the shared session until its pool holds 3+ connections
    (the --force path of upload_directory, trace rodrunner/10)."""
    paths = [f"{coll}/f{i:04d}" for i in range(40)]
    for _ in range(20):
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(client.checksum, paths))
        if len(client._sessions.main.pool.idle) >= 3:
            return
    raise AssertionError("the session's pool did not grow to 3 connections")


def test_listing_after_pooled_checksums_stays_on_one_connection(many: tuple[Any, str]) -> None:
    """After concurrent checksums grew the shared session's pool, a 3-page listing kills no
    agent and needs no retry: all its pages go over one connection."""
    info, coll = many
    with iRODSClient(sandbox_irods_config(info, transfer_threads=4)) as client:
        _grow_pool(client, coll)
        with capture_logs() as logs:
            listing = client.list_objects(coll)
    assert len(listing) == OBJECTS
    events = [e["event"] for e in logs]
    assert "sandbox.agent_died" not in events
    assert "irods.retry" not in events


def test_abandoned_listing_closes_its_statement(many: tuple[Any, str]) -> None:
    """A query abandoned after its first page is closed on its own connection, whichever
    connections the pool holds: afterwards no connection holds an open statement (a new
    query on each starts in slot 1, unlike trace 11's attempt 3 that got slot 2)."""
    info, coll = many
    with iRODSClient(sandbox_irods_config(info, transfer_threads=4)) as client:
        _grow_pool(client, coll)
        rows = client._sessions.main.query(DataObject.name).get_results()
        next(rows)
        rows.close()
        pool = client._sessions.main.pool
        held = [pool.get_connection() for _ in range(len(pool.idle))]
        try:
            slots = [_first_page(conn).continue_index for conn in held]
        finally:
            for conn in held:
                conn.release()
    assert slots == [1] * len(held)


def _first_page(conn: Any) -> Any:
    """The first page (1 row) of a query sent on ``conn``; its statement closed there."""
    body = GenQueryRequest(
        maxRows=1,
        continueInx=0,
        partialStartIndex=0,
        options=0,
        KeyValPair_PI=StringStringMap({}),
        InxIvalPair_PI=IntegerIntegerMap({DataObject.name.icat_id: 1}),
        InxValPair_PI=IntegerStringMap({}),
    )
    conn.send(iRODSMessage("RODS_API_REQ", msg=body, int_info=api_number["GEN_QUERY_AN"]))
    page = ResultSet(conn.recv().get_main_message(GenQueryResponse))
    close = GenQueryRequest(
        maxRows=0,
        continueInx=page.continue_index,
        partialStartIndex=0,
        options=0,
        KeyValPair_PI=StringStringMap({}),
        InxIvalPair_PI=IntegerIntegerMap({DataObject.name.icat_id: 1}),
        InxValPair_PI=IntegerStringMap({}),
    )
    conn.send(iRODSMessage("RODS_API_REQ", msg=close, int_info=api_number["GEN_QUERY_AN"]))
    conn.recv()
    return page

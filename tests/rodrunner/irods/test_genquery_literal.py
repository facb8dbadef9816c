"""Values reach GenQuery only as literals: what the server would read otherwise is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.config import IRODSConfig
from rodrunner.errors import QueryValueError
from rodrunner.irods.client import iRODSClient
from rodrunner.irods.genquery_literal import is_compound, literal, subtree_condition
from rodrunner.sandbox.genquery.conditions import Predicate, parse_condition

INJECTIONS = [
    "nomatch' || like '%",
    "x' || '1'='1",
    "a' && = 'b",
    "it's || x",
    "v\x00",
]


def test_a_value_with_quotes_is_one_literal() -> None:
    """Quotes inside a value stay in it: the server binds everything between the outer quotes."""
    assert literal("it's", what="value") == "'it's'"
    assert literal("a'b'c", what="value") == "'a'b'c'"
    assert literal("x || y", what="value") == "'x || y'"


@pytest.mark.parametrize("value", INJECTIONS)
def test_what_the_server_would_split_is_refused(value: str) -> None:
    """A value the server would read as several conditions (or cut at a NUL) is refused."""
    with pytest.raises(QueryValueError, match="value"):
        literal(value, what="value")


def test_compound_detection_follows_the_server() -> None:
    """'||' or '&&' outside quotes (quotes toggling) makes a compound condition."""
    assert is_compound("= 'a' || = 'b'")
    assert not is_compound("= 'a || b'")
    assert is_compound("= 'nomatch' || like '%'")
    assert not is_compound("= 'it's'")


def test_subtree_condition_refuses_quotes_and_backslashes() -> None:
    """The subtree condition is compound: its path may hold neither a quote nor a backslash."""
    assert subtree_condition("/z/home/RUN_1") == "'/z/home/RUN_1' || like '/z/home/RUN_1/%'"
    for path in ("/z/it's", "/z/a\\b"):
        with pytest.raises(QueryValueError, match="path"):
            subtree_condition(path)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_any_accepted_value_is_read_back_exactly(value: str) -> None:
    """Whatever literal() accepts, a server-faithful parser reads back as exactly that value."""
    try:
        text = literal(value, what="value")
    except QueryValueError:
        return
    assert parse_condition(f"= {text}") == [[Predicate("=", (value,))]]


# ------------------------------------------------------------------- over TCP with the sandbox


@pytest.fixture
def client(irods_sandbox: Any) -> Iterator[iRODSClient]:
    config = IRODSConfig(
        host=irods_sandbox.host,
        port=irods_sandbox.port,
        zone=irods_sandbox.zone,
        user=irods_sandbox.user,
        password=irods_sandbox.password,
        connection_timeout=30,
    )
    with iRODSClient(config) as c:
        yield c


def test_search_injection_is_refused_and_quotes_match_exactly(client: iRODSClient) -> None:
    """An injected value is refused before iRODS; a value with a quote finds only its match."""
    tag = uuid.uuid4().hex[:8]
    quoted, plain = f"{client.home}/q-{tag}", f"{client.home}/p-{tag}"
    client.ensure_collection(quoted)
    client.ensure_collection(plain)
    client.set_metadata(quoted, [("run_id", f"it's {tag}")])
    client.set_metadata(plain, [("run_id", f"plain {tag}")])
    assert client.search("run_id", f"it's {tag}") == [quoted]
    assert client.search("run_id", f"it''s {tag}") == []
    for value in INJECTIONS:
        with pytest.raises(QueryValueError):
            client.search("run_id", value)
        with pytest.raises(QueryValueError):
            client.search(value, "x")


def test_a_collection_with_a_quote_is_not_listed_silently_empty(client: iRODSClient) -> None:
    """Listing below a path with a quote is refused (the server would read the compound
    subtree condition as one literal and find nothing), never an empty listing."""
    coll = f"{client.home}/it's-{uuid.uuid4().hex[:8]}"
    client.ensure_collection(coll)
    client.put_bytes(f"{coll}/a.txt", b"a")
    with pytest.raises(QueryValueError, match="quote"):
        client.list_objects(coll)

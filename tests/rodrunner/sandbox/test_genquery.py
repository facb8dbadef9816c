"""GenQuery1 in the sandbox: the pure query builder, and the real client against the server."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from irods.api_number import api_number
from irods.column import Between, In, Like, NotLike
from irods.exception import CAT_UNKNOWN_TABLE, NetworkException
from irods.message import GenQueryResponse, iRODSMessage
from irods.models import Collection, CollectionMeta, DataObject, DataObjectMeta, User
from irods.query import Query
from irods.results import ResultSet
from irods.session import iRODSSession

from rodrunner.sandbox import SandboxInfo, run_sandbox
from rodrunner.sandbox.catalog import Catalog
from rodrunner.sandbox.genquery.conditions import Predicate, like_to_glob, parse_condition
from rodrunner.sandbox.genquery.engine import GenQueryEngine, StatementLost, Statements
from rodrunner.sandbox.genquery.handler import query_from_node
from rodrunner.sandbox.genquery.model import GenQuery
from rodrunner.sandbox.genquery.output import render_out
from rodrunner.sandbox.genquery.sql import build_sql
from rodrunner.sandbox.protocol import SandboxError, parse
from tests.conftest import sandbox_session

# ----------------------------------------------------------------------------- pure parts

literals = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="'"), max_size=40
)


def test_parse_equal_condition() -> None:
    """'= 'x'' is one equality predicate on the literal between the quotes."""
    assert parse_condition("= '/tempZone/home/rods'") == [
        [Predicate("=", ("/tempZone/home/rods",))]
    ]


def test_parse_in_between_and_not_like() -> None:
    """in, between and not like conditions keep every literal in order."""
    assert parse_condition("in ('a','b', 'c')") == [[Predicate("in", ("a", "b", "c"))]]
    assert parse_condition("between '01' '09'") == [[Predicate("between", ("01", "09"))]]
    assert parse_condition("not like 'x%'") == [[Predicate("not like", ("x%",))]]


def test_parse_or_and_forms() -> None:
    """'||' separates alternatives and '&&' joins predicates of one alternative."""
    assert parse_condition("= 'a' || = 'b'") == [
        [Predicate("=", ("a",))],
        [Predicate("=", ("b",))],
    ]
    assert parse_condition(">= '1' && < '5'") == [[Predicate(">=", ("1",)), Predicate("<", ("5",))]]


def test_a_quote_inside_a_value_survives() -> None:
    """An unescaped quote inside a value stays part of the literal, as clients send it."""
    assert parse_condition("= 'it's'") == [[Predicate("=", ("it's",))]]


@pytest.mark.parametrize("text", ["", "= 'open", "~ 'x'", "between 'a'", "="])
def test_malformed_conditions_are_typed_errors(text: str) -> None:
    """A malformed condition is a SandboxError with an iRODS code, never a crash."""
    with pytest.raises(SandboxError) as info:
        parse_condition(text)
    assert info.value.code < 0


@given(value=literals, op=st.sampled_from(["=", "<>", "<", "<=", ">", ">=", "like", "not like"]))
def test_any_literal_becomes_a_parameter(value: str, op: str) -> None:
    """Whatever the literal, it travels as an SQL parameter and never into the SQL text."""
    query = GenQuery(select=((501, 1),), conditions=((501, f"{op} '{value}'"),))
    sql = build_sql(query)
    assert sql.sql.count("?") == len(sql.params)
    expected = like_to_glob(value) if "like" in op else value
    assert sql.params == (expected,)
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE colls (coll_id INTEGER, coll_name TEXT, parent_coll_name TEXT,"
        " owner_name TEXT, owner_zone TEXT, coll_inheritance TEXT, coll_info2 TEXT,"
        " create_ts TEXT, modify_ts TEXT);"
        "INSERT INTO colls (coll_id, coll_name) VALUES (1, 'x')"
    )
    db.execute(sql.sql, sql.params).fetchall()


@given(values=st.lists(literals, min_size=1, max_size=5))
def test_in_lists_are_parameters(values: list[str]) -> None:
    """Every member of an in-list is one parameter."""
    text = "in (" + ",".join(f"'{v}'" for v in values) + ")"
    sql = build_sql(GenQuery(select=((403, 1),), conditions=((403, text),)))
    assert sql.params == tuple(values)


@given(st.text(max_size=30))
def test_any_condition_text_gives_sql_or_a_typed_error(text: str) -> None:
    """Any condition string yields parameterised SQL or a SandboxError, nothing else."""
    code = 0
    try:
        sql = build_sql(GenQuery(select=((403, 1),), conditions=((403, text),)))
    except SandboxError as exc:
        code = exc.code
    else:
        assert sql.sql.count("?") == len(sql.params)
    assert code <= 0


@given(
    st.text(
        alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
        max_size=20,
    )
)
def test_like_to_glob_matches_like_semantics(text: str) -> None:
    """A LIKE pattern without wildcards matches exactly its own text, case-sensitively.

    (iRODS values never hold NUL nor lone surrogates: they are UTF-8; SQLite stops at NUL.)
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    db = sqlite3.connect(":memory:")
    assert db.execute("SELECT ? GLOB ?", (text, like_to_glob(escaped))).fetchone()[0] == 1
    if text.lower() != text.upper():
        other = text.swapcase()
        matched = db.execute("SELECT ? GLOB ?", (other, like_to_glob(escaped))).fetchone()[0]
        assert matched == (other == text)


def test_unknown_column_is_cat_unknown_table() -> None:
    """A column number the sandbox does not know is CAT_UNKNOWN_TABLE."""
    with pytest.raises(SandboxError) as info:
        build_sql(GenQuery(select=((99999, 1),)))
    assert info.value.code == -823000


def test_a_request_becomes_a_genquery_and_a_bad_column_number_is_refused() -> None:
    """The client's GenQueryInp_PI gives the select, conditions and paging as sent; a column
    number that is not a number is INPUT_ARG_NOT_WELL_FORMED_ERR (CAT_INVALID_ARGUMENT)."""
    request = (
        Query(None, Collection.name, DataObject.name)
        .filter(Collection.name == "/tempZone/home")
        .limit(7)
        ._message()
    )
    query = query_from_node(parse(request.pack().encode()))
    assert query.select == ((Collection.name.icat_id, 1), (DataObject.name.icat_id, 1))
    assert query.conditions == ((Collection.name.icat_id, "= '/tempZone/home'"),)
    assert (query.max_rows, query.continue_index) == (7, 0)
    bad = (
        b"<GenQueryInp_PI><maxRows>5</maxRows><continueInx>0</continueInx>"
        b"<InxIvalPair_PI><iiLen>1</iiLen><inx>x</inx><ivalue>1</ivalue></InxIvalPair_PI>"
        b"</GenQueryInp_PI>"
    )
    with pytest.raises(SandboxError) as info:
        query_from_node(parse(bad))
    assert info.value.code == -816000


def test_render_matches_the_real_servers_shape() -> None:
    """A reply has column-major values, 50 SqlResult_PI slots and reslen >= 50."""
    body = parse(render_out((501, 403), [["/z/a", "x<y"], ["/z/b", "y"]], continue_index=3))
    assert body.int("rowCnt") == 2
    assert body.int("attriCnt") == 2
    assert body.int("continueInx") == 3
    slots = body.findall("SqlResult_PI")
    assert len(slots) == 50
    assert [v.text for v in slots[1].findall("value")] == ["x<y", "y"]
    assert slots[0].int("reslen") == 50
    assert slots[2].int("attriInx") == 0


def test_no_rows_renders_the_empty_body() -> None:
    """The no-rows body has rowCnt 0, attriCnt 0 and 50 empty slots, as trace 22 shows."""
    body = parse(render_out((), ()))
    assert (body.int("rowCnt"), body.int("attriCnt")) == (0, 0)
    assert len(body.findall("SqlResult_PI")) == 50


def test_engine_pages_and_closes(tmp_path: Path) -> None:
    """Pages follow the statement; maxRows 0 closes it; an exhausted query has continueInx 0."""
    catalog = Catalog(tmp_path / "c.sqlite", zone="tempZone", admin="rods", password="rods")
    engine = GenQueryEngine()
    statements = Statements()
    query = GenQuery(select=((501, 1),), max_rows=2)
    with catalog.tx() as db:
        first = parse(engine.run(db, query, statements).body)
        assert first.int("rowCnt") == 2
        inx = first.int("continueInx")
        assert inx == 1
        names = [v.text for v in first.findall("SqlResult_PI")[0].findall("value")]
        while inx:
            page = parse(
                engine.run(
                    db, GenQuery(select=((501, 1),), max_rows=2, continue_index=inx), statements
                ).body
            )
            names += [v.text for v in page.findall("SqlResult_PI")[0].findall("value")]
            inx = page.int("continueInx")
        total = db.execute("SELECT count(*) FROM colls").fetchone()[0]
        assert names == sorted(names)
        assert len(names) == total
        assert len(statements) == 0
        again = parse(engine.run(db, query, statements).body).int("continueInx")
        closed = engine.run(
            db, GenQuery(select=((501, 1),), max_rows=0, continue_index=again), statements
        )
        assert closed.status == 0
        assert parse(closed.body).int("rowCnt") == 0
        assert len(statements) == 0
    catalog.close()


def test_statements_are_per_connection_slots(tmp_path: Path) -> None:
    """An unclosed statement keeps its slot (the next query gets continueInx 2, trace 11);
    another connection's table does not hold it: closing it there is a no-op, continuing it
    is StatementLost (a real agent dies)."""
    catalog = Catalog(tmp_path / "c.sqlite", zone="tempZone", admin="rods", password="rods")
    engine = GenQueryEngine()
    mine, other = Statements(), Statements()
    query = GenQuery(select=((501, 1),), max_rows=1)
    with catalog.tx() as db:
        assert parse(engine.run(db, query, mine).body).int("continueInx") == 1
        assert parse(engine.run(db, query, mine).body).int("continueInx") == 2
        assert parse(engine.run(db, query, other).body).int("continueInx") == 1
        close = GenQuery(select=((501, 1),), max_rows=0, continue_index=2)
        assert engine.run(db, close, other).status == 0
        assert len(mine) == 2
        with pytest.raises(StatementLost):
            engine.run(db, GenQuery(select=((501, 1),), max_rows=1, continue_index=2), other)
        engine.run(db, close, mine)
        assert parse(engine.run(db, query, mine).body).int("continueInx") == 2
    catalog.close()


def test_statement_table_full(tmp_path: Path) -> None:
    """A connection holding 50 open statements gets CAT_STATEMENT_TABLE_FULL, as a real agent."""
    catalog = Catalog(tmp_path / "c.sqlite", zone="tempZone", admin="rods", password="rods")
    engine = GenQueryEngine()
    statements = Statements()
    query = GenQuery(select=((501, 1),), max_rows=1)
    with catalog.tx() as db:
        for _ in range(50):
            engine.run(db, query, statements)
        with pytest.raises(SandboxError) as caught:
            engine.run(db, query, statements)
    assert caught.value.code == -860000
    catalog.close()


def test_continuation_on_another_connection_gets_no_reply(irods_sandbox: SandboxInfo) -> None:
    """Over TCP: page 2 sent on a connection that did not run page 1 gets no reply and the
    socket closes (rodrunner/11); on the connection that holds it, it is answered."""
    session = sandbox_session(irods_sandbox)
    try:
        for i in range(3):
            session.collections.create(f"/{irods_sandbox.zone}/home/rods/paged{i}")
        query = session.query(Collection.name).limit(1)
        with session.pool.get_connection() as first, session.pool.get_connection() as second:
            page = _page(first, query)
            assert page.continue_index == 1
            with pytest.raises(NetworkException):
                _page(second, query.continue_index(1))
            assert len(_page(first, query.continue_index(1))) == 1
    finally:
        session.cleanup()


def _page(conn: Any, query: Any) -> Any:
    message = iRODSMessage(
        "RODS_API_REQ", msg=query._message(), int_info=api_number["GEN_QUERY_AN"]
    )
    conn.send(message)
    return ResultSet(conn.recv().get_main_message(GenQueryResponse))


# ----------------------------------------------------------------------------- real client


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[iRODSSession]:
    """A python-irodsclient session on a sandbox with a small tree with AVUs."""
    root = tmp_path_factory.mktemp("genquery")
    with (
        run_sandbox(root / "sandbox") as info,
        iRODSSession(
            host=info.host,
            port=info.port,
            user=info.user,
            password=info.password.get_secret_value(),
            zone=info.zone,
        ) as sess,
    ):
        base = "/tempZone/home/rods/gq"
        for run in ("run1", "run2", "other"):
            coll = sess.collections.create(f"{base}/{run}")
            coll.metadata.add("run_id", run.upper())
        for i, size in enumerate((0, 10, 300)):
            local = root / f"f{i}"
            local.write_bytes(b"x" * size)
            sess.data_objects.put(str(local), f"{base}/run1/file{i}.txt")
            obj = sess.data_objects.get(f"{base}/run1/file{i}.txt")
            obj.metadata.add("lane", str(i + 1))
            obj.metadata.add("kind", "fastq" if i else "log")
        yield sess


BASE = "/tempZone/home/rods/gq"


def test_collection_by_avu(session: iRODSSession) -> None:
    """A collection is found by one of its AVUs, as in trace 18."""
    rows = (
        session.query(Collection.name)
        .filter(CollectionMeta.name == "run_id", CollectionMeta.value == "RUN2")
        .all()
    )
    assert [r[Collection.name] for r in rows] == [f"{BASE}/run2"]


def test_data_objects_by_avu_and_collection_like(session: iRODSSession) -> None:
    """Data objects are found by AVU inside a collection pattern."""
    rows = session.query(DataObject.name).filter(
        DataObjectMeta.name == "kind",
        DataObjectMeta.value == "fastq",
        Like(Collection.name, f"{BASE}/run%"),
    )
    assert sorted(r[DataObject.name] for r in rows) == ["file1.txt", "file2.txt"]


def test_two_avus_in_one_query(session: iRODSSession) -> None:
    """Two AVU-name conditions match objects having both AVUs."""
    rows = session.query(DataObject.name).filter(
        DataObjectMeta.name == "kind",
        DataObjectMeta.value == "fastq",
        DataObjectMeta.name == "lane",
        DataObjectMeta.value == "3",
    )
    assert [r[DataObject.name] for r in rows] == ["file2.txt"]


def test_in_not_like_between_and_not_equal(session: iRODSSession) -> None:
    """in, not like, between and <> filter as on a real server."""

    def names(*criteria: object) -> list[str]:
        query = session.query(DataObject.name).filter(Collection.name == f"{BASE}/run1")
        return sorted(r[DataObject.name] for r in query.filter(*criteria))

    assert names(In(DataObject.name, ["file0.txt", "file2.txt", "nope"])) == [
        "file0.txt",
        "file2.txt",
    ]
    assert names(NotLike(DataObject.name, "%1.txt")) == ["file0.txt", "file2.txt"]
    assert names(Between(DataObject.size, (5, 299))) == ["file1.txt"]
    assert names(DataObject.name != "file1.txt") == ["file0.txt", "file2.txt"]
    assert names(DataObject.size >= 10) == ["file1.txt", "file2.txt"]
    now = datetime.now(UTC)
    recent = (now - timedelta(hours=1), now + timedelta(hours=1))
    assert names(Between(DataObject.modify_time, recent)) == [
        "file0.txt",
        "file1.txt",
        "file2.txt",
    ]


def test_like_is_case_sensitive(session: iRODSSession) -> None:
    """like compares case-sensitively, as PostgreSQL does."""
    assert session.query(DataObject.name).filter(Like(DataObject.name, "FILE%")).all().length == 0


def test_aggregates(session: iRODSSession) -> None:
    """count, sum, min and max over the data objects of a collection."""
    query = session.query(DataObject.size).filter(Collection.name == f"{BASE}/run1")
    assert query.count(DataObject.size).one()[DataObject.size] == 3
    assert (
        session.query(DataObject.size)
        .filter(Collection.name == f"{BASE}/run1")
        .sum(DataObject.size)
        .one()[DataObject.size]
        == 310
    )
    low = session.query(DataObject.size).filter(Collection.name == f"{BASE}/run1")
    assert low.min(DataObject.size).one()[DataObject.size] == 0
    high = session.query(DataObject.size).filter(Collection.name == f"{BASE}/run1")
    assert high.max(DataObject.size).one()[DataObject.size] == 300


def test_order_limit_offset(session: iRODSSession) -> None:
    """order_by desc, limit and offset page through names like trace 21."""
    query = session.query(DataObject.name).filter(Collection.name == f"{BASE}/run1")
    names = [r[DataObject.name] for r in query.order_by(DataObject.name, "desc").all()]
    assert names == ["file2.txt", "file1.txt", "file0.txt"]
    page = query.order_by(DataObject.name).limit(1).offset(1).all()
    assert [r[DataObject.name] for r in page] == ["file1.txt"]


def test_no_rows_is_an_empty_result(session: iRODSSession) -> None:
    """A query matching nothing returns no rows (CAT_NO_ROWS_FOUND on the wire)."""
    assert session.query(Collection.name).filter(CollectionMeta.name == "no_such").all().length == 0


def test_users_query(session: iRODSSession) -> None:
    """The admin user is found by name with its type."""
    row = session.query(User).filter(User.name == "rods").one()
    assert row[User.type] == "rodsadmin"


def test_unknown_column_raises_the_real_exception(session: iRODSSession) -> None:
    """A column the sandbox does not serve raises CAT_UNKNOWN_TABLE in the client."""
    from irods.models import DataAccess

    with pytest.raises(CAT_UNKNOWN_TABLE):
        session.query(DataAccess.name).all()


def test_continuation_over_more_than_500_rows(session: iRODSSession) -> None:
    """Over 500 rows arrive in pages through continueInx, none lost or repeated."""
    parent = f"{BASE}/many"
    session.collections.create(parent)
    for i in range(620):
        session.collections.create(f"{parent}/c{i:04d}")
    rows = [
        r[Collection.name]
        for r in session.query(Collection.name).filter(Collection.parent_name == parent)
    ]
    assert len(rows) == 620
    assert len(set(rows)) == 620
    assert rows == sorted(rows)


def test_full_last_page_keeps_the_statement_until_a_continuation_finds_none(
    tmp_path: Path,
) -> None:
    """A page with maxRows rows keeps the statement open even when nothing follows (the
    server cannot know); the next continuation is CAT_NO_ROWS_FOUND and frees the slot."""
    catalog = Catalog(tmp_path / "c.sqlite", zone="tempZone", admin="rods", password="rods")
    engine = GenQueryEngine()
    statements = Statements()
    with catalog.tx() as db:
        total = db.execute("SELECT count(*) FROM colls").fetchone()[0]
        first = engine.run(db, GenQuery(select=((501, 1),), max_rows=total), statements)
        assert parse(first.body).int("rowCnt") == total
        assert parse(first.body).int("continueInx") == 1
        after = GenQuery(select=((501, 1),), max_rows=total, continue_index=1)
        assert engine.run(db, after, statements).status == -808000
        assert len(statements) == 0
    catalog.close()


# The server's reading of a condition (iRODS general_query.cpp): '||'/'&&' outside quotes
# (quotes toggling) split it; each part binds everything between its first and last quote.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("= 'a' b'", [[Predicate("=", ("a' b",))]]),
        ("= 'x' trailing", [[Predicate("=", ("x",))]]),
        ("in 'a'", [[Predicate("in", ("a",))]]),
        ("= 'a || b'", [[Predicate("=", ("a || b",))]]),
        ("= 'nomatch' || like '%'", [[Predicate("=", ("nomatch",))], [Predicate("like", ("%",))]]),
        (
            "= '/z/it's' || like '/z/it's/%'",
            [[Predicate("=", ("/z/it's' || like '/z/it's/%",))]],
        ),
    ],
)
def test_conditions_are_read_as_the_server_reads_them(
    text: str, expected: list[list[Predicate]]
) -> None:
    """Literals run from the first to the last quote of a part; quotes toggle for '||'/'&&'."""
    assert parse_condition(text) == expected


@pytest.mark.parametrize(
    "text", ["= 'x' || '1'='1'", "= 'it's || x'", "not in ('a')", "== 'a'", "= 'a' && 'b'"]
)
def test_what_the_server_refuses_the_sandbox_refuses(text: str) -> None:
    """Parts without an operator, a lone quote after a split, 'not in', '==': typed errors."""
    with pytest.raises(SandboxError) as info:
        parse_condition(text)
    assert info.value.code < 0

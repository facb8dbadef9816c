"""The sandbox's XML packing: tolerant parsing, escaping, JSON buffers."""

from __future__ import annotations

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from rodrunner.sandbox.protocol import (
    Node,
    SandboxError,
    escape,
    json_buf,
    pack,
    pack_kvp,
    parse,
    read_json,
)


def test_parse_reads_what_the_client_sends_including_control_characters() -> None:
    """Values with control characters and escaped markup parse; absent fields default."""
    raw = (
        b"<DataObjInp_PI><objPath>/z/a\x01b &amp; &lt;c&gt;</objPath><openFlags>577</openFlags>"
        b"<KeyValPair_PI><ssLen>2</ssLen><keyWord>regChksum</keyWord><keyWord>dataSize</keyWord>"
        b"<svalue></svalue><svalue>5</svalue></KeyValPair_PI></DataObjInp_PI>"
    )
    node = parse(raw)
    assert node.str("objPath") == "/z/a\x01b & <c>"
    assert (node.int("openFlags"), node.int("numThreads", 7)) == (577, 7)
    assert node.kvp() == {"regChksum": "", "dataSize": "5"}
    assert parse(b"<a><b>&#99999999999;&#x41;</b></a>").str("b") == "&#99999999999;A"


@given(st.binary(max_size=200))
def test_any_bytes_give_a_node_or_a_typed_error(data: bytes) -> None:
    """Hostile input never raises anything but SandboxError."""
    with contextlib.suppress(SandboxError):
        assert isinstance(parse(data), Node)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=50))
def test_pack_then_parse_round_trips_text(value: str) -> None:
    """Whatever text is packed comes back unchanged."""
    node = parse(pack("STR_PI", [("myStr", value)]))
    assert node.str("myStr") == value


def test_json_buf_is_nul_terminated_like_the_server() -> None:
    """A JSON reply counts its trailing NUL in buflen and reads back."""
    node = parse(json_buf({"a": 1}))
    assert node.int("buflen") == len(b'{"a":1}\0')
    assert read_json(node) == {"a": 1}


def test_kvp_and_escape() -> None:
    """KeyValPair_PI packs keys then values; escape covers the five XML entities."""
    node = parse(pack("X", [("KeyValPair_PI", pack_kvp({"k": "v"}))]))
    assert node.kvp() == {"k": "v"}
    assert escape("&<>\"'") == "&amp;&lt;&gt;&quot;&apos;"

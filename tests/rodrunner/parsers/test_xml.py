"""The one safe XML reader: hostile, broken and oddly encoded XML."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.errors import MetadataFileError
from rodrunner.parsers.xml import find_text, parse_xml

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<RunInfo>&lol3;</RunInfo>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE RunInfo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<RunInfo><Run Id="x">&xxe;</Run></RunInfo>"""


def test_bomb_is_refused() -> None:
    """An entity-expansion bomb is refused with a typed error naming the file."""
    with pytest.raises(MetadataFileError) as info:
        parse_xml("RunInfo.xml", BOMB)
    assert info.value.path == "RunInfo.xml"
    assert "refused" in info.value.problem


def test_external_entity_is_refused() -> None:
    """An external entity (XXE) is refused, never resolved."""
    with pytest.raises(MetadataFileError) as info:
        parse_xml("RunInfo.xml", EXTERNAL_ENTITY)
    assert "refused" in info.value.problem


def test_dtd_alone_is_refused() -> None:
    """A DTD without entities is refused too: metadata XML never has one."""
    with pytest.raises(MetadataFileError, match="DTD"):
        parse_xml("a.xml", b'<?xml version="1.0"?><!DOCTYPE a SYSTEM "http://x/a.dtd"><a/>')


def test_truncated_xml_names_the_problem() -> None:
    """A half-copied file gives 'not well-formed', naming the file."""
    with pytest.raises(MetadataFileError, match=r"RunParameters\.xml: is not well-formed"):
        parse_xml("RunParameters.xml", b"<?xml version='1.0'?><RunParameters><Setup><Rea")


def test_empty_file() -> None:
    """An empty file is an error that says it is empty."""
    with pytest.raises(MetadataFileError, match="empty"):
        parse_xml("RunInfo.xml", b"  \r\n")


def test_nul_bytes() -> None:
    """NUL bytes inside XML are refused as corruption."""
    with pytest.raises(MetadataFileError, match="NUL"):
        parse_xml("RunInfo.xml", b"<RunInfo>\x00\x00</RunInfo>")


def test_size_limit() -> None:
    """Files over the size limit are refused before parsing."""
    with pytest.raises(MetadataFileError, match="more than the 10 allowed"):
        parse_xml("RunInfo.xml", b"<a>" + b"x" * 20 + b"</a>", max_bytes=10)


def test_declared_utf16_but_utf8() -> None:
    """A declaration saying utf-16 over UTF-8 bytes (Revio) still parses."""
    root = parse_xml(
        "m.metadata.xml", b"<?xml version='1.0' encoding='utf-16'?>\n<a><b>\xc3\xa9</b></a>"
    )
    assert find_text(root, "b") == "é"


def test_real_utf16_with_bom() -> None:
    """A genuinely UTF-16 file with its BOM parses."""
    data = "<?xml version='1.0' encoding='utf-16'?><a><b>x</b></a>".encode("utf-16")
    assert find_text(parse_xml("a.xml", data), "b") == "x"


def test_utf8_bom_and_crlf() -> None:
    """A UTF-8 BOM and CRLF line ends (RS II, Windows instruments) parse."""
    data = b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\r\n<a>\r\n  <b>y</b>\r\n</a>'
    assert find_text(parse_xml("a.xml", data), "b") == "y"


def test_latin1_declared() -> None:
    """A file declaring ISO-8859-1 with non-UTF-8 bytes is decoded as declared."""
    data = b'<?xml version="1.0" encoding="ISO-8859-1"?><a><b>M\xfcller</b></a>'
    assert find_text(parse_xml("a.xml", data), "b") == "Müller"


def test_namespaces_are_stripped() -> None:
    """Namespaced tags come back as local names."""
    root = parse_xml("a.xml", b'<p:a xmlns:p="http://x"><p:b>1</p:b></p:a>')
    assert root.tag == "a"
    assert find_text(root, "b") == "1"


@given(st.binary(max_size=2000))
def test_any_bytes_only_typed_error(data: bytes) -> None:
    """Any bytes in: an element or MetadataFileError out, nothing else."""
    with contextlib.suppress(MetadataFileError):
        parse_xml("x.xml", data)


@given(st.text(max_size=300))
def test_any_text_wrapped_in_tags(text: str) -> None:
    """Any text inside an element: an element or MetadataFileError, nothing else."""
    with contextlib.suppress(MetadataFileError):
        parse_xml("x.xml", f"<a>{text}</a>".encode())

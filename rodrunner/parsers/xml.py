"""The one safe XML reader for run metadata.

Every XML file rodrunner reads goes through :func:`parse_xml`: a size limit, defusedxml with
DTDs, entities and external references refused, BOMs and lying encoding declarations handled
(Revio declares ``utf-16`` and writes UTF-8; RS II writes a UTF-8 BOM), CRLF tolerated. Any
problem becomes a :class:`~rodrunner.errors.MetadataFileError` naming the file.

Namespaces are stripped from the returned tree, so callers match local names only.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as safe_et

from rodrunner.errors import MetadataFileError

MAX_XML_BYTES = 32 * 1024 * 1024
"""Largest metadata XML accepted; real ones stay under a few MB (NovaSeq X tile lists: 157 KB)."""

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_DECLARED_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def decode_xml(name: str, data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> str:
    """XML bytes as text without their declaration; the encoding is sniffed, not trusted."""
    if len(data) > max_bytes:
        raise MetadataFileError(
            name, f"is {len(data)} bytes, more than the {max_bytes} allowed for metadata XML"
        )
    if not data.strip():
        raise MetadataFileError(name, "is empty; was it copied before the instrument wrote it?")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _decode(name, data, "utf-16")
    elif data.startswith(b"\xef\xbb\xbf"):
        text = _decode(name, data[3:], "utf-8")
    elif b"\x00" in data[:4]:
        text = _decode(name, data, "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be")
    else:
        text = _decode_declared(name, data)
    if "\x00" in text:
        raise MetadataFileError(name, "contains NUL bytes; the file is corrupt or not XML")
    return _DECLARATION.sub("", text.lstrip("\ufeff"), count=1)


def parse_xml(name: str, data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> Element:
    """The root element of ``data``, namespaces stripped; :class:`MetadataFileError` if unsafe."""
    text = decode_xml(name, data, max_bytes=max_bytes)
    try:
        root = safe_et.fromstring(text, forbid_dtd=True, forbid_entities=True)
    except defusedxml.DTDForbidden:
        raise MetadataFileError(
            name, "declares a DTD, which metadata XML never needs; refused as hostile"
        ) from None
    except defusedxml.EntitiesForbidden:
        raise MetadataFileError(
            name, "declares entities (an XML bomb or external entity?); refused"
        ) from None
    except defusedxml.DefusedXmlException as exc:
        raise MetadataFileError(name, f"refused as hostile XML ({exc})") from None
    except ParseError as exc:
        raise MetadataFileError(
            name, f"is not well-formed XML ({exc}); is it truncated or half-copied?"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise MetadataFileError(name, f"cannot be parsed as XML ({exc})") from None
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.rsplit("}", 1)[1]
        if any("}" in key for key in element.attrib):
            element.attrib = {k.rsplit("}", 1)[-1]: v for k, v in element.attrib.items()}
    return root


def _decode_declared(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _DECLARED_ENCODING.search(data[:200])
    encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8"
    if encoding.replace("-", "").replace("_", "") in {"utf8", "utf16", "utf16le", "utf16be"}:
        raise MetadataFileError(
            name, f"is not valid {encoding} text; the file is corrupt or not XML"
        )
    return _decode(name, data, encoding)


def _decode(name: str, data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except LookupError:
        raise MetadataFileError(name, f"declares an unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        raise MetadataFileError(name, f"is not valid {encoding} text ({exc.reason})") from None


def child_text(element: Element | None, *names: str) -> str | None:
    """Stripped text of the first direct child among ``names`` (case-insensitive), or None."""
    if element is None:
        return None
    wanted = [n.lower() for n in names]
    children = {c.tag.lower(): c for c in element if isinstance(c.tag, str)}
    for key in wanted:
        child = children.get(key)
        if child is not None and child.text and child.text.strip():
            return child.text.strip()
    return None


def find_text(element: Element, *names: str) -> str | None:
    """Stripped text of the first element anywhere below ``element`` named one of ``names``."""
    wanted = {n.lower(): i for i, n in enumerate(names)}
    best: tuple[int, str] | None = None
    for child in element.iter():
        if not isinstance(child.tag, str):
            continue
        rank = wanted.get(child.tag.lower())
        if rank is None or not child.text or not child.text.strip():
            continue
        if best is None or rank < best[0]:
            best = (rank, child.text.strip())
            if rank == 0:
                break
    return best[1] if best else None

"""iRODS wire messages: the XML packing instructions python-irodsclient speaks, server side.

Pure: no sockets. ``parse(xml_bytes) -> Node`` reads a packed message tolerantly (absent
elements, control characters, any entity); ``pack(tag, fields)`` writes one; ``json_buf`` and
``read_json`` wrap the base64 JSON of ``BinBytesBuf_PI``. ``codes`` holds the iRODS error
numbers the sandbox answers with (the same numbers python-irodsclient maps to its exceptions).
"""

from __future__ import annotations

import base64
import builtins
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class codes:
    """iRODS error numbers (``rodsErrorTable.h``) the sandbox uses."""

    SYS_HEADER_READ_LEN_ERR = -4000
    SYS_UNMATCHED_API_NUM = -12000
    SYS_NO_API_PRIV = -13000
    SYS_API_INPUT_ERR = -14000
    SYS_FILE_DESC_OUT_OF_RANGE = -19000
    SYS_BAD_FILE_DESCRIPTOR = -23000
    SYS_NOT_SUPPORTED = -66000
    SYS_RESC_IS_DOWN = -105000
    SYS_INVALID_INPUT_PARAM = -130000
    SYS_REPLICA_INACCESSIBLE = -168000
    SYS_NOT_ALLOWED = -169000
    USER_FILE_DOES_NOT_EXIST = -310000
    OVERWRITE_WITHOUT_FORCE_FLAG = -312000
    USER_CHKSUM_MISMATCH = -314000
    USER_INPUT_PATH_ERR = -317000
    OBJ_PATH_DOES_NOT_EXIST = -358000
    CHECK_VERIFICATION_RESULTS = -407000
    CAT_NO_ROWS_FOUND = -808000
    CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME = -809000
    CAT_UNKNOWN_COLLECTION = -814000
    CAT_UNKNOWN_FILE = -817000
    CAT_NO_ACCESS_PERMISSION = -818000
    CAT_COLLECTION_NOT_EMPTY = -821000
    CAT_INVALID_AUTHENTICATION = -826000
    CAT_INVALID_USER = -827000
    CAT_NAME_EXISTS_AS_COLLECTION = -833000
    CAT_NAME_EXISTS_AS_DATAOBJ = -834000


class SandboxError(Exception):
    """A handler's refusal: becomes an error reply with ``code`` as intInfo.

    ``msg`` (already packed XML, optional) is sent as the reply body, as the real server does
    for GenQuery (-808000 with an empty GenQueryOut_PI) and atomic metadata (-130000 with JSON).
    """

    def __init__(self, code: int, message: str = "", *, msg: bytes = b"") -> None:
        super().__init__(f"{code}: {message}" if message else str(code))
        self.code = code
        self.message = message
        self.msg = msg


@dataclass
class Node:
    """One element of a parsed message: its tag, text and children (in order)."""

    tag: builtins.str
    text: builtins.str = ""
    children: list[Node] = field(default_factory=list)

    def find(self, tag: builtins.str) -> Node | None:
        """The first child called ``tag``, or None."""
        for child in self.children:
            if child.tag == tag:
                return child
        return None

    def findall(self, tag: builtins.str) -> list[Node]:
        """Every child called ``tag``, in order."""
        return [child for child in self.children if child.tag == tag]

    def str(self, tag: builtins.str, default: builtins.str = "") -> builtins.str:
        """The text of child ``tag`` (``default`` when absent)."""
        child = self.find(tag)
        return default if child is None else child.text

    def int(self, tag: builtins.str, default: builtins.int = 0) -> builtins.int:
        """The integer in child ``tag`` (``default`` when absent or empty)."""
        child = self.find(tag)
        if child is None or not child.text.strip():
            return default
        try:
            return int(float(child.text)) if "." in child.text else int(child.text)
        except ValueError as exc:
            raise SandboxError(codes.SYS_API_INPUT_ERR, f"{tag} is not a number") from exc

    def kvp(self, tag: builtins.str = "KeyValPair_PI") -> dict[builtins.str, builtins.str]:
        """The KeyValPair_PI child as a dict (empty when absent)."""
        child = self.find(tag)
        if child is None:
            return {}
        keys = [k.text for k in child.findall("keyWord")]
        values = [v.text for v in child.findall("svalue")]
        values += [""] * (len(keys) - len(values))
        return dict(zip(keys, values, strict=False))

    def json(self) -> Any:
        """The JSON document inside a BinBytesBuf_PI / BytesBuf_PI node."""
        return read_json(self)


_TOKEN = re.compile(rb"<(/?)([A-Za-z_][\w.\-]*)\s*>")
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _unescape_entity(m: re.Match[str]) -> str:
    name = m.group(1)
    if not name.startswith("#"):
        return _NAMED[name]
    number = int(name[2:], 16) if name.startswith("#x") else int(name[1:])
    return chr(number) if number <= sys.maxunicode else m.group(0)


def unescape(text: str) -> str:
    """Undo XML escaping (the five named entities and numeric references)."""
    return _ENTITY.sub(_unescape_entity, text) if "&" in text else text


def parse(data: bytes) -> Node:
    """Parse one packed message into a Node tree; never rejects odd characters.

    Raises SandboxError(SYS_API_INPUT_ERR) on unbalanced tags.
    """
    root = Node("#document")
    stack = [root]
    pos = 0
    for m in _TOKEN.finditer(data):
        text = data[pos : m.start()]
        pos = m.end()
        closing, tag = m.group(1), m.group(2).decode("ascii")
        if closing:
            node = stack.pop() if len(stack) > 1 else None
            if node is None or node.tag != tag:
                raise SandboxError(codes.SYS_API_INPUT_ERR, f"unbalanced </{tag}>")
            if not node.children:
                node.text = unescape(text.decode("utf-8", "surrogateescape"))
        else:
            node = Node(tag)
            stack[-1].children.append(node)
            stack.append(node)
    if len(stack) != 1 or not root.children:
        raise SandboxError(codes.SYS_API_INPUT_ERR, "message is not a complete XML element")
    return root.children[0]


def escape(value: str) -> str:
    """Escape a value for the server's XML (the five entities, as iRODS does)."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


class Raw(str):
    """Already packed XML to embed as is."""


FieldValue = str | int | Raw | list[str] | list[int] | list[Raw] | None


def pack(tag: str, fields: Mapping[str, FieldValue] | Iterable[tuple[str, FieldValue]]) -> bytes:
    """Pack ``<tag>`` with one element per field (lists repeat it; None omits it)."""
    items = fields.items() if isinstance(fields, Mapping) else fields
    parts = [f"<{tag}>\n"]
    for name, value in items:
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Raw):
                parts.append(item)
            else:
                parts.append(f"<{name}>{escape(str(item))}</{name}>\n")
    parts.append(f"</{tag}>\n")
    return "".join(parts).encode("utf-8", "surrogateescape")


def pack_kvp(data: Mapping[str, str]) -> Raw:
    """A KeyValPair_PI element."""
    return Raw(
        pack(
            "KeyValPair_PI",
            [("ssLen", len(data)), ("keyWord", list(data)), ("svalue", list(data.values()))],
        ).decode("utf-8", "surrogateescape")
    )


def json_buf(document: Any) -> bytes:
    """A BinBytesBuf_PI holding ``document`` as JSON, NUL-terminated like the server's."""
    raw = json.dumps(document, separators=(",", ":"), sort_keys=True).encode() + b"\0"
    return pack("BinBytesBuf_PI", [("buflen", len(raw)), ("buf", base64.b64encode(raw).decode())])


def read_json(node: Node) -> Any:
    """The JSON in a BinBytesBuf_PI (base64) or BytesBuf_PI (text) node."""
    text = node.str("buf")
    try:
        raw = base64.b64decode(text) if node.tag == "BinBytesBuf_PI" else text.encode()
        return json.loads(raw.replace(b"\0", b"").decode() or "null")
    except ValueError as exc:
        raise SandboxError(codes.SYS_API_INPUT_ERR, f"{node.tag} does not hold JSON") from exc


def error_body(message: str, status: int) -> bytes:
    """An RError_PI with one message (python-irodsclient shows it in the exception)."""
    inner = pack("RErrMsg_PI", [("status", status), ("msg", message)]).decode()
    return pack("RError_PI", [("count", 1), ("RErrMsg_PI", Raw(inner))])


def rerror(messages: list[tuple[int, str]]) -> bytes:
    """An RError_PI holding every ``(status, message)``, in order."""
    inner = [
        Raw(pack("RErrMsg_PI", [("status", status), ("msg", text)]).decode())
        for status, text in messages
    ]
    return pack("RError_PI", [("count", len(messages)), ("RErrMsg_PI", inner)])

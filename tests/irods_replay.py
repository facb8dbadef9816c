"""A replay kit for recorded iRODS wire traces: the parser and a tiny fake server.

The traces (``tests/data/irods-traces/``) are recordings of a real iRODS 5.0.2 server talking
to python-irodsclient and to rodrunner's client, one frame per block. :func:`load_trace` reads
one file into :class:`Frame` objects (the server's XML bodies rebuilt byte for byte from the
indented text; a body the trace writer shortened or redacted is marked ``exact=False``).

:class:`ReplayServer` listens on loopback and answers the client with the recorded replies:
every connection gets the recorded startup and native-authentication answers, then each API
request is matched with the next recorded request of the same API number (regardless of
which of the recording's connections carried it) and answered with the frame the server
sent back to it. A recorded connection whose server side closed without a reply is replayed
as a close. Requests are kept (:attr:`ReplayServer.requests`) so a test can compare what the
client sent now with what it sent to the real server.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from rodrunner.sandbox.protocol import Node, parse

TRACES = Path(__file__).resolve().parent / "data" / "irods-traces"

_FRAME = re.compile(r"^=== conn (\d+) (C->S|S->C) frame (\d+)\s")
_CLOSED = re.compile(r"^=== conn (\d+) S->C: stream closed")
_HEADER_FIELD = re.compile(r"(type|msgLen|errorLen|bsLen|intInfo)=(-?[\w]+)")


@dataclass
class Frame:
    """One recorded frame (or, with ``closed``, the server closing the connection)."""

    conn: int
    direction: str  # "C->S" or "S->C"
    type: str = ""
    msg_len: int = 0
    error_len: int = 0
    bs_len: int = 0
    int_info: int = 0
    msg: bytes = b""
    error: bytes = b""
    exact: bool = True
    closed: bool = False

    @property
    def api(self) -> int:
        """The API number of a request."""
        return self.int_info


def _body(lines: list[str], multiline: bool) -> bytes:
    if multiline:
        text = "\n".join(line[4:] for line in lines) + "\n"
    else:
        text = "".join(line[4:] for line in lines)
    return text.encode("utf-8")


def load_trace(name: str) -> list[Frame]:
    """The frames of trace file ``name`` (relative to the vendored traces), in order."""
    lines = (TRACES / name).read_text(encoding="utf-8").splitlines()
    frames: list[Frame] = []
    current: Frame | None = None
    section: str | None = None
    body: list[str] = []

    def finish_section() -> None:
        nonlocal section, body
        if current is not None and section is not None:
            data = _body(body, current.direction == "S->C")
            if section == "msg":
                current.msg = data
            else:
                current.error = data
        section, body = None, []

    def finish_frame() -> None:
        finish_section()
        if (
            current is not None
            and not current.closed
            and (len(current.msg) != current.msg_len or len(current.error) != current.error_len)
        ):
            current.exact = False

    for line in lines:
        if line.startswith("==="):
            finish_frame()
            current = None
            match = _FRAME.match(line)
            if match:
                current = Frame(int(match.group(1)), match.group(2))
                frames.append(current)
            elif closed := _CLOSED.match(line):
                frames.append(Frame(int(closed.group(1)), "S->C", closed=True))
            continue
        if current is None:
            continue
        if line.startswith("  => "):
            fields = dict(_HEADER_FIELD.findall(line))
            current.type = fields["type"]
            current.msg_len = int(fields["msgLen"])
            current.error_len = int(fields["errorLen"])
            current.bs_len = int(fields["bsLen"])
            current.int_info = int(fields["intInfo"])
        elif line.startswith("  --- msg"):
            finish_section()
            section = "msg"
        elif line.startswith("  --- error"):
            finish_section()
            section = "error"
        elif line.startswith("  --- bs") or line.startswith("    [buf decoded"):
            finish_section()
        elif section is not None and line.startswith("    ") and not line.startswith("      "):
            if "elided by the trace writer" in line or "<VAULT" in line or "<LOCAL>" in line:
                current.exact = False
            body.append(line)
    finish_frame()
    return frames


def exchanges(frames: list[Frame]) -> list[tuple[Frame, Frame]]:
    """Each recorded API request with the server's answer on its connection (a close frame
    when the server hung up instead)."""
    pending: dict[int, Frame] = {}
    pairs: list[tuple[Frame, Frame]] = []
    for frame in frames:
        if frame.direction == "C->S":
            if frame.type == "RODS_API_REQ":
                pending[frame.conn] = frame
        elif frame.conn in pending:
            pairs.append((pending.pop(frame.conn), frame))
    return pairs


def _pack(kind: str, msg: bytes = b"", error: bytes = b"", bs: bytes = b"", info: int = 0) -> bytes:
    header = (
        f"<MsgHeader_PI>\n<type>{kind}</type>\n<msgLen>{len(msg)}</msgLen>\n"
        f"<errorLen>{len(error)}</errorLen>\n<bsLen>{len(bs)}</bsLen>\n"
        f"<intInfo>{info}</intInfo>\n</MsgHeader_PI>\n"
    ).encode()
    return struct.pack(">I", len(header)) + header + msg + error + bs


@dataclass
class Request:
    """A request the client sent to the replay server."""

    api: int
    msg: bytes
    bs_len: int

    def xml(self) -> Node:
        """The message body parsed."""
        return parse(self.msg)


@dataclass
class ReplayServer:
    """Answers with recorded replies; see the module docstring."""

    trace: list[Frame]
    handshake: list[Frame] = field(default_factory=lambda: load_trace("01-connect-auth.txt"))
    requests: list[Request] = field(default_factory=list)
    unmatched: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._answers: dict[int, list[Frame]] = {}
        for request, reply in exchanges(self.trace):
            self._answers.setdefault(request.api, []).append(reply)
        replies = [f for f in self.handshake if f.direction == "S->C"]
        self._version, self._auth = replies[0], replies[1:3]
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []

    def remaining(self, api: int) -> int:
        """How many recorded answers to API ``api`` were not used."""
        with self._lock:
            return len(self._answers.get(api, []))

    def _next_answer(self, api: int) -> Frame | None:
        with self._lock:
            queue = self._answers.get(api)
            return queue.pop(0) if queue else None

    def _serve(self, sock: socket.socket) -> None:
        with suppress(OSError, ConnectionError):
            self._read(sock)  # RODS_CONNECT
            sock.sendall(_pack("RODS_VERSION", self._version.msg))
            for reply in self._auth:
                self._read(sock)
                sock.sendall(_pack("RODS_API_REPLY", reply.msg, reply.error, info=0))
            while not self._stop.is_set():
                kind, info, msg, bs_len = self._read(sock)
                if kind == "RODS_DISCONNECT":
                    break
                with self._lock:
                    self.requests.append(Request(info, msg, bs_len))
                answer = self._next_answer(info)
                if answer is None:
                    with self._lock:
                        self.unmatched.append(info)
                    break  # nothing recorded: hang up rather than invent an answer
                if answer.closed:
                    break  # the real agent died here
                if not answer.exact:
                    raise AssertionError(f"the recorded answer to API {info} is not exact")
                sock.sendall(_pack(answer.type, answer.msg, answer.error, b"", answer.int_info))
        with suppress(OSError):
            sock.close()

    @staticmethod
    def _read(sock: socket.socket) -> tuple[str, int, bytes, int]:
        def exact(n: int) -> bytes:
            buf = bytearray()
            while len(buf) < n:
                chunk = sock.recv(min(n - len(buf), 1 << 20))
                if not chunk:
                    raise ConnectionError("client closed")
                buf += chunk
            return bytes(buf)

        (length,) = struct.unpack(">I", exact(4))
        header = parse(exact(length))

        def num(tag: str) -> int:
            return header.int(tag)

        msg = exact(num("msgLen"))
        exact(num("errorLen"))
        bs_len = num("bsLen")
        remaining = bs_len
        while remaining:
            remaining -= len(exact(min(remaining, 1 << 20)))
        return header.str("type"), num("intInfo"), msg, bs_len

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(30)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._socks.append(sock)
            self._threads.append(thread)
            thread.start()

    @contextmanager
    def running(self) -> Iterator[ReplayServer]:
        """Serve in background threads for the ``with`` block, then stop and join them."""
        acceptor = threading.Thread(target=self._accept, daemon=True)
        acceptor.start()
        try:
            yield self
        finally:
            self._stop.set()
            acceptor.join(5)
            self._listener.close()
            for sock in self._socks:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            for thread in self._threads:
                thread.join(5)

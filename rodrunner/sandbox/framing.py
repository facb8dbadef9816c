"""The sandbox's wire framing: reading and writing the frames of the iRODS protocol.

A frame is a 4-byte big-endian length, a ``MsgHeader_PI`` and then msg, error and bs parts;
python-irodsclient always uses the XML protocol. A header is checked against what the
connection may announce (:func:`rodrunner.sandbox.limits.frame_problem`) before any body is
read, and bodies are read as they arrive, never allocated ahead of them by more than
:data:`~rodrunner.sandbox.limits.BODY_CHUNK`. No state: the server and the startup
(:mod:`rodrunner.sandbox.handshake`) call these on a connection's socket.
"""

from __future__ import annotations

import re
import socket
import struct
from dataclasses import dataclass

from rodrunner.sandbox.dispatch import Context, Disconnect
from rodrunner.sandbox.limits import BODY_CHUNK, MAX_HEADER, frame_problem
from rodrunner.sandbox.protocol import parse

READ_BUFFER = 64 * 1024


class BufferedSocket:
    """The reading side of a connection through a 64 KiB buffer.

    Requests are small frames read in four parts (length, header, message, bytes); one
    ``recv`` now usually serves a whole frame or several, which saves system calls and GIL
    hand-overs between connection threads. Reads at least as large as the buffer bypass it.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray(READ_BUFFER)
        self._view = memoryview(self._buf)
        self._start = self._end = 0

    def recv_into(self, view: memoryview, nbytes: int = 0) -> int:
        """Like ``socket.recv_into``: up to ``nbytes`` bytes into ``view``, 0 at EOF."""
        n = nbytes or len(view)
        if self._start == self._end:
            if n >= READ_BUFFER:
                return self.sock.recv_into(view, n)
            self._start, self._end = 0, self.sock.recv_into(self._buf, READ_BUFFER)
        k = min(n, self._end - self._start)
        view[:k] = self._view[self._start : self._start + k]
        self._start += k
        return k


Source = socket.socket | BufferedSocket


def recv_exact(sock: Source, n: int) -> bytes:
    """Exactly ``n`` bytes from ``sock``, read as they arrive (never allocated ahead of them
    by more than :data:`BODY_CHUNK`); Disconnect on EOF."""
    if n <= BODY_CHUNK:
        buf = bytearray(n)
        recv_into_exact(sock, memoryview(buf))
        return bytes(buf)
    got = bytearray()
    while len(got) < n:
        chunk = bytearray(min(BODY_CHUNK, n - len(got)))
        recv_into_exact(sock, memoryview(chunk))
        got += chunk
    return bytes(got)


def recv_into_buffer(sock: Source, ctx: Context, n: int) -> memoryview:
    """``n`` bytes from ``sock`` into the connection's reusable buffer, grown only as the bytes
    arrive (:data:`BODY_CHUNK` at a time, doubling); a view of them."""
    got = 0
    while got < n:
        want = min(n, got + BODY_CHUNK)
        if len(ctx.buffer) < want:
            grown = bytearray(min(n, max(want, 2 * len(ctx.buffer))))
            grown[:got] = memoryview(ctx.buffer)[:got]
            ctx.buffer = grown
        recv_into_exact(sock, memoryview(ctx.buffer)[got:want])
        got = want
    return memoryview(ctx.buffer)[:n]


def recv_into_exact(sock: Source, view: memoryview) -> None:
    """Fill ``view`` from ``sock``; Disconnect on EOF."""
    got = 0
    n = len(view)
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise Disconnect("peer closed")
        got += k


@dataclass
class Header:
    """A parsed MsgHeader_PI."""

    type: str
    msg_len: int
    error_len: int
    bs_len: int
    int_info: int


class FrameRefused(Disconnect):
    """A frame announced more than the connection may send (see ``limits.frame_problem``)."""


_HEADER = re.compile(
    rb"\s*<MsgHeader_PI>\s*<type>([A-Za-z_]*)</type>\s*<msgLen>(\d+)</msgLen>\s*"
    rb"<errorLen>(\d+)</errorLen>\s*<bsLen>(\d+)</bsLen>\s*<intInfo>(-?\d+)</intInfo>\s*"
    rb"</MsgHeader_PI>\s*\Z"
)


def read_header(sock: Source, *, authenticated: bool = False, check: bool = True) -> Header:
    """Read the length prefix and the MsgHeader_PI of the next frame; :class:`FrameRefused`
    when either announces more than the connection may send (``check=False``: a header whose
    lengths are parameters, with no body after it)."""
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    if not 0 < size <= MAX_HEADER:
        raise FrameRefused(f"header of {size} bytes (at most {MAX_HEADER})")
    raw = recv_exact(sock, size)
    found = _HEADER.match(raw)  # the usual shape, without building a tree
    if found:
        kind, *numbers = found.groups()
        msg_len, error_len, bs_len, info = (int(x) for x in numbers)
        header = Header(kind.decode("ascii"), msg_len, error_len, bs_len, info)
    else:
        node = parse(raw)
        header = Header(
            node.str("type"),
            node.int("msgLen"),
            node.int("errorLen"),
            node.int("bsLen"),
            node.int("intInfo"),
        )
    problem = frame_problem(
        header.type, header.msg_len, header.error_len, header.bs_len, authenticated=authenticated
    )
    if check and problem is not None:
        raise FrameRefused(problem)
    return header


def frame(kind: str, msg: bytes = b"", error: bytes = b"", bs_len: int = 0, info: int = 0) -> bytes:
    """Header (with its length prefix) + msg + error of one outgoing frame."""
    header = (
        f"<MsgHeader_PI>\n<type>{kind}</type>\n<msgLen>{len(msg)}</msgLen>\n"
        f"<errorLen>{len(error)}</errorLen>\n<bsLen>{bs_len}</bsLen>\n"
        f"<intInfo>{info}</intInfo>\n</MsgHeader_PI>\n"
    ).encode()
    return struct.pack(">i", len(header)) + header + msg + error

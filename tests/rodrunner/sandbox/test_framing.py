"""The sandbox's wire framing over a real socket pair: frames written, read back, refused."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest

from rodrunner.sandbox.dispatch import Disconnect
from rodrunner.sandbox.framing import (
    BufferedSocket,
    FrameRefused,
    frame,
    read_header,
    recv_exact,
)
from rodrunner.sandbox.limits import MAX_HEADER, MAX_UNAUTHENTICATED_MSG


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.settimeout(10)
    b.settimeout(10)
    with a, b:
        yield a, b


def test_a_written_frame_reads_back_with_its_parts(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """A frame's type, lengths and intInfo come back from its header, then msg and error."""
    writer, reader = pair
    writer.sendall(frame("RODS_API_REPLY", b"<msg/>", b"<err/>", bs_len=0, info=-808000))
    header = read_header(reader, authenticated=True)
    assert (header.type, header.msg_len, header.error_len, header.bs_len, header.int_info) == (
        "RODS_API_REPLY",
        6,
        6,
        0,
        -808000,
    )
    assert recv_exact(reader, header.msg_len + header.error_len) == b"<msg/><err/>"


def test_a_header_in_another_layout_is_parsed_too(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """A MsgHeader_PI with its fields on one line (not the usual shape) still parses."""
    writer, reader = pair
    raw = (
        b"<MsgHeader_PI><type>RODS_API_REQ</type><msgLen>3</msgLen><errorLen>0</errorLen>"
        b"<bsLen>0</bsLen><intInfo>702</intInfo><!-- a comment --></MsgHeader_PI>"
    )
    writer.sendall(struct.pack(">i", len(raw)) + raw)
    header = read_header(reader)
    assert (header.type, header.msg_len, header.int_info) == ("RODS_API_REQ", 3, 702)


def test_an_oversized_header_length_is_refused_before_it_is_read(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """A length prefix over MAX_HEADER is FrameRefused naming the size."""
    writer, reader = pair
    writer.sendall(struct.pack(">i", MAX_HEADER + 1))
    with pytest.raises(FrameRefused, match=str(MAX_HEADER + 1)):
        read_header(reader)


def test_a_large_message_before_login_is_refused(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """Before login a header announcing more than the unauthenticated limit is FrameRefused."""
    writer, reader = pair
    announced = frame("RODS_API_REQ", info=110000).replace(
        b"<msgLen>0</msgLen>", f"<msgLen>{MAX_UNAUTHENTICATED_MSG + 1}</msgLen>".encode()
    )
    head = announced[4:]
    writer.sendall(struct.pack(">i", len(head)) + head)
    with pytest.raises(FrameRefused):
        read_header(reader, authenticated=False)


def test_eof_in_the_middle_of_a_body_is_a_disconnect(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """A peer that closes before the announced bytes arrive ends the connection (Disconnect)."""
    writer, reader = pair
    writer.sendall(b"abc")
    writer.shutdown(socket.SHUT_WR)
    with pytest.raises(Disconnect):
        recv_exact(reader, 10)


def test_the_buffered_reader_serves_frames_sent_together(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """Two frames arriving in one segment are read one after the other through the buffer."""
    writer, reader = pair
    writer.sendall(frame("RODS_API_REQ", b"one", info=1) + frame("RODS_API_REQ", b"two", info=2))
    buffered = BufferedSocket(reader)
    bodies = []
    for _ in range(2):
        header = read_header(buffered, authenticated=True)
        bodies.append((header.int_info, recv_exact(buffered, header.msg_len)))
    assert bodies == [(1, b"one"), (2, b"two")]

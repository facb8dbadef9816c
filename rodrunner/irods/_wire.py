"""Raw iRODS protocol messages, and every touch of python-irodsclient's private state.

The fast path of an upload sends what iCommands send, without the lookups python-irodsclient's
convenience calls add (docs/irods-compat.md): ``COLL_CREATE`` with ``recursiveOpr``, a
``DATA_OBJ_PUT`` carrying the bytes for a small file, a bare ``DATA_OBJ_OPEN`` /
``DATA_OBJ_WRITE`` / close for a large one, and GenQuery pages kept on one connection. Nothing
else in rodrunner builds a message from ``irods.message`` or ``irods.api_number``, sets an
attribute of a python-irodsclient connection, pool or session from outside, or calls one of
their underscore methods: when python-irodsclient changes, this module is the one to read.
"""

from __future__ import annotations

import contextlib
import io
import socket
from collections.abc import Callable, Iterator
from typing import Any

from irods import exception as irods_exc
from irods import keywords as kw
from irods.api_number import api_number
from irods.data_object import iRODSDataObjectFileRaw
from irods.message import (
    CollectionRequest,
    FileOpenRequest,
    GenQueryResponse,
    OpenedDataObjRequest,
    RErrorStack,
    StringStringMap,
    empty_gen_query_out,
    iRODSMessage,
)
from irods.query import Query
from irods.results import ResultSet
from irods.session import iRODSSession

from rodrunner.errors import IRODSError
from rodrunner.irods.errors import translate_errors

__all__ = [
    "O_CREAT",
    "O_RDONLY",
    "O_TRUNC",
    "O_WRONLY",
    "OneConnectionQuery",
    "close_raw",
    "close_socket",
    "close_sockets_of_destroyed_connections",
    "close_statement",
    "create_collection",
    "error_stack",
    "forget_configuration",
    "open_raw",
    "put_single",
    "query_page",
    "read_into",
    "send_with_bytes",
    "write_chunk",
]

SMALL_SEND = 256 * 1024  # requests up to this size are sent with one sendall (one copy)
O_WRONLY, O_CREAT, O_TRUNC, O_RDONLY = 1, 64, 512, 0
PUT_OPR = 1
GEN_QUERY_AN = api_number["GEN_QUERY_AN"]


def query_page(conn: Any, query: Query) -> ResultSet:
    """One GEN_QUERY round trip of ``query`` on ``conn`` (no rows: an empty result set)."""
    message = iRODSMessage("RODS_API_REQ", msg=query._message(), int_info=GEN_QUERY_AN)
    conn.send(message)
    try:
        return ResultSet(conn.recv().get_main_message(GenQueryResponse))
    except irods_exc.CAT_NO_ROWS_FOUND:
        return ResultSet(empty_gen_query_out(list(query.columns.keys())))


def close_statement(conn: Any, query: Query, continue_index: int) -> None:
    """Close statement ``continue_index`` on the connection that holds it (maxRows 0)."""
    if continue_index > 0 and getattr(conn, "socket", None) is not None:
        with contextlib.suppress(irods_exc.iRODSException):  # a dead line took it along
            query_page(conn, query.continue_index(continue_index).limit(0))


def create_collection(session: iRODSSession, path: str) -> None:
    """COLL_CREATE of ``path`` and its parents in one round trip (translated errors)."""
    message = iRODSMessage(
        "RODS_API_REQ",
        msg=CollectionRequest(
            collName=path, KeyValPair_PI=StringStringMap({kw.RECURSIVE_OPR__KW: ""})
        ),
        int_info=api_number["COLL_CREATE_AN"],
    )
    with translate_errors(path), session.pool.get_connection() as conn:
        conn.send(message)
        conn.recv()


def open_raw(
    session: iRODSSession, path: str, flags: int, size: int, options: dict[str, str]
) -> iRODSDataObjectFileRaw:
    """DATA_OBJ_OPEN without PRC's redirect probe and buffered seek: one round trip."""
    conn = session.pool.get_connection()
    try:
        message = iRODSMessage(
            "RODS_API_REQ",
            msg=FileOpenRequest(
                objPath=path,
                createMode=0o644,
                openFlags=flags,
                offset=0,
                dataSize=size,
                numThreads=0,
                oprType=PUT_OPR if flags & O_WRONLY else 0,
                KeyValPair_PI=StringStringMap(options),
            ),
            int_info=api_number["DATA_OBJ_OPEN_AN"],
        )
        conn.send(message)
        desc = conn.recv().int_info
    except irods_exc.iRODSException:
        conn.release()  # the server answered: the connection is fine
        raise
    except BaseException:
        discard_connection(conn)
        raise
    return iRODSDataObjectFileRaw(conn, desc, **options)


def put_single(session: iRODSSession, path: str, data: bytes, resource: str | None) -> None:
    """Create or replace ``path`` with ``data`` in one round trip, checksum registered.

    ``DATA_OBJ_PUT`` with ``dataIncluded`` is the single-buffer put iCommands use for small
    files (the server opens, writes, checksums and closes in one API call); ``resource`` is
    its ``destRescName`` when set.
    """
    options = {
        kw.DATA_INCLUDED_KW: "",
        kw.FORCE_FLAG_KW: "",
        kw.REG_CHKSUM_KW: "",
        kw.DATA_SIZE_KW: str(len(data)),
    }
    if resource:
        options[kw.DEST_RESC_NAME_KW] = resource
    body = FileOpenRequest(
        objPath=path,
        createMode=0o644,
        openFlags=O_WRONLY | O_CREAT | O_TRUNC,
        offset=0,
        dataSize=len(data),
        numThreads=0,
        oprType=PUT_OPR,
        KeyValPair_PI=StringStringMap(options),
    )
    with translate_errors(path), session.pool.get_connection() as conn:
        send_with_bytes(conn, api_number["DATA_OBJ_PUT_AN"], body, data)
        conn.recv()


def send_with_bytes(conn: Any, api: int, body: Any, data: bytes | memoryview) -> None:
    """Send one API request whose byte stream is ``data``, without copying ``data``.

    (python-irodsclient's ``send`` concatenates header, message and bytes into a new buffer.)
    A failed send destroys the connection, as python-irodsclient does.
    """
    main = body.pack()
    if isinstance(main, str):
        main = main.encode("utf-8")
    head = iRODSMessage.pack_header("RODS_API_REQ", len(main), 0, len(data), api) + main
    try:
        if not getattr(conn, "_rodrunner_nodelay", False):  # the last segment must not wait
            conn.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn._rodrunner_nodelay = True
        if len(data) <= SMALL_SEND:  # one segment: no Nagle wait between header and bytes
            conn.socket.sendall(head + data)
        else:
            conn.socket.sendall(head)
            conn.socket.sendall(data)
    except (OSError, AttributeError) as exc:  # AttributeError: a socket already closed
        conn.release(True)
        raise irods_exc.NetworkException(f"Unable to send message: {exc}") from None


def write_chunk(raw: iRODSDataObjectFileRaw, data: memoryview) -> None:
    """DATA_OBJ_WRITE of ``data`` on the open object ``raw``; raises if the server wrote less."""
    body = OpenedDataObjRequest(
        l1descInx=raw.desc,
        len=len(data),
        whence=0,
        oprType=0,
        offset=0,
        bytesWritten=0,
        KeyValPair_PI=StringStringMap(),
    )
    send_with_bytes(raw.conn, api_number["DATA_OBJ_WRITE_AN"], body, data)
    written = raw.conn.recv().int_info
    if written != len(data):
        raise irods_exc.SYS_COPY_LEN_ERR(f"the server wrote {written} of {len(data)} bytes")


def read_into(raw: iRODSDataObjectFileRaw, buf: bytearray) -> int:
    """DATA_OBJ_READ into ``buf`` from the open object ``raw``; the bytes read (0 at the end)."""
    return int(raw.readinto(buf) or 0)


def close_raw(raw: iRODSDataObjectFileRaw, path: str, *, quiet: bool) -> None:
    """Close an open data object; on failure discard its connection (and raise unless quiet)."""
    try:
        with translate_errors(path):
            raw.close()
    except IRODSError:
        discard_connection(raw.conn)
        io.RawIOBase.close(raw)  # mark closed so the finaliser does not try again
        if not quiet:
            raise


def close_socket(conn: Any) -> None:
    """Close a dead connection's socket and mark it disconnected (no goodbye on a dead line)."""
    sock = getattr(conn, "socket", None)
    conn._disconnected = True
    conn.socket = None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


def discard_connection(conn: Any) -> None:
    """Close a broken connection's socket and drop it from its pool."""
    close_socket(conn)
    with contextlib.suppress(Exception):
        conn.release(True)


def close_sockets_of_destroyed_connections(pool: Any) -> None:
    """Make ``pool`` close the socket of every connection it destroys, at once.

    python-irodsclient destroys a connection after a network error but leaves its socket open
    until the garbage collector finds it (and then fails to say goodbye on it).
    """
    release: Callable[..., None] = pool.release_connection

    def release_connection(conn: Any, destroy: bool = False) -> None:
        release(conn, destroy)
        if destroy:
            close_socket(conn)

    pool.release_connection = release_connection


def forget_configuration(session: iRODSSession) -> None:
    """Stop ``session.cleanup()`` from building a fresh pool (before a final cleanup)."""
    session.do_configure = {}


def error_stack() -> RErrorStack:
    """An empty error stack for a call that reports the server's RError through ``r_error``."""
    return RErrorStack()


class OneConnectionQuery(Query):  # type: ignore[misc]
    """A GenQuery whose pages, and the close of a statement it abandons, all go over one
    connection held for the whole query.

    A statement (``continueInx``) belongs to the server agent of the connection that opened
    it: python-irodsclient's own ``get_batches``/``all`` take a connection from the pool for
    each page, and a session whose pool grew (threads sharing it) sends a continuation to an
    agent that does not hold it; a real server's agent dies there (iRODS 4.3.5 and 5.0.2,
    segmentation fault in the catalog plugin) and a close sent there leaves the statement open.
    """

    def _clone(self) -> OneConnectionQuery:
        new_q = super()._clone()
        new_q.__class__ = OneConnectionQuery
        return new_q  # type: ignore[no-any-return]

    def get_batches(self) -> Iterator[ResultSet]:
        with self.sess.pool.get_connection() as conn:
            result = query_page(conn, self)
            try:
                yield result
                while result.continue_index > 0:
                    result = query_page(conn, self.continue_index(result.continue_index))
                    yield result
            except GeneratorExit:
                close_statement(conn, self, result.continue_index)
                raise

    def all(self) -> ResultSet:
        with self.sess.pool.get_connection() as conn:
            result = query_page(conn, self)
            close_statement(conn, self, result.continue_index)
            return result

    def one(self) -> Any:
        results = self.all()
        if not len(results):
            raise irods_exc.NoResultFound()
        if len(results) > 1:
            raise irods_exc.MultipleResultsFound()
        return results[0]

    def first(self) -> Any:
        results = self.limit(1).all()
        return results[0] if len(results) else None

"""The sandbox's socket server: framing, startup, negotiation/TLS, native auth and dispatch.

One thread per connection. A frame is a 4-byte big-endian length, a ``MsgHeader_PI`` and then
msg, error and bs parts; python-irodsclient always uses the XML protocol.

The handlers (``dataobjects.py``, ``colls.py``, ``genquery.py``, ``metadata.py``, ``admin.py``
and the others the package ``__init__`` imports) register themselves with
:func:`rodrunner.sandbox.dispatch.api` and see only the types of :mod:`rodrunner.sandbox.dispatch`
(``Request``, ``Reply``, ``Context``, ``Disconnect``); this module calls them.

Before authentication only the auth APIs are served; anything else gets SYS_NO_API_PRIV, as a
real server answers. An API nobody registered gets SYS_UNMATCHED_API_NUM with an RError_PI
naming the number; the connection stays usable.

Hostile clients (:mod:`rodrunner.sandbox.limits`): a frame is checked against its announced
lengths before its body is read (much less is accepted before login), bodies are read as they
arrive, a connection must log in within ``auth_timeout`` and may then idle ``idle_timeout``,
and connections are capped (a new unauthenticated one closes the oldest unauthenticated).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import secrets
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any

import structlog

from rodrunner.sandbox.catalog import Catalog
from rodrunner.sandbox.dispatch import (
    HANDLERS,
    Context,
    Disconnect,
    Handler,
    Reply,
    Request,
    Settings,
)
from rodrunner.sandbox.faults import Faults
from rodrunner.sandbox.limits import BODY_CHUNK, MAX_HEADER, frame_problem
from rodrunner.sandbox.protocol import (
    SandboxError,
    codes,
    error_body,
    json_buf,
    pack,
    parse,
)

log = structlog.get_logger()

RELEASE = "rods5.0.2"
API_VERSION = "d"
MAX_PASSWORD_LEN = 50
SOCKET_BUFFER = 4 * 1024 * 1024
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


def native_digest(challenge: bytes, password: str) -> bytes:
    """The native-auth response: md5(challenge ‖ password NUL-padded to 50), NUL → 0x01."""
    padded = password.encode().strip()[:MAX_PASSWORD_LEN].ljust(MAX_PASSWORD_LEN, b"\0")
    digest = hashlib.md5(challenge + padded, usedforsecurity=False).digest()
    return digest.replace(b"\0", b"\1")


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


class Server:
    """An iRODS-protocol server on one listening socket; ``start()``/``stop()``."""

    def __init__(self, settings: Settings, *, host: str = "127.0.0.1", port: int = 0) -> None:
        from rodrunner.sandbox.vault import Vault

        self.settings = settings
        settings.root.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(
            settings.root / "catalog.sqlite",
            zone=settings.zone,
            admin=settings.user,
            password=settings.password,
        )
        self.vault = Vault(settings.root / "vault", hash_scheme=settings.hash)
        for name in settings.resources:
            if not self.catalog.query("SELECT 1 FROM resources WHERE resc_name = ?", (name,)):
                self.catalog.add_resource(name, str(settings.root / "resources" / name))
        self.faults = Faults()
        self.faults._close_all = self.close_connections
        self.open_replicas: dict[str, Any] = {}
        self.replicas_lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None
        if settings.tls_cert is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(settings.tls_cert, settings.tls_key)
        self._listener = socket.create_server((host, port), reuse_port=False, backlog=128)
        self._listener.settimeout(0.2)
        self.host, self.port = self._listener.getsockname()[:2]
        self._stop = threading.Event()
        self._conns: dict[socket.socket, threading.Thread] = {}
        self._pending: dict[socket.socket, tuple[float, str]] = {}  # not logged in: since, peer
        self._conns_lock = threading.Lock()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="irods-sandbox-accept", daemon=True
        )

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start accepting connections (in a background thread)."""
        self._accept_thread.start()
        log.info("sandbox.started", host=self.host, port=self.port, zone=self.settings.zone)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, close every connection, wait for the threads, close the catalog."""
        self._stop.set()
        if self._accept_thread.is_alive():
            self._accept_thread.join(timeout)
        self._listener.close()
        self.close_connections()
        deadline = time.monotonic() + timeout
        with self._conns_lock:
            threads = list(self._conns.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.catalog.close()
        log.info("sandbox.stopped", host=self.host, port=self.port)

    def close_connections(self) -> None:
        """Close every live connection now (a "restart" as the clients see it)."""
        with self._conns_lock:
            socks = list(self._conns)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _admit(self, sock: socket.socket, peer: str) -> bool:
        """Whether a new connection may be served: refused past ``max_connections``; past
        ``max_unauthenticated`` the oldest connection not yet logged in is closed for it."""
        limits = self.settings.limits
        evicted: tuple[socket.socket, str] | None = None
        with self._conns_lock:
            if len(self._conns) >= limits.max_connections:
                log.warning("sandbox.connection_refused", peer=peer, connections=len(self._conns))
                return False
            if len(self._pending) >= limits.max_unauthenticated:
                oldest = min(self._pending, key=lambda s: self._pending[s][0])
                evicted = (oldest, self._pending.pop(oldest)[1])
            self._pending[sock] = (time.monotonic(), peer)
        if evicted is not None:
            log.warning("sandbox.connection_evicted", peer=evicted[1], reason="not logged in")
            with contextlib.suppress(OSError):
                evicted[0].shutdown(socket.SHUT_RDWR)
        return True

    def _close_late_logins(self) -> None:
        """Close the connections that did not log in within ``auth_timeout``."""
        deadline = time.monotonic() - self.settings.limits.auth_timeout
        with self._conns_lock:
            late = [(s, peer) for s, (since, peer) in self._pending.items() if since < deadline]
            for sock, _ in late:
                del self._pending[sock]
        for sock, peer in late:
            log.info("sandbox.auth_timeout", peer=peer, seconds=self.settings.limits.auth_timeout)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _logged_in(self, ctx: Context, raw_sock: socket.socket) -> None:
        """Once ``ctx`` has logged in: no login deadline, the idle timeout instead."""
        with self._conns_lock:
            self._pending.pop(raw_sock, None)
        ctx.sock.settimeout(self.settings.limits.idle_timeout)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            self._close_late_logins()
            try:
                sock, addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            if self.faults.unreachable:
                sock.close()
                continue
            peer = f"{addr[0]}:{addr[1]}"
            if not self._admit(sock, peer):
                sock.close()
                continue
            # Until login every read waits at most auth_timeout (the sweep above bounds the
            # whole login); after it, idle_timeout.
            sock.settimeout(self.settings.limits.auth_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with contextlib.suppress(OSError):  # big buffers: fewer wake-ups per 4 MiB chunk
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
            thread = threading.Thread(target=self._serve, args=(sock, peer), daemon=True)
            with self._conns_lock:
                self._conns[sock] = thread
            thread.start()

    # -- one connection ---------------------------------------------------------------------

    def _serve(self, raw_sock: socket.socket, peer: str) -> None:
        ctx = Context(self, raw_sock, peer)
        try:
            self._startup(ctx)
            ctx.reader = BufferedSocket(ctx.sock)
            while not self._stop.is_set():
                was_authenticated = ctx.authenticated
                if not self._one_request(ctx):
                    break
                if ctx.authenticated and not was_authenticated:
                    self._logged_in(ctx, raw_sock)
        except FrameRefused as exc:
            log.warning("sandbox.frame_refused", peer=peer, reason=str(exc))
        except TimeoutError:
            if ctx.authenticated:
                log.info("sandbox.idle_timeout", peer=peer)
            else:
                log.info("sandbox.auth_timeout", peer=peer)
        except (Disconnect, OSError, SandboxError, ValueError) as exc:
            log.debug("sandbox.connection_closed", peer=peer, reason=str(exc))
        finally:
            self._cleanup(ctx)
            with self._conns_lock:
                self._conns.pop(raw_sock, None)
                self._pending.pop(raw_sock, None)
            with contextlib.suppress(OSError):
                ctx.sock.close()

    def _cleanup(self, ctx: Context) -> None:
        from rodrunner.sandbox.dataobjects import abandon_descriptors

        try:
            abandon_descriptors(ctx)
        except Exception:  # the connection is gone either way; keep the server up
            log.exception("sandbox.cleanup_failed", peer=ctx.peer)

    def _send(self, ctx: Context, kind: str, msg: bytes = b"", info: int = 0) -> None:
        ctx.sock.sendall(frame(kind, msg, info=info))

    def _startup(self, ctx: Context) -> None:
        header = read_header(ctx.sock)
        body = recv_exact(ctx.sock, header.msg_len)
        recv_exact(ctx.sock, header.error_len + header.bs_len)
        if header.type != "RODS_CONNECT":
            raise Disconnect(f"expected RODS_CONNECT, got {header.type}")
        pack_ = parse(body)
        ctx.proxy_user = pack_.str("proxyUser")
        ctx.user = pack_.str("clientUser") or ctx.proxy_user
        ctx.zone = pack_.str("clientRcatZone") or self.settings.zone
        negotiate = "request_server_negotiation" in pack_.str("option")
        version = pack(
            "Version_PI",
            [
                ("status", 0),
                ("relVersion", RELEASE),
                ("apiVersion", API_VERSION),
                ("reconnPort", 0),
                ("reconnAddr", ""),
                ("cookie", 400),
            ],
        )
        if not negotiate:
            if self._tls is not None:
                message = (
                    "this iRODS sandbox requires TLS: set irods_client_server_negotiation="
                    "request_server_negotiation and irods_client_server_policy=CS_NEG_REQUIRE"
                )
                err = error_body(message, codes.SYS_NOT_ALLOWED)
                ctx.sock.sendall(frame("RODS_VERSION", error=err, info=codes.SYS_NOT_ALLOWED))
                raise Disconnect("client refused to negotiate TLS")
            self._send(ctx, "RODS_VERSION", version)
            return
        policy = "CS_NEG_REQUIRE" if self._tls is not None else "CS_NEG_REFUSE"
        self._send(ctx, "RODS_CS_NEG_T", pack("CS_NEG_PI", [("status", 1), ("result", policy)]))
        header = read_header(ctx.sock)
        answer = parse(recv_exact(ctx.sock, header.msg_len)).str("result")
        recv_exact(ctx.sock, header.error_len + header.bs_len)
        if "CS_NEG_FAILURE" in answer:
            raise Disconnect("client-server negotiation failed")
        self._send(ctx, "RODS_VERSION", version)
        if "CS_NEG_USE_SSL" in answer:
            if self._tls is None:
                raise Disconnect("client asked for TLS but the sandbox has no certificate")
            ctx.sock = self._tls.wrap_socket(ctx.sock, server_side=True)
            # header-only frame with the encryption settings: no body follows it; its lengths
            # are the key size, salt size and hash rounds
            read_header(ctx.sock, check=False)
            secret = read_header(ctx.sock)  # SHARED_SECRET: msgLen bytes of key
            recv_exact(ctx.sock, secret.msg_len + secret.error_len + secret.bs_len)

    def _one_request(self, ctx: Context) -> bool:
        reader = ctx.reader
        header = read_header(reader, authenticated=ctx.authenticated)
        if header.type == "RODS_DISCONNECT":
            if isinstance(ctx.sock, ssl.SSLSocket):
                with contextlib.suppress(OSError, ValueError):
                    ctx.sock = ctx.sock.unwrap()  # answer the client's close_notify
            return False
        if header.type != "RODS_API_REQ":
            raise Disconnect(f"unexpected frame type {header.type}")
        if self.faults.unreachable:
            raise Disconnect("fault: unreachable")
        raw = recv_exact(reader, header.msg_len)
        if header.error_len:
            recv_exact(reader, header.error_len)
        api_no = header.int_info
        drop = self.faults.drop_offset(api_no, header.bs_len)
        if drop is not None:
            self.faults.note("drop", str(api_no), str(drop))
        if drop is not None and api_no in (606, 676):  # the client's bytes stop mid-way
            recv_exact(reader, drop)
            raise Disconnect(f"fault: dropped write after {drop} bytes")
        bs: memoryview | None = None
        if header.bs_len:
            bs = recv_into_buffer(reader, ctx, header.bs_len)
        reply = self.dispatch(ctx, Request(api_no, raw, bs))
        if self.faults.delay_seconds:
            time.sleep(self.faults.delay_seconds)
        bs_out = reply.bs
        head = frame("RODS_API_REPLY", reply.msg, reply.error, len(bs_out), reply.int_info)
        if drop is not None and api_no == 675:
            ctx.sock.sendall(head)
            ctx.sock.sendall(memoryview(bs_out)[:drop])
            raise Disconnect(f"fault: dropped read after {drop} bytes")
        if len(bs_out) > 65536:
            ctx.sock.sendall(head)
            ctx.sock.sendall(bs_out)
        else:
            ctx.sock.sendall(head + bytes(bs_out))
        return True

    def dispatch(self, ctx: Context, req: Request) -> Reply:
        """Run the handler for ``req`` and turn refusals into error replies."""
        handler = HANDLERS.get(req.api)
        try:
            if not ctx.authenticated and req.api not in _AUTH_HANDLERS:
                raise SandboxError(codes.SYS_NO_API_PRIV)
            injected = self.faults.error_for(req.api)
            if injected is not None:
                self.faults.note("sys_error", str(req.api), str(injected))
                raise SandboxError(injected, f"fault injected by the sandbox for API {req.api}")
            if req.api in _AUTH_HANDLERS:
                return _AUTH_HANDLERS[req.api](ctx, req)
            if handler is None:
                raise SandboxError(
                    codes.SYS_UNMATCHED_API_NUM,
                    f"API number {req.api} is not implemented by the rodrunner iRODS sandbox",
                )
            return handler(ctx, req)
        except SandboxError as exc:
            error = error_body(exc.message, exc.code) if exc.message else b""
            return Reply(int_info=exc.code, msg=exc.msg, error=error)
        except Disconnect:  # the agent dies without a reply, as a real one does
            raise
        except Exception as exc:
            log.exception("sandbox.handler_failed", api=req.api, peer=ctx.peer)
            text = f"sandbox internal error in API {req.api}: {type(exc).__name__}"
            return Reply(int_info=-167000, error=error_body(text, -167000))  # SYS_LIBRARY_ERROR


# -- authentication -------------------------------------------------------------------------


def _check_digest(ctx: Context, user: str, zone: str, response: bytes) -> None:
    row = ctx.catalog.user(user, zone or ctx.server.settings.zone)
    if row is None:
        raise SandboxError(codes.CAT_INVALID_USER, f"unknown user {user}#{zone}")
    expected = native_digest(ctx.challenge, row["password"] or "")
    if not ctx.challenge or not hmac.compare_digest(expected, response):
        log.info("sandbox.auth_failed", user=user, peer=ctx.peer)
        ctx.server.faults.note("auth_failed", user)
        raise SandboxError(codes.CAT_INVALID_AUTHENTICATION)
    ctx.user = user
    ctx.zone = zone or ctx.server.settings.zone
    ctx.authenticated = True
    ctx.client_signature = ctx.challenge[:16].hex()
    ctx.challenge = b""


def _authentication(ctx: Context, req: Request) -> Reply:
    """AUTHENTICATION_APN (110000): the 4.3+/5.x JSON flow, native scheme only."""
    body = req.json
    if not isinstance(body, dict):
        raise SandboxError(codes.SYS_API_INPUT_ERR, "authentication request is not a JSON object")
    if body.get("scheme") != "native":
        raise SandboxError(
            codes.SYS_NOT_SUPPORTED,
            f"the sandbox only offers native authentication, not {body.get('scheme')!r}",
        )
    operation = body.get("next_operation")
    if operation == "auth_agent_auth_request":
        ctx.challenge = secrets.token_hex(32).encode()
        answer = dict(body, request_result=ctx.challenge.decode())
        return Reply(msg=json_buf(answer))
    if operation == "auth_agent_auth_response":
        try:
            response = base64.b64decode(str(body.get("digest", "")))
        except ValueError as exc:
            raise SandboxError(codes.CAT_INVALID_AUTHENTICATION) from exc
        _check_digest(ctx, str(body.get("user_name", "")), str(body.get("zone_name", "")), response)
        return Reply(msg=json_buf(body))
    raise SandboxError(codes.SYS_API_INPUT_ERR, f"unknown auth operation {operation!r}")


def _auth_request(ctx: Context, req: Request) -> Reply:
    """AUTH_REQUEST_AN (703): the legacy challenge."""
    ctx.challenge = secrets.token_hex(32).encode()
    encoded = base64.b64encode(ctx.challenge).decode()
    return Reply(msg=pack("authRequestOut_PI", [("challenge", encoded)]))


def _auth_response(ctx: Context, req: Request) -> Reply:
    """AUTH_RESPONSE_AN (704): the legacy response."""
    node = req.node
    user, _, zone = node.str("username").partition("#")
    try:
        response = base64.b64decode(node.str("response"))
    except ValueError as exc:
        raise SandboxError(codes.CAT_INVALID_AUTHENTICATION) from exc
    _check_digest(ctx, user or ctx.proxy_user, zone or ctx.zone, response)
    return Reply()


_AUTH_HANDLERS: dict[int, Handler] = {
    110000: _authentication,
    703: _auth_request,
    704: _auth_response,
}

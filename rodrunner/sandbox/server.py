"""The sandbox's socket server: connections, their limits, and the dispatch of API requests.

One thread per connection: the startup (:mod:`rodrunner.sandbox.handshake`), then one frame
after another (:mod:`rodrunner.sandbox.framing`), each answered by its handler.

The handlers (``dataobjects.py``, ``colls.py``, ``genquery/``, ``metadata.py``, ``admin.py``
and the others the package ``__init__`` imports) register themselves with
:func:`rodrunner.sandbox.dispatch.api` and see only the types of :mod:`rodrunner.sandbox.dispatch`
(``Request``, ``Reply``, ``Context``, ``Disconnect``); this module calls them.

Before authentication only the auth APIs (:mod:`rodrunner.sandbox.auth`) are served; anything
else gets SYS_NO_API_PRIV, as a real server answers. An API nobody registered gets
SYS_UNMATCHED_API_NUM with an RError_PI naming the number; the connection stays usable.

Hostile clients (:mod:`rodrunner.sandbox.limits`): a frame is checked against its announced
lengths before its body is read (much less is accepted before login), bodies are read as they
arrive, a connection must log in within ``auth_timeout`` and may then idle ``idle_timeout``,
and connections are capped (a new unauthenticated one closes the oldest unauthenticated).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from typing import Any

import structlog

from rodrunner.sandbox.auth import AUTH_HANDLERS
from rodrunner.sandbox.catalog import Catalog
from rodrunner.sandbox.descriptors import abandon_descriptors
from rodrunner.sandbox.dispatch import HANDLERS, Context, Disconnect, Reply, Request, Settings
from rodrunner.sandbox.faults import Faults
from rodrunner.sandbox.framing import (
    BufferedSocket,
    FrameRefused,
    frame,
    read_header,
    recv_exact,
    recv_into_buffer,
)
from rodrunner.sandbox.handshake import startup
from rodrunner.sandbox.protocol import SandboxError, codes, error_body
from rodrunner.sandbox.vault import Vault

log = structlog.get_logger()

SOCKET_BUFFER = 4 * 1024 * 1024


class Server:
    """An iRODS-protocol server on one listening socket; ``start()``/``stop()``."""

    def __init__(self, settings: Settings, *, host: str = "127.0.0.1", port: int = 0) -> None:
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
            startup(ctx, self._tls, self.settings.zone)
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
        try:
            abandon_descriptors(ctx)
        except Exception:  # the connection is gone either way; keep the server up
            log.exception("sandbox.cleanup_failed", peer=ctx.peer)

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
            if not ctx.authenticated and req.api not in AUTH_HANDLERS:
                raise SandboxError(codes.SYS_NO_API_PRIV)
            injected = self.faults.error_for(req.api)
            if injected is not None:
                self.faults.note("sys_error", str(req.api), str(injected))
                raise SandboxError(injected, f"fault injected by the sandbox for API {req.api}")
            if req.api in AUTH_HANDLERS:
                return AUTH_HANDLERS[req.api](ctx, req)
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

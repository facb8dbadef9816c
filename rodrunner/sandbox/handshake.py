"""The start of a sandbox connection, before authentication: RODS_CONNECT, the optional
client-server negotiation and TLS, as an iRODS 5.0.2 server answers them.

A client that asks for negotiation (``request_server_negotiation``) is told the sandbox's
policy: ``CS_NEG_REQUIRE`` with a certificate, else ``CS_NEG_REFUSE``. A sandbox with a
certificate refuses a client that does not negotiate, with SYS_NOT_ALLOWED naming the client
settings to change. After ``CS_NEG_USE_SSL`` the socket is wrapped and the encryption
settings and the shared secret frames are read and discarded.
"""

from __future__ import annotations

import ssl

from rodrunner.sandbox.dispatch import Context, Disconnect
from rodrunner.sandbox.framing import frame, read_header, recv_exact
from rodrunner.sandbox.protocol import codes, error_body, pack, parse

RELEASE = "rods5.0.2"
API_VERSION = "d"


def startup(ctx: Context, tls: ssl.SSLContext | None, zone: str) -> None:
    """Run the startup of ``ctx``'s connection: who connects (``ctx.proxy_user``,
    ``ctx.user``, ``ctx.zone``, defaulting to ``zone``), the version reply, and with ``tls``
    the switch to TLS; :class:`Disconnect` when the client cannot be served."""
    header = read_header(ctx.sock)
    body = recv_exact(ctx.sock, header.msg_len)
    recv_exact(ctx.sock, header.error_len + header.bs_len)
    if header.type != "RODS_CONNECT":
        raise Disconnect(f"expected RODS_CONNECT, got {header.type}")
    pack_ = parse(body)
    ctx.proxy_user = pack_.str("proxyUser")
    ctx.user = pack_.str("clientUser") or ctx.proxy_user
    ctx.zone = pack_.str("clientRcatZone") or zone
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
        if tls is not None:
            message = (
                "this iRODS sandbox requires TLS: set irods_client_server_negotiation="
                "request_server_negotiation and irods_client_server_policy=CS_NEG_REQUIRE"
            )
            err = error_body(message, codes.SYS_NOT_ALLOWED)
            ctx.sock.sendall(frame("RODS_VERSION", error=err, info=codes.SYS_NOT_ALLOWED))
            raise Disconnect("client refused to negotiate TLS")
        _send(ctx, "RODS_VERSION", version)
        return
    policy = "CS_NEG_REQUIRE" if tls is not None else "CS_NEG_REFUSE"
    _send(ctx, "RODS_CS_NEG_T", pack("CS_NEG_PI", [("status", 1), ("result", policy)]))
    header = read_header(ctx.sock)
    answer = parse(recv_exact(ctx.sock, header.msg_len)).str("result")
    recv_exact(ctx.sock, header.error_len + header.bs_len)
    if "CS_NEG_FAILURE" in answer:
        raise Disconnect("client-server negotiation failed")
    _send(ctx, "RODS_VERSION", version)
    if "CS_NEG_USE_SSL" in answer:
        if tls is None:
            raise Disconnect("client asked for TLS but the sandbox has no certificate")
        ctx.sock = tls.wrap_socket(ctx.sock, server_side=True)
        # header-only frame with the encryption settings: no body follows it; its lengths
        # are the key size, salt size and hash rounds
        read_header(ctx.sock, check=False)
        secret = read_header(ctx.sock)  # SHARED_SECRET: msgLen bytes of key
        recv_exact(ctx.sock, secret.msg_len + secret.error_len + secret.bs_len)


def _send(ctx: Context, kind: str, msg: bytes = b"") -> None:
    ctx.sock.sendall(frame(kind, msg))

"""Native authentication in the sandbox: the only APIs served before a connection logs in.

- ``AUTHENTICATION_APN`` 110000: the JSON flow of iRODS 4.3 and 5.x, native scheme only
  (``auth_agent_auth_request`` gives a challenge, ``auth_agent_auth_response`` checks it).
- ``AUTH_REQUEST_AN`` 703 / ``AUTH_RESPONSE_AN`` 704: the legacy challenge and response.

The response is :func:`native_digest` of the challenge and the catalog's password; a wrong
one is CAT_INVALID_AUTHENTICATION. These handlers are not registered with
:func:`rodrunner.sandbox.dispatch.api`: the server looks them up in :data:`AUTH_HANDLERS`
first, and refuses every other API until one of them has logged the connection in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import structlog

from rodrunner.sandbox.dispatch import Context, Handler, Reply, Request
from rodrunner.sandbox.protocol import SandboxError, codes, json_buf, pack

log = structlog.get_logger()

MAX_PASSWORD_LEN = 50


def native_digest(challenge: bytes, password: str) -> bytes:
    """The native-auth response: md5(challenge ‖ password NUL-padded to 50), NUL → 0x01."""
    padded = password.encode().strip()[:MAX_PASSWORD_LEN].ljust(MAX_PASSWORD_LEN, b"\0")
    digest = hashlib.md5(challenge + padded, usedforsecurity=False).digest()
    return digest.replace(b"\0", b"\1")


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


AUTH_HANDLERS: dict[int, Handler] = {
    110000: _authentication,
    703: _auth_request,
    704: _auth_response,
}

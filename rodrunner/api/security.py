"""Bearer-token authentication (``api.token``) and the loopback rule for binding.

Every route but ``/health`` and the docs needs the token. :func:`token_problem` is the one
check: the request guard (:mod:`rodrunner.api.guard`) applies it before any body is read, and
:func:`require_token` (which also declares the scheme in the OpenAPI schema) again per route.
Without a configured token the API only binds to a loopback address (:func:`check_bind`), and
then every route is open.
"""

from __future__ import annotations

import ipaddress
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from rodrunner.errors import ConfigError

__all__ = ["check_bind", "is_loopback", "require_token", "token_problem"]

_bearer = HTTPBearer(
    auto_error=False,
    description="The value of api.token (or RODRUNNER_API__TOKEN) as `Authorization: Bearer …`.",
)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only listens on this machine."""
    if host.lower() in ("localhost", "localhost.", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_bind(host: str, token: SecretStr | None) -> None:
    """Refuse (:class:`ConfigError`) to serve on a non-loopback ``host`` without a token."""
    has_token = token is not None and token.get_secret_value() != ""
    if not has_token and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve the API on {host!r} without a token: anyone who can reach it "
            "could start ingests; set api.token (or RODRUNNER_API__TOKEN) to a long random "
            "string, or bind to 127.0.0.1",
            key="api.token",
        )


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def token_problem(authorization: str | None, token: SecretStr | None) -> str | None:
    """None when the ``Authorization`` header carries ``token`` (or none is configured), else
    what is wrong with it (for a 401)."""
    if token is None or token.get_secret_value() == "":
        return None
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return "missing bearer token; send 'Authorization: Bearer <api.token>'"
    expected = token.get_secret_value().encode("utf-8")
    if not secrets.compare_digest(given.strip().encode("utf-8", "surrogateescape"), expected):
        return "wrong bearer token; send the value of api.token"
    return None


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Pass when the bearer token equals ``api.token`` (or when none is configured)."""
    del credentials  # declares the scheme in the schema; token_problem reads the header
    token: SecretStr | None = request.app.state.services.config.api.token
    problem = token_problem(request.headers.get("authorization"), token)
    if problem is not None:
        raise _unauthorized(problem)

"""The request guard: a pure ASGI middleware in front of every route.

Before the application reads a byte of a request body it

1. checks the bearer token (:func:`~rodrunner.api.security.token_problem`) unless the path is
   public (``/health``, the schema and the docs): 401, the body never read;
2. refuses a ``Content-Length`` above ``api.max_body_bytes``: 413, the body never read;
3. counts the bytes of a body without a length (chunked) as they are received and answers 413
   as soon as they pass the limit, whatever the application was doing with them.

Everything is answered from the headers or from bounded chunks: a hostile client cannot make
the API hold more than ``api.max_body_bytes`` of its body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog
from pydantic import SecretStr

from rodrunner.api.security import token_problem

__all__ = ["RequestGuard"]

log = structlog.get_logger()

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _BodyTooLarge(Exception):
    """Raised into the application when a streamed body passes the limit."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"connection", b"close"),
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class RequestGuard:
    """Token first, then a bounded body (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: SecretStr | None,
        max_body_bytes: int,
        public_paths: frozenset[str],
        public_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.public_paths = public_paths
        self.public_prefixes = public_prefixes

    def _is_public(self, path: str) -> bool:
        return path in self.public_paths or path.startswith(self.public_prefixes)

    def _too_large(self, size: str) -> str:
        return (
            f"request body ({size}) is over the limit of {self.max_body_bytes} bytes "
            "(api.max_body_bytes); send less, or raise the limit"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if not self._is_public(path):
            problem = token_problem(_header(scope, b"authorization"), self.token)
            if problem is not None:
                log.warning("api.unauthorized", method=scope.get("method"), path=path)
                await _answer(send, 401, problem, {"www-authenticate": "Bearer"})
                return
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                await _answer(send, 400, f"Content-Length {length!r} is not a number", {})
                return
            if int(length) > self.max_body_bytes:
                log.warning("api.body_too_large", path=path, content_length=int(length))
                await _answer(send, 413, self._too_large(f"{int(length)} bytes"), {})
                return
        await self._bounded(scope, receive, send)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        exceeded = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # whatever the application answers to the cut body: ours instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded:
            log.warning("api.body_too_large", path=scope.get("path", ""), received=received)
            if not started:
                await _answer(send, 413, self._too_large("sent without Content-Length"), {})

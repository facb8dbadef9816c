"""What a sandbox connection may announce, and for how long it may stay, before and after it
logs in. Pure: the framing (:mod:`rodrunner.sandbox.framing`) and the server apply these.

The sizes follow what a real iRODS server refuses: a ``MsgHeader_PI`` longer than
``MAX_NAME_LEN`` (1088 bytes) and a startup pack or negotiation message longer than twice its
C struct are ``SYS_HEADER_READ_LEN_ERR``; the server reads the startup pack with a timeout and
caps its agents (``maximum_connections``). Before login the sandbox also refuses a byte
stream and any message over :data:`MAX_UNAUTHENTICATED_MSG` (the authentication requests are
well under 1 KiB), so a client that has not logged in can make it hold at most a few KiB.
After login bodies are still read as they arrive, :data:`BODY_CHUNK` at a time, never
allocated from the announced length alone.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BODY_CHUNK",
    "MAX_BS",
    "MAX_HEADER",
    "MAX_MSG",
    "MAX_UNAUTHENTICATED_MSG",
    "Limits",
    "frame_problem",
]

MAX_HEADER = 1024 + 64
"""MAX_NAME_LEN: the longest MsgHeader_PI a server reads."""
MAX_STARTUP_MSG = 2 * (3 * 4 + 6 * 64 + 256)
"""Twice sizeof(startupPack_t): the longest RODS_CONNECT message a server reads."""
MAX_NEGOTIATION_MSG = 2 * (4 + 1024 + 64)
"""Twice sizeof(cs_neg_t): the longest RODS_CS_NEG_T message a server reads."""
MAX_UNAUTHENTICATED_MSG = 64 * 1024
"""The longest message or error part accepted before login."""
MAX_MSG = 1 << 26
"""The longest message or error part accepted after login."""
MAX_BS = 1 << 28
"""The longest byte stream accepted after login."""
BODY_CHUNK = 1 << 20
"""Bodies are read (and their buffers grown) this much at a time."""


@dataclass(frozen=True)
class Limits:
    """Time and connection limits of one sandbox server."""

    auth_timeout: float = 30.0
    """Seconds from connecting to being logged in; then the connection is closed."""
    idle_timeout: float = 3600.0
    """Seconds a logged-in connection may stay silent."""
    max_connections: int = 256
    """Connections at once; more are closed at once."""
    max_unauthenticated: int = 32
    """Connections not yet logged in at once; a new one closes the oldest of them."""

    def __post_init__(self) -> None:
        if self.auth_timeout <= 0 or self.idle_timeout <= 0:
            raise ValueError("sandbox timeouts must be positive")
        if not 1 <= self.max_unauthenticated <= self.max_connections:
            raise ValueError("need 1 <= max_unauthenticated <= max_connections")


def frame_problem(
    kind: str, msg_len: int, error_len: int, bs_len: int, *, authenticated: bool
) -> str | None:
    """Why a frame with these announced lengths is refused before its body is read, or None."""
    if min(msg_len, error_len, bs_len) < 0:
        return "negative length"
    if kind == "RODS_CONNECT" and msg_len > MAX_STARTUP_MSG:
        return f"startup pack of {msg_len} bytes (at most {MAX_STARTUP_MSG})"
    if kind == "RODS_CS_NEG_T" and msg_len > MAX_NEGOTIATION_MSG:
        return f"negotiation message of {msg_len} bytes (at most {MAX_NEGOTIATION_MSG})"
    if not authenticated:
        if bs_len:
            return f"byte stream of {bs_len} bytes before login"
        if max(msg_len, error_len) > MAX_UNAUTHENTICATED_MSG:
            return (
                f"message of {max(msg_len, error_len)} bytes before login "
                f"(at most {MAX_UNAUTHENTICATED_MSG})"
            )
        return None
    if max(msg_len, error_len) > MAX_MSG:
        return f"message of {max(msg_len, error_len)} bytes (at most {MAX_MSG})"
    if bs_len > MAX_BS:
        return f"byte stream of {bs_len} bytes (at most {MAX_BS})"
    return None

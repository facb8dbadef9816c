"""Fault injection for the reliability tests: off unless asked, settable while the server runs.

``Faults`` holds the knobs; the server asks it, per request, whether to misbehave. Every
decision draws from one seeded RNG under one lock, so a seeded test is repeatable as far as the
order of requests is.

- ``drop_probability``: on a data transfer (read 675 / write 676 / small put 606) close the
  connection at a random byte offset of the transfer.
- ``sys_error_probability``: answer a request (after authentication) with ``error_code``, a
  SYS_* error python-irodsclient raises as a plain iRODS exception (default SYS_RESC_IS_DOWN).
- ``fail_next(api, code, count)``: answer the next ``count`` calls of one API with ``code``.
- ``delay_seconds``: wait before every reply.
- ``unreachable``: while set, new connections are closed at once and live ones at their next
  request.
- ``restart()``: close every live connection now (what clients see when a server restarts).

It also keeps a small audit trail the reliability tests check from the server side:
``audit()`` returns ``(kind, *details)`` tuples noted by the handlers, e.g.
``("avu", path, "add", attribute, value)`` per applied atomic AVU operation and
``("auth_failed", user)`` per refused login.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from rodrunner.sandbox.protocol import codes

DATA_APIS = frozenset({606, 675, 676})  # put with the bytes included, read, write
AUTH_APIS = frozenset({110000, 703, 704})


@dataclass
class Faults:
    """The sandbox's fault knobs (all off by default)."""

    drop_probability: float = 0.0
    sys_error_probability: float = 0.0
    error_code: int = codes.SYS_RESC_IS_DOWN
    delay_seconds: float = 0.0
    unreachable: bool = False
    seed: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _fail_next: dict[int, list[tuple[int, int]]] = field(default_factory=dict, repr=False)
    _close_all: Callable[[], None] | None = field(default=None, repr=False)
    _audit: list[tuple[str, ...]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    def reseed(self, seed: int | None) -> None:
        """Restart the RNG from ``seed``."""
        with self._lock:
            self.seed = seed
            self._rng.seed(seed)

    def reset(self) -> None:
        """Switch every fault off."""
        with self._lock:
            self.drop_probability = 0.0
            self.sys_error_probability = 0.0
            self.delay_seconds = 0.0
            self.unreachable = False
            self._fail_next.clear()

    def restart(self) -> None:
        """Close every live connection of the server now."""
        if self._close_all is not None:
            self._close_all()

    def note(self, kind: str, *details: str) -> None:
        """Add ``(kind, *details)`` to the audit trail."""
        with self._lock:
            self._audit.append((kind, *details))

    def audit(self, kind: str | None = None) -> list[tuple[str, ...]]:
        """The audit trail so far (only entries of ``kind`` when given)."""
        with self._lock:
            return [e for e in self._audit if kind is None or e[0] == kind]

    def fail_next(self, api: int, code: int, count: int = 1) -> None:
        """Answer the next ``count`` calls of API ``api`` with error ``code``."""
        with self._lock:
            self._fail_next.setdefault(api, []).append((code, count))

    def error_for(self, api: int) -> int | None:
        """The error code to answer this request with, or None to serve it."""
        if api in AUTH_APIS:
            return None
        with self._lock:
            queue = self._fail_next.get(api)
            if queue:
                code, count = queue[0]
                if count <= 1:
                    queue.pop(0)
                else:
                    queue[0] = (code, count - 1)
                return code
            if self.sys_error_probability and self._rng.random() < self.sys_error_probability:
                return self.error_code
        return None

    def drop_offset(self, api: int, length: int) -> int | None:
        """For a data transfer of ``length`` bytes: the byte offset to drop at, or None."""
        if api not in DATA_APIS or not self.drop_probability:
            return None
        with self._lock:
            if self._rng.random() >= self.drop_probability:
                return None
            return self._rng.randrange(0, max(length, 1))

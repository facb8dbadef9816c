"""The session pool: python-irodsclient sessions for one configuration, one per thread at work.

One main session answers catalog queries and single calls; each transfer thread takes a
session of its own (its own connection) from an idle pool and gives it back. Every session
keeps each GenQuery on one connection (:class:`rodrunner.irods._wire.OneConnectionQuery`)
and closes the socket of a connection it destroys.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from irods.session import iRODSSession

from rodrunner.irods import _wire
from rodrunner.irods._wire import OneConnectionQuery
from rodrunner.irods.errors import translate_errors

__all__ = ["SessionPool"]

log = structlog.get_logger()


class _Session(iRODSSession):  # type: ignore[misc]
    """A python-irodsclient session whose queries stay on one connection, and whose pool
    closes the socket of a connection it destroys (see :mod:`rodrunner.irods._wire`)."""

    def query(self, *args: Any, **kwargs: Any) -> OneConnectionQuery:
        return OneConnectionQuery(self, *args, **kwargs)

    def configure(self, **kwargs: Any) -> Any:
        account = super().configure(**kwargs)
        _wire.close_sockets_of_destroyed_connections(self.pool)
        return account


class SessionPool:
    """Sessions logged in with ``settings`` (python-irodsclient keyword arguments), puts
    aimed at ``resource`` when set. Thread-safe; :meth:`close` is idempotent."""

    def __init__(self, settings: dict[str, Any], resource: str | None) -> None:
        self._settings = settings
        self._resource = resource
        self._lock = threading.Lock()
        self._idle: queue.LifoQueue[iRODSSession] = queue.LifoQueue()
        self._all: list[iRODSSession] = []
        self._closed = False
        self.main = self._new_session()

    def _new_session(self) -> iRODSSession:
        with translate_errors():
            session = _Session(**self._settings)
            if self._resource:
                session.default_resource = self._resource
        with self._lock:
            self._all.append(session)
        return session

    @contextmanager
    def worker(self) -> Iterator[iRODSSession]:
        """A session (own connection) for one thread at a time, returned to the idle pool."""
        try:
            session = self._idle.get_nowait()
        except queue.Empty:
            session = self._new_session()
        try:
            yield session
        finally:
            self._idle.put(session)

    def close(self) -> None:
        """Close every connection of every session. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            sessions, self._all = self._all, []
        for session in sessions:
            _wire.forget_configuration(session)  # cleanup() must not build a fresh pool
            try:
                session.cleanup()
            except Exception as exc:  # closing is best effort
                log.debug("irods.close_failed", error=str(exc))

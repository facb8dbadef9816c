"""The retry policy for iRODS operations, defined once.

Jittered exponential backoff, bounded in attempts *and* elapsed time, only on
:class:`~rodrunner.errors.TransientIRODSError` (see :func:`rodrunner.errors.is_transient`);
permanent errors (a wrong password, no permission) are raised at once. Each retry logs one
``irods.retry`` event. Tests switch retries off with :func:`set_retries_enabled` (stamina's
pattern) or use :func:`retries_disabled` as a context manager.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from rodrunner.errors import TransientIRODSError, is_transient

__all__ = [
    "RetryPolicy",
    "call_with_retries",
    "get_policy",
    "retries_disabled",
    "set_policy",
    "set_retries_enabled",
]

T = TypeVar("T")

log = structlog.get_logger()


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient iRODS failure."""

    attempts: int = 5
    max_seconds: float = 120.0
    initial_wait: float = 0.5
    max_wait: float = 15.0


_lock = threading.Lock()
_enabled = True
_policy = RetryPolicy()


def set_retries_enabled(enabled: bool) -> None:
    """Switch retries on or off process-wide (off: every operation is tried exactly once)."""
    global _enabled
    with _lock:
        _enabled = enabled


def set_policy(policy: RetryPolicy) -> None:
    """Replace the process-wide policy (e.g. shorter waits in tests that exercise retries)."""
    global _policy
    with _lock:
        _policy = policy


def get_policy() -> RetryPolicy:
    """The policy in force."""
    return _policy


@contextmanager
def retries_disabled() -> Iterator[None]:
    """Within the block every operation is tried once."""
    previous = _enabled
    set_retries_enabled(False)
    try:
        yield
    finally:
        set_retries_enabled(previous)


def _log_retry(operation: str, path: str | None) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(
            "irods.retry",
            operation=operation,
            path=path,
            attempt=state.attempt_number,
            wait_seconds=round(wait, 3),
            error=str(exc),
            error_name=getattr(exc, "name", None),
        )

    return before_sleep


def call_with_retries(
    fn: Callable[[], T],
    *,
    operation: str,
    path: str | None = None,
    on_retry: Callable[[], None] | None = None,
) -> T:
    """Call ``fn`` and retry it under the policy while it raises a transient iRODS error.

    ``on_retry`` runs before each new attempt (e.g. to drop a broken connection).
    """
    policy = _policy
    if not _enabled or policy.attempts <= 1:
        return fn()
    notify = _log_retry(operation, path)

    def before_sleep(state: RetryCallState) -> None:
        notify(state)
        if on_retry is not None:
            on_retry()

    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.max_seconds),
        wait=wait_random_exponential(multiplier=policy.initial_wait, max=policy.max_wait),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(fn)
    except TransientIRODSError as exc:
        attempts = int(retrying.statistics.get("attempt_number", 1))
        if attempts <= 1:
            raise
        # The retries are spent: say so, so that a final report never promises another try.
        raise type(exc)(
            f"{exc}; gave up after {attempts} attempts",
            path=exc.path,
            code=exc.code,
            name=exc.name,
        ) from exc

"""Every call into Prefect's client: one error translation, one retry policy, health.

:func:`translated` is the one place Prefect's and httpx's exceptions become rodrunner errors:
``ObjectNotFound`` → :class:`NotInPrefectError`; an overloaded or unreachable API (5xx, 408,
429, transport errors, time-outs) → :class:`PrefectUnavailableError`, the only kind
:func:`retrying` tries again; anything else → :class:`PrefectRefusedError`.

:func:`retrying` is the one retry policy for Prefect: the daemon's deployment submissions
(:data:`RETRY_MAX_SECONDS`), the API's deployment starts (:data:`API_RETRY_MAX_SECONDS`: a
person waits for the answer) and :func:`warm_up` go through it. A request that could make a
second flow run when tried again (creating an embedded flow run, which has no idempotency key)
is not retried.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from rodrunner.errors import (
    NotInPrefectError,
    PrefectRefusedError,
    PrefectUnavailableError,
    WorkflowError,
)

__all__ = [
    "api_url",
    "describe",
    "prefect_problem",
    "read_flow_run",
    "retrying",
    "start_deployment",
    "translate",
    "translated",
    "warm_up",
]

log = structlog.get_logger()

API_RETRY_MAX_SECONDS = 5.0
"""Seconds after which a request the API makes while a person waits for its answer is not
tried again (:data:`RETRY_MAX_SECONDS` for the daemon's)."""
RETRY_MAX_WAIT = 10.0
"""The longest pause between two tries."""
RETRY_ATTEMPTS = 4
"""Calls a Prefect request gets at most (the first one included)."""
RETRY_MAX_SECONDS = 30.0
"""Seconds after which a Prefect request is not tried again."""


def api_url() -> str:
    """The Prefect API this process talks to, as operators read it in a health answer."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or "ephemeral server"


def describe(exc: BaseException, limit: int = 2000) -> str:
    """One line for ``exc``: its text (or type name), cut at ``limit`` characters."""
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < limit else text[:limit] + "..."


def translate(exc: BaseException, kind: str, name: object, fix: str) -> WorkflowError:
    """The rodrunner error for ``exc``, raised by Prefect while reaching the ``kind``
    (``deployment``, ``flow run``) called ``name``; ``fix`` says what to do when Prefect does
    not have it."""
    import httpx
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    what = f"{kind} {name!r}" if isinstance(name, str) else f"{kind} {name}"
    if isinstance(exc, WorkflowError):
        return exc
    if isinstance(exc, ObjectNotFound):
        return NotInPrefectError(f"Prefect has no {what}; {fix}", missing=kind)
    if isinstance(exc, PrefectHTTPStatusError):
        status = exc.response.status_code
        if status >= 500 or status in (408, 429):
            return PrefectUnavailableError(
                f"Prefect answered {status} for {what}: {describe(exc, 500)}; it may pass"
            )
        return PrefectRefusedError(f"Prefect refused {what} ({status}): {describe(exc, 500)}")
    if isinstance(exc, httpx.TransportError | OSError | TimeoutError | RuntimeError):
        return PrefectUnavailableError(
            f"Prefect could not be reached for {what} ({type(exc).__name__}: "
            f"{describe(exc, 500)}); check that the Prefect API (PREFECT_API_URL) is up"
        )
    return PrefectRefusedError(
        f"Prefect could not handle {what} ({type(exc).__name__}: {describe(exc, 500)})"
    )


@contextlib.contextmanager
def translated(kind: str, name: object, fix: str = "check the name or id") -> Iterator[None]:
    """Raise what Prefect raises inside as :func:`translate` says."""
    try:
        yield
    except Exception as exc:
        raise translate(exc, kind, name, fix) from exc


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning(
        "submit.retrying",
        attempt=state.attempt_number,
        error=str(exc),
        wait=round(state.upcoming_sleep, 2),
    )


def retrying(attempts: int = RETRY_ATTEMPTS, max_seconds: float = RETRY_MAX_SECONDS) -> Retrying:
    """The retry policy for Prefect requests: at most ``attempts`` tries, no pause that would
    end past ``max_seconds`` after the first, jittered exponential pauses, only on
    :class:`PrefectUnavailableError`, one ``submit.retrying`` event per retry; the last error
    is raised as it is."""
    return Retrying(
        stop=stop_after_attempt(attempts) | stop_before_delay(max_seconds),
        wait=wait_random_exponential(multiplier=0.5, max=min(RETRY_MAX_WAIT, max_seconds)),
        retry=retry_if_exception_type(PrefectUnavailableError),
        before_sleep=_log_retry,
        reraise=True,
    )


def start_deployment(
    deployment: str,
    parameters: dict[str, Any],
    *,
    tags: Sequence[str],
    idempotency_key: str | None = None,
) -> str:
    """Create a flow run of ``deployment`` and return its id at once (``timeout=0``); the same
    ``idempotency_key`` finds the flow run made before instead of making another."""
    from prefect.deployments import run_deployment

    fix = "start `rodrunner serve` (or set daemon.submit: embedded) or fix daemon.deployment"
    with translated("deployment", deployment, fix):
        flow_run: Any = run_deployment(
            name=deployment,
            parameters=parameters,
            timeout=0,
            idempotency_key=idempotency_key,
            as_subflow=False,
            tags=list(tags),
        )
    return str(flow_run.id)


def read_flow_run(client: Any, flow_run_id: Any) -> Any:
    """The flow run ``flow_run_id`` as Prefect has it now (``client``: a sync Prefect client)."""
    with translated("flow run", flow_run_id):
        return client.read_flow_run(flow_run_id)


def prefect_problem() -> str | None:
    """None when the Prefect API answers its health check, else what went wrong."""
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            problem = client.api_healthcheck()
    except Exception as exc:  # any failure to reach Prefect is the answer here
        return f"{type(exc).__name__}: {describe(exc, 500)}"
    return None if problem is None else describe(problem, 500)


def _healthy() -> None:
    """Raise :class:`PrefectUnavailableError` unless the Prefect API answers its health
    check."""
    problem = prefect_problem()
    if problem is not None:
        raise PrefectUnavailableError(
            f"the Prefect API did not answer its health check ({problem}); check that the "
            "Prefect API (PREFECT_API_URL) is up"
        )


def warm_up(attempts: int = RETRY_ATTEMPTS, max_seconds: float = RETRY_MAX_SECONDS) -> bool:
    """Reach the Prefect API once, from one thread, before flows run in several.

    Without ``PREFECT_API_URL`` Prefect starts a temporary server on first use; two worker
    threads racing to start it each start one and time out. Tries as :func:`retrying` says;
    True when the API answered, else False after one ``submit.prefect_unavailable`` event.
    """
    try:
        retrying(attempts, max_seconds)(_healthy)
    except PrefectUnavailableError as exc:
        log.warning("submit.prefect_unavailable", error=str(exc))
        return False
    return True

"""Start any workflow now and report on its flow run: the API's use of the Prefect door.

Two ways, as the daemon submits (``daemon.submit``):

- ``embedded``: the flow run is created through the Prefect client (so its id is known at
  once and is the real Prefect id), then run by Prefect's flow engine on a bounded pool of
  threads (``daemon.max_concurrent_ingests``). Runs beyond the pool wait as Pending.
- ``deployment``: :func:`~rodrunner.flowruns.prefect.start_deployment` under the one retry
  policy with the API's short stop (:data:`~rodrunner.flowruns.prefect.API_RETRY_MAX_SECONDS`)
  and an idempotency key of its own, so a retry finds the flow run a lost answer made;
  runners (``rodrunner serve``) or workers execute. Prefect still down after that:
  :class:`~rodrunner.errors.PrefectUnavailableError`.

Parameters are plain values and the configuration FILE PATH, never a secret.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import structlog

from rodrunner.config import AppConfig
from rodrunner.errors import PrefectUnavailableError
from rodrunner.flowruns.prefect import (
    API_RETRY_MAX_SECONDS,
    RETRY_ATTEMPTS,
    describe,
    read_flow_run,
    retrying,
    start_deployment,
    translated,
)

__all__ = ["FlowLauncher", "FlowRunReport", "Launchable"]

log = structlog.get_logger()

RESULT_LIMIT = 64 * 1024
"""Bytes of JSON above which a result is not returned by the status route."""
RESULT_WAIT = 10.0
"""Seconds the status route waits for a finished embedded run's engine to hand back its state."""
KEPT_RESULTS = 500
"""Final states of embedded runs kept in memory for their results."""


class Launchable(Protocol):
    """A workflow the launcher can start (the API's ``Workflow``)."""

    @property
    def name(self) -> str:
        """The flow's name."""

    def load(self) -> Any:
        """The Prefect flow object."""

    def deployment(self, config: AppConfig) -> str:
        """The deployment that runs it (``<flow name>/<deployment name>``)."""


@dataclass(frozen=True, slots=True)
class FlowRunReport:
    """What Prefect knows of one flow run, and its (small) result when it ran here."""

    flow_run_id: str
    name: str
    workflow_name: str
    state_type: str | None
    state_name: str | None
    message: str | None
    is_final: bool
    created: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    total_run_time_seconds: float
    result: Any


def _small(value: Any) -> Any:
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        return None
    return json.loads(text) if len(text) <= RESULT_LIMIT else None


class FlowLauncher:
    """Starts workflows and reports on their flow runs (see the module docstring)."""

    def __init__(
        self,
        config: AppConfig,
        *,
        retry_attempts: int = RETRY_ATTEMPTS,
        retry_max_seconds: float = API_RETRY_MAX_SECONDS,
    ) -> None:
        self._config = config
        self._retry_attempts = retry_attempts
        self._retry_max = retry_max_seconds
        self._mode = config.daemon.submit
        self._pool = ThreadPoolExecutor(
            max_workers=config.daemon.max_concurrent_ingests, thread_name_prefix="api-flow"
        )
        self._lock = threading.Lock()
        self._states: OrderedDict[str, Any] = OrderedDict()
        self._pending: dict[str, Future[None]] = {}
        self._closed = False

    @property
    def mode(self) -> str:
        """``embedded`` or ``deployment``."""
        return self._mode

    def start(self, workflow: Launchable, parameters: dict[str, Any]) -> str:
        """Start ``workflow``; its Prefect flow run id, at once."""
        if self._closed:
            raise PrefectUnavailableError("the API is shutting down; try again once it is back")
        if self._mode == "deployment":
            deployment = workflow.deployment(self._config)
            flow_run_id = retrying(self._retry_attempts, self._retry_max)(
                start_deployment,
                deployment,
                parameters,
                tags=["rodrunner", "api"],
                idempotency_key=f"rodrunner-api-{uuid.uuid4()}",
            )
            log.info("api.flow_submitted", workflow=workflow.name, flow_run_id=flow_run_id)
            return flow_run_id
        return self._start_embedded(workflow, parameters)

    def _start_embedded(self, workflow: Launchable, parameters: dict[str, Any]) -> str:
        from prefect.client.orchestration import get_client

        flow = workflow.load()
        with translated("flow", workflow.name), get_client(sync_client=True) as client:
            flow_run = client.create_flow_run(
                flow, parameters=parameters, tags=["rodrunner", "api"]
            )
        flow_run_id = str(flow_run.id)
        with self._lock:
            future = self._pool.submit(self._run, flow, flow_run, parameters)
            self._pending[flow_run_id] = future
        future.add_done_callback(lambda _f: self._forget_pending(flow_run_id))
        log.info("api.flow_started", workflow=workflow.name, flow_run_id=flow_run_id)
        return flow_run_id

    def _forget_pending(self, flow_run_id: str) -> None:
        with self._lock:
            self._pending.pop(flow_run_id, None)

    def _run(self, flow: Any, flow_run: Any, parameters: dict[str, Any]) -> None:
        from prefect.flow_engine import run_flow

        flow_run_id = str(flow_run.id)
        try:
            state = run_flow(flow, flow_run=flow_run, parameters=parameters, return_type="state")
        except BaseException as exc:  # the engine itself failed; Prefect marks the run crashed
            log.error("api.flow_crashed", flow_run_id=flow_run_id, error=describe(exc, 500))
            return
        with self._lock:
            self._states[flow_run_id] = state
            while len(self._states) > KEPT_RESULTS:
                self._states.popitem(last=False)
        log.info("api.flow_finished", flow_run_id=flow_run_id, state=getattr(state, "name", None))

    def _result(self, flow_run_id: str) -> Any:
        with self._lock:
            future = self._pending.get(flow_run_id)
        if future is not None:
            # Prefect records the final state a moment before the engine returns it to us.
            with contextlib.suppress(Exception):
                future.result(timeout=RESULT_WAIT)
        with self._lock:
            state = self._states.get(flow_run_id)
        if state is None:
            return None
        try:
            return _small(state.result(raise_on_failure=False))
        except Exception:  # a crashed run has no result to show
            return None

    def status(self, flow_run_id: UUID) -> FlowRunReport:
        """What Prefect knows of the flow run; :class:`NotInPrefectError` if nothing."""
        from prefect.client.orchestration import get_client

        with translated("flow run", flow_run_id), get_client(sync_client=True) as client:
            flow_run = read_flow_run(client, flow_run_id)
            flow = client.read_flow(flow_run.flow_id)
        state = flow_run.state
        final = bool(state is not None and state.is_final())
        return FlowRunReport(
            flow_run_id=str(flow_run.id),
            name=flow_run.name,
            workflow_name=flow.name,
            state_type=state.type.value if state is not None else None,
            state_name=state.name if state is not None else None,
            message=state.message if state is not None else None,
            is_final=final,
            created=flow_run.created,
            start_time=flow_run.start_time,
            end_time=flow_run.end_time,
            total_run_time_seconds=flow_run.total_run_time.total_seconds(),
            result=self._result(str(flow_run.id)) if final else None,
        )

    def close(self) -> None:
        """Start nothing new; mark runs that never started Cancelled; wait for running ones
        up to ``daemon.shutdown_grace`` seconds (a later exit of the process waits for them)."""
        from prefect.client.orchestration import get_client
        from prefect.states import Cancelled

        self._closed = True
        with self._lock:
            pending = list(self._pending.items())
        # cancel() runs the done callback, which takes the lock: call it outside.
        waiting = [fid for fid, fut in pending if fut.cancel()]
        self._pool.shutdown(wait=False, cancel_futures=True)
        running = [fut for _fid, fut in pending if not fut.cancelled()]
        if running:
            log.info("api.waiting_for_flow_runs", flow_runs=len(running))
            futures_wait(running, timeout=self._config.daemon.shutdown_grace)
        if not waiting:
            return
        try:
            with get_client(sync_client=True) as client:
                for fid in waiting:
                    client.set_flow_run_state(
                        fid, Cancelled(message="the rodrunner API stopped before it started")
                    )
        except Exception as exc:  # best effort on the way out
            log.warning("api.cancel_failed", error=describe(exc, 500), flow_runs=len(waiting))

"""Deployment submission (``daemon.submit: deployment``): only
``run_deployment(name, parameters, timeout=0, idempotency_key=..., as_subflow=False)``; runners
(``rodrunner serve``) or workers execute, and one follower thread polls the flow runs until each
reaches a final state. The idempotency key makes two daemons on one share submit each (run
folder, completion, attempt) once.

A Prefect outage makes :meth:`DeploymentSubmitter.submit` return False after the bounded,
jittered retries of :func:`rodrunner.flowruns.prefect.retrying`: the run stays queued in the
ledger and goes when Prefect is back.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import structlog

from rodrunner.errors import ConfigError, PrefectUnavailableError, WorkflowError
from rodrunner.flowruns.outcomes import Outcome, OutcomeQueue, outcome_of_final_state
from rodrunner.flowruns.prefect import (
    RETRY_ATTEMPTS,
    RETRY_MAX_SECONDS,
    describe,
    read_flow_run,
    retrying,
    start_deployment,
)
from rodrunner.run import IngestRequest

__all__ = ["DeploymentSubmitter"]

log = structlog.get_logger()


class DeploymentSubmitter:
    """Submits to a Prefect deployment and follows the flow runs to their end."""

    def __init__(
        self,
        *,
        deployment: str,
        poll_interval: float = 1.0,
        retry_attempts: int = RETRY_ATTEMPTS,
        retry_max_seconds: float = RETRY_MAX_SECONDS,
    ) -> None:
        self._deployment = deployment
        self._poll = poll_interval
        self._retry_attempts = retry_attempts
        self._retry_max = retry_max_seconds
        self._lock = threading.Lock()
        self._following: dict[str, tuple[IngestRequest, str, str | None]] = {}
        self._outcomes = OutcomeQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._accepting = False
        self.paused_until = 0.0

    def start(self) -> None:
        """Start the follower thread."""
        self._accepting = True
        self._thread = threading.Thread(target=self._follow, name="flow-follower", daemon=True)
        self._thread.start()

    def _start(self, job: IngestRequest) -> str:
        tags = ["rodrunner", *([job.sequencer_type] if job.sequencer_type else [])]
        return start_deployment(
            self._deployment,
            job.parameters(deployment=True),
            tags=tags,
            idempotency_key=job.idempotency_key,
        )

    def submit(self, job: IngestRequest) -> bool:
        """Create (or find, by idempotency key) the flow run; False when Prefect is down."""
        if not self._accepting or time.monotonic() < self.paused_until:
            return False
        with self._lock:
            if job.run_dir in self._following:
                return False
        try:
            flow_run_id = retrying(self._retry_attempts, self._retry_max)(self._start, job)
        except PrefectUnavailableError as exc:
            self.paused_until = time.monotonic() + self._retry_max
            log.warning("submit.deferred", run_dir=job.run_dir, run_id=job.run_id, error=str(exc))
            return False
        except (WorkflowError, ConfigError) as exc:  # trying again will not help
            self._outcomes.put(Outcome(job, "failed", error=str(exc)))
            with self._lock:
                self._following[job.run_dir] = (job, "", "FAILED")
            return True
        with self._lock:
            self._following[job.run_dir] = (job, flow_run_id, None)
        return True

    def free_slots(self) -> int:
        """Submissions are cheap: limited only while Prefect is down or we are stopping."""
        if not self._accepting or time.monotonic() < self.paused_until:
            return 0
        return 1_000_000

    def active(self) -> frozenset[str]:
        """Run folders whose flow run has not ended."""
        with self._lock:
            return frozenset(self._following)

    def outcomes(self) -> list[Outcome]:
        """Outcomes since the last call."""
        return self._outcomes.drain()

    def wait(self, timeout: float) -> bool:
        """Block until an outcome is ready or ``timeout`` passes."""
        return self._outcomes.wait(timeout)

    def _follow(self) -> None:
        from prefect.client.orchestration import get_client

        while not self._stop.wait(self._poll):
            with self._lock:
                pending = dict(self._following)
            if not pending:
                continue
            try:
                with get_client(sync_client=True) as client:
                    for run_dir, (job, flow_run_id, last) in pending.items():
                        if not flow_run_id:
                            with self._lock:
                                self._following.pop(run_dir, None)
                            continue
                        self._check(client, run_dir, job, flow_run_id, last)
            except Exception as exc:
                log.warning("submit.follow_failed", error=describe(exc))

    def _check(
        self, client: Any, run_dir: str, job: IngestRequest, flow_run_id: str, last: str | None
    ) -> None:
        state = read_flow_run(client, flow_run_id).state
        if state is None:
            return
        if state.is_final():
            with self._lock:
                self._following.pop(run_dir, None)
            self._outcomes.put(outcome_of_final_state(job, flow_run_id, state))
        elif state.type.value == "RUNNING" and last != "RUNNING":
            with self._lock:
                self._following[run_dir] = (job, flow_run_id, "RUNNING")
            self._outcomes.put(Outcome(job, "running", flow_run_id=flow_run_id))

    def stop(self, grace: float) -> frozenset[str]:
        """Stop submitting and following; flow runs keep going on their runners."""
        self._accepting = False
        self._stop.set()
        if self._thread is not None:
            self._thread.join(min(grace, 10.0))
        return self.active()

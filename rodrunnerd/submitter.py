"""Submission: turn a queued run into a Prefect flow run and follow it to its end.

Two ways, one interface (:class:`Submitter`):

- :class:`EmbeddedSubmitter` (``daemon.submit: embedded``, the default) runs the "Ingest Run"
  flow itself on a bounded pool of daemon threads, at most ``max_concurrent_ingests`` at once.
- :class:`DeploymentSubmitter` (``daemon.submit: deployment``) only calls
  ``run_deployment(name, parameters, timeout=0, idempotency_key=..., as_subflow=False)``;
  runners (``rodrunner serve``) or workers execute, and one follower thread polls the flow runs
  until each reaches a final state. The idempotency key makes two daemons on one share submit
  each (run folder, completion) once.

Flow parameters carry the run folder, the type, ``force`` and the configuration FILE PATH;
never a secret. Outcomes are put on a queue the daemon loop drains; nothing here touches the
ledger. A Prefect outage makes :meth:`Submitter.submit` return ``False`` after bounded,
jittered retries: the run stays queued in the ledger and goes when Prefect is back.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from rodrunnerd.errors import (
    PermanentSubmissionError,
    SubmissionError,
    TransientSubmissionError,
)

log = structlog.get_logger()

OutcomeKind = Literal["running", "ingested", "failed", "conflict"]
"""``conflict``: the flow found the run's collection owned by another run folder and changed
nothing (its state is named ``Conflict``, its summary's status is ``conflict``)."""
FlowCallable = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Job:
    """One run to ingest, as the daemon hands it over."""

    run_dir: str
    run_id: str
    sequencer_type: str
    completion_key: str
    force: bool = False
    attempt: int = 0

    @property
    def idempotency_key(self) -> str:
        """The Prefect idempotency key: one flow run per (run folder, completion, attempt)."""
        return f"rodrunner-{self.completion_key}-{self.attempt}"

    def parameters(self, config_path: str | None) -> dict[str, Any]:
        """The flow parameters: plain values, a config FILE PATH, never a secret."""
        return {
            "run_dir": self.run_dir,
            "sequencer_type": self.sequencer_type,
            "config": config_path,
            "force": self.force,
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a job: it started running, or it ended (ingested or failed)."""

    job: Job
    kind: OutcomeKind
    flow_run_id: str | None = None
    error: str | None = None
    result: Mapping[str, Any] = field(default_factory=dict)


class Submitter(Protocol):
    """What the daemon loop needs from a submitter."""

    def start(self) -> None:
        """Start worker threads."""

    def submit(self, job: Job) -> bool:
        """Hand ``job`` over; False when it cannot be taken now (full, or Prefect down)."""

    def free_slots(self) -> int:
        """How many more jobs :meth:`submit` takes now."""

    def active(self) -> frozenset[str]:
        """Run folders submitted and not ended yet."""

    def outcomes(self) -> list[Outcome]:
        """Outcomes since the last call, in order."""

    def wait(self, timeout: float) -> bool:
        """Block until an outcome is ready or ``timeout`` passes."""

    def stop(self, grace: float) -> frozenset[str]:
        """Take no more jobs, wait up to ``grace`` seconds; the run folders still active."""


def _flow_result(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {"value": repr(value)}


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 2000 else text[:2000] + "..."


class _Outcomes:
    """The outcome queue shared by both submitters."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._ready = threading.Event()

    def put(self, outcome: Outcome) -> None:
        self._queue.put(outcome)
        self._ready.set()

    def drain(self) -> list[Outcome]:
        self._ready.clear()
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def wait(self, timeout: float) -> bool:
        return self._ready.wait(timeout)


def load_ingest_flow() -> FlowCallable:
    """The "Ingest Run" flow (imported when first needed: Prefect is heavy)."""
    from rodrunner.workflows.ingest import ingest_run

    flow: FlowCallable = ingest_run
    return flow


def warm_up_prefect(attempts: int = 3) -> bool:
    """Reach the Prefect API once, from one thread, before flows run in several.

    Without ``PREFECT_API_URL`` Prefect starts a temporary server on first use; two worker
    threads racing to start it each start one and time out. True when the API answered.
    """
    from prefect.client.orchestration import get_client

    for attempt in range(1, attempts + 1):
        try:
            with get_client(sync_client=True) as client:
                problem = client.api_healthcheck()
        except Exception as exc:  # Prefect raises many types here; we only report
            problem = exc
        if problem is None:
            return True
        log.warning("submit.prefect_unavailable", attempt=attempt, error=_describe(problem))
    return False


class EmbeddedSubmitter:
    """Runs the ingest flow inside the daemon, at most ``max_concurrent`` at once."""

    def __init__(
        self,
        *,
        max_concurrent: int,
        config_path: str | None,
        flow: FlowCallable | None = None,
    ) -> None:
        self._max = max_concurrent
        self._config_path = config_path
        self._flow = flow
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._active: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._outcomes = _Outcomes()
        self._threads: list[threading.Thread] = []
        self._accepting = False
        self._idle = threading.Condition(self._lock)

    def start(self) -> None:
        """Start the worker threads (daemon threads: a stop after the grace leaves them)."""
        if self._flow is None:
            self._flow = load_ingest_flow()
        warm_up_prefect()
        self._accepting = True
        for i in range(self._max):
            thread = threading.Thread(target=self._work, name=f"ingest-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, job: Job) -> bool:
        """Queue ``job`` for a worker; False when every worker is busy or stopping."""
        with self._lock:
            if not self._accepting or len(self._active) >= self._max:
                return False
            if job.run_dir in self._active:
                return False
            self._active[job.run_dir] = job
        self._jobs.put(job)
        return True

    def free_slots(self) -> int:
        """Idle workers."""
        with self._lock:
            return 0 if not self._accepting else self._max - len(self._active)

    def active(self) -> frozenset[str]:
        """Run folders being ingested."""
        with self._lock:
            return frozenset(self._active)

    def outcomes(self) -> list[Outcome]:
        """Outcomes since the last call."""
        return self._outcomes.drain()

    def wait(self, timeout: float) -> bool:
        """Block until an outcome is ready or ``timeout`` passes."""
        return self._outcomes.wait(timeout)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._outcomes.put(Outcome(job, "running"))
                self._outcomes.put(self._run(job))
            finally:
                with self._lock:
                    self._active.pop(job.run_dir, None)
                    self._idle.notify_all()

    def _run(self, job: Job) -> Outcome:
        assert self._flow is not None
        try:
            state = self._flow(**job.parameters(self._config_path), return_state=True)
        except Exception as exc:  # the flow machinery itself failed: the run is failed
            log.warning("submit.flow_crashed", run_dir=job.run_dir, error=_describe(exc))
            return Outcome(job, "failed", error=_describe(exc))
        flow_run_id = _state_flow_run_id(state)
        try:
            # A failed ingest ends Failed with its summary dict as data: read it, do not raise
            # (raising would make the reason a repr of the whole dict).
            data = state.result(raise_on_failure=False)
        except Exception as exc:  # no result to read: the exception is the reason
            return Outcome(job, "failed", flow_run_id=flow_run_id, error=_describe(exc))
        result = _flow_result(data)
        completed = bool(getattr(state, "is_completed", lambda: True)())
        if not completed or result.get("success") is False or result.get("status") == "failed":
            reason = result.get("error") or (
                _describe(data)
                if isinstance(data, BaseException)
                else getattr(state, "message", None)
            )
            error = str(reason or "ingest failed without a reason")
            kind: OutcomeKind = "conflict" if result.get("status") == "conflict" else "failed"
            return Outcome(job, kind, flow_run_id=flow_run_id, error=error, result=result)
        return Outcome(job, "ingested", flow_run_id=flow_run_id, result=result)

    def stop(self, grace: float) -> frozenset[str]:
        """Take no more jobs; wait up to ``grace`` seconds for running ingests."""
        deadline = time.monotonic() + grace
        with self._lock:
            self._accepting = False
            while self._active:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._idle.wait(min(left, 1.0))
            remaining = frozenset(self._active)
        for _ in self._threads:
            self._jobs.put(None)
        return remaining


def _state_flow_run_id(state: Any) -> str | None:
    details = getattr(state, "state_details", None)
    flow_run_id = getattr(details, "flow_run_id", None)
    return str(flow_run_id) if flow_run_id is not None else None


def translate_prefect_error(exc: BaseException) -> SubmissionError:
    """Map what Prefect/httpx raise on submission onto the daemon's error tree."""
    import httpx
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    if isinstance(exc, SubmissionError):
        return exc
    if isinstance(exc, ObjectNotFound):
        return PermanentSubmissionError(
            f"Prefect has no such deployment ({_describe(exc)}); start `rodrunner serve` "
            "or fix daemon.deployment"
        )
    if isinstance(exc, PrefectHTTPStatusError):
        status = exc.response.status_code
        if status >= 500 or status in (408, 429):
            return TransientSubmissionError(f"Prefect answered {status}: {_describe(exc)}")
        return PermanentSubmissionError(f"Prefect refused the flow run ({status}): {exc}")
    if isinstance(exc, httpx.TransportError | OSError | TimeoutError | RuntimeError):
        return TransientSubmissionError(f"Prefect is unreachable: {_describe(exc)}")
    return PermanentSubmissionError(f"submission failed: {_describe(exc)}")


FINAL_OK = frozenset({"COMPLETED"})


class DeploymentSubmitter:
    """Submits to a Prefect deployment and follows the flow runs to their end."""

    def __init__(
        self,
        *,
        deployment: str,
        config_path: str | None,
        poll_interval: float = 1.0,
        retry_attempts: int = 4,
        retry_max_seconds: float = 30.0,
    ) -> None:
        self._deployment = deployment
        self._config_path = config_path
        self._poll = poll_interval
        self._retry_attempts = retry_attempts
        self._retry_max = retry_max_seconds
        self._lock = threading.Lock()
        self._following: dict[str, tuple[Job, str, str | None]] = {}
        self._outcomes = _Outcomes()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._accepting = False
        self.paused_until = 0.0

    def start(self) -> None:
        """Start the follower thread."""
        self._accepting = True
        self._thread = threading.Thread(target=self._follow, name="flow-follower", daemon=True)
        self._thread.start()

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "submit.retrying",
            attempt=state.attempt_number,
            error=str(exc),
            wait=round(state.upcoming_sleep, 2),
        )

    def _run_deployment(self, job: Job) -> str:
        from prefect.deployments import run_deployment

        try:
            flow_run: Any = run_deployment(
                name=self._deployment,
                parameters=job.parameters(self._config_path),
                timeout=0,
                idempotency_key=job.idempotency_key,
                as_subflow=False,
                tags=["rodrunner", job.sequencer_type],
            )
        except Exception as exc:
            raise translate_prefect_error(exc) from exc
        return str(flow_run.id)

    def submit(self, job: Job) -> bool:
        """Create (or find, by idempotency key) the flow run; False when Prefect is down."""
        if not self._accepting or time.monotonic() < self.paused_until:
            return False
        with self._lock:
            if job.run_dir in self._following:
                return False
        retrying = Retrying(
            stop=stop_after_attempt(self._retry_attempts) | stop_after_delay(self._retry_max),
            wait=wait_random_exponential(multiplier=0.5, max=10),
            retry=retry_if_exception_type(TransientSubmissionError),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            flow_run_id = retrying(self._run_deployment, job)
        except TransientSubmissionError as exc:
            self.paused_until = time.monotonic() + self._retry_max
            log.warning("submit.deferred", run_dir=job.run_dir, run_id=job.run_id, error=str(exc))
            return False
        except PermanentSubmissionError as exc:
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
                log.warning("submit.follow_failed", error=_describe(exc))

    def _check(
        self, client: Any, run_dir: str, job: Job, flow_run_id: str, last: str | None
    ) -> None:
        flow_run = client.read_flow_run(flow_run_id)
        state = flow_run.state
        if state is None:
            return
        kind = str(state.type.value)
        if state.is_final():
            with self._lock:
                self._following.pop(run_dir, None)
            if kind in FINAL_OK:
                self._outcomes.put(Outcome(job, "ingested", flow_run_id=flow_run_id))
            elif state.name == "Conflict":
                reason = state.message or "another run folder owns the run's collection"
                self._outcomes.put(Outcome(job, "conflict", flow_run_id=flow_run_id, error=reason))
            else:
                reason = state.message or f"flow run ended {state.name}"
                self._outcomes.put(Outcome(job, "failed", flow_run_id=flow_run_id, error=reason))
        elif kind == "RUNNING" and last != "RUNNING":
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


__all__ = [
    "DeploymentSubmitter",
    "EmbeddedSubmitter",
    "Job",
    "Outcome",
    "Submitter",
    "translate_prefect_error",
]
